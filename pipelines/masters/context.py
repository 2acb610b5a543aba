"""What every step of one build shares: the connection, the lake, the steward log, the build's
identity and date, and how each master's step reports what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipelines.lake import Lake
from pipelines.masters.config import master_config
from pipelines.resolve.config import MasterConfig
from pipelines.resolve.sql import Sql
from pipelines.resolve.stable_ids import IdStats
from pipelines.resolve.steward import StewardLog


@dataclass
class Context:
    sql: Sql
    lake: Lake
    steward: StewardLog
    build_id: str
    now: str
    as_of: date
    config_dir: Path | None = None
    #: TEMP tables computed once per build and shared by later masters (key maps)
    cache: set[str] = field(default_factory=set)
    #: whether the master being built applies a delta (set by the build for each master): steps
    #: then look up only the keys the delta's records name
    delta: bool = False

    def cfg(self, master: str) -> MasterConfig:
        return master_config(master, self.config_dir)


@dataclass
class MasterReport:
    master: str
    mode: str  # full | delta | unchanged
    records: int = 0
    masters: int = 0
    ids: IdStats = field(default_factory=IdStats)
    review: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)

    def line(self) -> str:
        if self.mode == "unchanged":
            return f"{self.master:8} unchanged"
        i = self.ids
        return (f"{self.master:8} {self.mode:5} {self.records:>10,} records -> {self.masters:>9,} masters "
                f"(minted {i.minted:,}, merged {i.merged:,}, split {i.split:,}, retired {i.retired:,}; "
                f"review {self.review:,}) in {self.seconds:.1f}s")
