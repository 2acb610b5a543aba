"""Where the serving layer keeps its things, from the environment (read once per process).

* the gold file: :func:`warehouse.gold.gold_path` (``$MASTERDATA_GOLD`` or
  ``$MASTERDATA_HOME/warehouse/gold.duckdb``), opened read-only, never written;
* the serving store (``$MASTERDATA_SERVING``, default ``$MASTERDATA_HOME/warehouse/serving.sqlite``):
  callers and their hashed API keys, applicant sessions, applications and consents, the audit log;
* the audit chain key (``serving.audit-key`` beside the store, mode 0600);
* the read model (``$MASTERDATA_SERVING_INDEX``, default ``serving_index/`` beside the store): SQLite
  snapshots of the gold file, one per gold version, that the HTTP workers query
  (see :mod:`warehouse.api.index`);
* grants (``$MASTERDATA_GRANTS``, default ``schemas/grants.yaml``) and the service-item catalogue
  (``standards/codes/service_item*.csv``).

``MASTERDATA_AS_OF`` (YYYY-MM-DD) fixes "today" for licence validity (tests, replays).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from warehouse.gold import gold_path, warehouse_dir

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
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def audit_key(self) -> Path:
        return self.store.with_name(self.store.stem + ".audit-key")

    def today(self) -> date:
        return self.as_of or date.today()

    @classmethod
    def from_env(cls) -> "Settings":
        store = Path(os.environ["MASTERDATA_SERVING"]) if os.environ.get("MASTERDATA_SERVING") else (
            warehouse_dir() / "serving.sqlite")
        as_of = os.environ.get("MASTERDATA_AS_OF")
        return cls(
            gold=gold_path(),
            store=store,
            index_dir=Path(os.environ["MASTERDATA_SERVING_INDEX"]) if os.environ.get("MASTERDATA_SERVING_INDEX")
            else store.parent / "serving_index",
            grants=Path(os.environ.get("MASTERDATA_GRANTS") or GRANTS_FILE),
            workers=max(1, int(os.environ.get("MASTERDATA_SERVE_WORKERS") or 1)),
            as_of=date.fromisoformat(as_of) if as_of else None,
            watch_interval=float(os.environ.get("MASTERDATA_SERVE_WATCH") or 2.0),
        )
