"""Sealed evidence documents: Ed25519 signatures the approving department can check on its own.

Why a signature and not a hash: a hash only shows a document changed if the verifier also holds the
original hash; a signature with the platform's key shows it to anyone holding the *public* key - the
approving department checks a document it received (or a copy in its case file, years later) without
asking the platform, and nobody without the private key can make a document that passes.

* The signing key is ``serving.evidence-key`` beside the serving store (PKCS#8 PEM, created on first
  use with mode 0600, like the audit key); the public key is derived from it and published
  (``GET /v1/evidence/public-key``, ``masterdata evidence public-key``).  ``key_id``: the first 16 hex
  digits of the SHA-256 of the raw public key, so a verifier knows which key a document names.
* What is signed: the canonical JSON of the document without its ``seal`` (keys sorted, no
  whitespace, UTF-8) - any change to any value, key or nesting breaks the signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import ConfigurationError, InputError

ALG = "Ed25519"


class SealError(InputError):
    """A document or key that cannot be read (one line)."""


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes a seal covers: the document without ``seal``, canonical JSON."""
    body = {k: v for k, v in document.items() if k != "seal"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_signing_key(path: Path, create: bool = True) -> Ed25519PrivateKey:
    """The platform's signing key (created, mode 0600, if missing and ``create``)."""
    if not path.exists():
        if not create:
            raise ConfigurationError(f"no evidence signing key at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key from a PEM file (a department's copy of ``GET /v1/evidence/public-key``)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SealError(f"{path}: not a PEM public key ({str(exc).splitlines()[0]})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SealError(f"{path}: not an Ed25519 public key")
    return key


def seal(document: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The document with its ``seal`` (algorithm, key id, base64 signature)."""
    signature = key.sign(canonical(document))
    return {**document, "seal": {"alg": ALG, "key_id": key_id(key.public_key()),
                                 "signature": base64.b64encode(signature).decode()}}


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reason: str  # valid | no_seal | unknown_algorithm | other_key | bad_signature | altered
    key_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "reason": self.reason, "key_id": self.key_id}


def verify(document: Any, public: Ed25519PublicKey) -> Verdict:
    """Whether ``document`` is sealed by ``public``'s key and unaltered since."""
    mine = key_id(public)
    s = document.get("seal") if isinstance(document, dict) else None
    if not isinstance(s, dict) or not isinstance(s.get("signature"), str):
        return Verdict(False, "no_seal", None)
    if s.get("alg") != ALG:
        return Verdict(False, "unknown_algorithm", s.get("key_id"))
    if s.get("key_id") != mine:
        return Verdict(False, "other_key", s.get("key_id"))
    try:
        signature = base64.b64decode(s["signature"], validate=True)
    except ValueError:
        return Verdict(False, "bad_signature", mine)
    try:
        public.verify(signature, canonical(document))
    except InvalidSignature:
        return Verdict(False, "altered", mine)
    return Verdict(True, "valid", mine)
