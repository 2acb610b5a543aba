"""Master ids as a department sees them: opaque, per department, not enumerable.

Master ids are minted in sequence (``P0000000001``, ``P0000000002`` ...): served as they are, anyone
holding a department key could walk the population one id after the other and read what every
record, licence list or absence discloses.  So the API never shows them and never accepts them from a
department.  It shows instead the master id encrypted, with the department it was shown to, under a
key of this deployment (``serving.id-key`` beside the store, mode 0600): one AES block over

    7 bytes: HMAC(key, department) | 1 byte: the master kind letter | 8 bytes: the id's number

written as the kind letter and 26 base32 characters (``Pq3x...``).  Decrypting an id checks the
department and the kind: an id made up, altered, or learnt by another department decrypts to the
wrong tag (one chance in 2**56) and names nothing, so a department reaches only the masters the
service showed it - through a lookup by an identifier it holds and may use, a search it may make,
a licence list it may read - and two departments cannot join their answers by id.  The same master
keeps the same public id for a department across builds and restarts (master ids are stable).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: a master id as minted by the build: kind letter and 10 digits
MASTER_ID_RE = re.compile(r"[PEL][0-9]{10}")
#: a public id: kind letter and 26 lower-case base32 characters (128 bits)
PUBLIC_ID_RE = re.compile(r"[PEL][a-z2-7]{26}")


def load_secret(path: Path) -> bytes:
    """The 32-byte secret in ``path`` (hex), made on first use with mode 0600; several server
    processes starting at once agree on the one that was written first."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    text = path.read_text().strip()
    if len(text) != 64:  # another process is writing it this very moment
        text = _settled(path)
    return bytes.fromhex(text)


def _settled(path: Path) -> str:
    import time

    for _ in range(100):
        time.sleep(0.01)
        text = path.read_text().strip()
        if len(text) == 64:
            return text
    raise ValueError(f"{path}: not a 64-character hex key")


class PublicIds:
    """Encrypts master ids for one audience (a department) and decrypts what it sends back."""

    def __init__(self, secret: bytes) -> None:
        self._tag_key = hmac.new(secret, b"public-id tag", hashlib.sha256).digest()
        self._cipher = Cipher(algorithms.AES(hmac.new(secret, b"public-id aes", hashlib.sha256).digest()),
                              modes.ECB())

    def _tag(self, audience: str) -> bytes:
        return hmac.new(self._tag_key, audience.encode(), hashlib.sha256).digest()[:7]

    def encode(self, audience: str, master_id: str) -> str:
        """The public id of ``master_id`` for ``audience`` (a master id of another shape: unchanged)."""
        if not MASTER_ID_RE.fullmatch(master_id):
            return master_id
        block = self._tag(audience) + master_id[0].encode() + int(master_id[1:]).to_bytes(8, "big")
        enc = self._cipher.encryptor()
        raw = enc.update(block) + enc.finalize()
        return master_id[0] + base64.b32encode(raw).decode().rstrip("=").lower()

    def decode(self, audience: str, public_id: str) -> str | None:
        """The master id a public id of ``audience`` names, or None (not one this audience was shown)."""
        if not PUBLIC_ID_RE.fullmatch(public_id):
            return None
        raw = base64.b32decode(public_id[1:].upper() + "======")
        dec = self._cipher.decryptor()
        block = dec.update(raw) + dec.finalize()
        if not hmac.compare_digest(block[:7], self._tag(audience)) or block[7:8] != public_id[0].encode():
            return None
        number = int.from_bytes(block[8:], "big")
        return f"{public_id[0]}{number:010d}" if number < 10**10 else None
