"""Where the serving layer keeps its things, from the environment (read once per process).

* the gold file: :func:`pipelines.masters.gold_file.gold_path` (``$MASTERDATA_GOLD`` or
  ``$MASTERDATA_HOME/warehouse/gold.duckdb``), opened read-only, never written;
* the serving store (``$MASTERDATA_SERVING``, default ``$MASTERDATA_HOME/warehouse/serving.sqlite``):
  callers and their hashed API keys, applicant sessions, applications and consents, the audit log;
* the audit chain key (``serving.audit-key`` beside the store, mode 0600) and the evidence signing key
  (``serving.evidence-key``, Ed25519, mode 0600: :mod:`warehouse.api.sealing`);
* the read model (``$MASTERDATA_SERVING_INDEX``, default ``serving_index/`` beside the store): SQLite
  snapshots of the gold file, one per gold version, that the HTTP workers query
  (see :mod:`warehouse.api.index`);
* grants (``$MASTERDATA_GRANTS``, default ``schemas/grants.yaml``) and the service-item catalogue
  (``standards/codes/service_item*.csv``).

``MASTERDATA_AS_OF`` (YYYY-MM-DD) fixes "today" for licence validity (tests, replays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from core.settings import settings

REPO = Path(__file__).resolve().parents[2]
GRANTS_FILE = REPO / "schemas" / "grants.yaml"


@dataclass(frozen=True)
class Settings:
    gold: Path
    store: Path
    index_dir: Path
    grants: Path
    workers: int = 1
    as_of: date | None = None
    #: seconds between checks of the gold file for a new build
    watch_interval: float = 2.0
    #: lifetime of an applicant session
    session_minutes: int = 30
    #: largest request body read (bytes); a larger one is refused with 413
    max_body: int = 1_048_576
    #: seconds an unconsented preview is kept (then purged: the applicant auto-fills again)
    preview_ttl: float = 3600.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def audit_key(self) -> Path:
        return self.store.with_name(self.store.stem + ".audit-key")

    @property
    def id_key(self) -> Path:
        """The key that makes master ids opaque per department (:mod:`warehouse.api.publicid`)."""
        return self.store.with_name(self.store.stem + ".id-key")

    @property
    def once_only_report(self) -> Path:
        """The latest once-only report (``masterdata once-only``), which the analysts' report shows."""
        return self.store.with_name("once-only.json")

    @property
    def evidence_key(self) -> Path:
        """The Ed25519 key that seals evidence documents (beside the store, mode 0600)."""
        return self.store.with_name(self.store.stem + ".evidence-key")

    def today(self) -> date:
        return self.as_of or date.today()

    @classmethod
    def from_env(cls) -> Settings:
        s = settings()
        return cls(gold=s.gold, store=s.serving, index_dir=s.serving_index, grants=s.grants,
                   workers=s.serve_workers, as_of=s.as_of, watch_interval=s.serve_watch,
                   max_body=s.serve_max_body, preview_ttl=s.preview_ttl_s)
