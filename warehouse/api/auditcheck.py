"""``masterdata audit verify``: the stored chain walked, and checked against the anchor.

One report for the command line, ``masterdata doctor`` and the backup: the chain's own findings
(:mod:`warehouse.api.chain`), the anchor's (:mod:`warehouse.api.anchor`) - forged or conflicting
checkpoints, a log rolled back, rewritten or gone - the restores the anchor recorded (notices), and
warnings about the setup (no anchor configured, an anchor role that could rewrite it).  Nothing here
raises for a damaged store: what is gone is a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.errors import ConfigurationError, MasterdataError
from core.settings import settings
from warehouse.api.anchor import Anchor, compare, expected, load_anchor_key, privileges, where
from warehouse.api.chain import Finding, walk_chain
from warehouse.api.sealing import load_public_key

NO_ANCHOR = ("no audit anchor configured (MASTERDATA_AUDIT_ANCHOR): a log cut short, emptied, rolled back or "
             "re-hashed with the key beside it cannot be told from an intact one")


@dataclass
class Report:
    store: Path
    entries: int = 0
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    anchored: bool = False

    @property
    def intact(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {"store": str(self.store), "intact": self.intact, "entries": self.entries,
                "checkpoints": self.checkpoints, "anchored": self.anchored,
                "findings": [{"seq": f.seq, "problem": f.problem, "message": f.message} for f in self.findings],
                "notices": self.notices, "warnings": self.warnings}


def public_key(path: Path | None) -> Ed25519PublicKey:
    """The checkpoints' public key: a PEM an auditor holds, else derived from the signing key."""
    if path is not None:
        return load_public_key(path)
    key = settings().audit_signing_key
    if not key.exists():
        raise ConfigurationError(f"no audit signing key at {key} (MASTERDATA_AUDIT_SIGNING_KEY) to check the "
                                 "checkpoints with: pass the public key with --public-key")
    return load_anchor_key(key, create=False).public_key()


def check(store: Path, audit_key: Path, anchor_url: str | None = None,
          public: Path | None = None, upto: int | None = None) -> Report:
    """Walk the chain of ``store`` and compare it with the anchor at ``anchor_url`` (if any) - with
    its records up to id ``upto`` only, if given (a snapshot is checked against the anchor as it
    stood when the snapshot was taken)."""
    report = Report(store)
    if not anchor_url:
        report.warnings.append(NO_ANCHOR)
        walk = walk_chain(store, audit_key)
        report.entries, report.findings = walk.entries, walk.findings
        return report
    try:
        records = [r for r in Anchor(anchor_url).records() if upto is None or r.id <= upto]
        excess = privileges(anchor_url)
    except MasterdataError as exc:
        walk = walk_chain(store, audit_key)
        report.entries = walk.entries
        report.findings = [*walk.findings, Finding(None, "unreachable", exc.one_line())]
        return report
    if excess:
        report.warnings.append(f"the anchor role at {where(anchor_url)} {', '.join(excess)}: whoever has it can "
                               "rewrite the checkpoints (run `masterdata audit anchor-setup` and use its role)")
    exp = expected(records, public_key(public)) if records else expected([], None)
    walk = walk_chain(store, audit_key, frozenset(exp.hashes))
    report.anchored = True
    report.entries, report.checkpoints, report.notices = walk.entries, exp.checkpoints, exp.notices
    report.findings = [*walk.findings, *exp.findings, *compare(walk, exp)]
    return report
