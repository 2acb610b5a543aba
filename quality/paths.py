"""Where quality reads and writes, resolved from the same environment variables as the rest.

``$MASTERDATA_HOME`` (default ``var``) holds ``lake/`` and ``warehouse/``; the quality store is
ours alone (``warehouse/quality/``) while ``warehouse/gold.duckdb`` belongs to the master build and
is only ever opened read-only here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from core.settings import settings

DEFAULT_HOME = Path("var")


def home() -> Path:
    """``$MASTERDATA_HOME`` or ``var`` (what ``masterdata`` uses everywhere)."""
    return settings().home


def warehouse_dir(root: Path | None = None) -> Path:
    return (root or home()) / "warehouse"


def quality_store_dir(root: Path | None = None) -> Path:
    """The run history: ``warehouse/quality`` (``$MASTERDATA_QUALITY_STORE`` overrides it)."""
    return settings().quality_store if root is None else warehouse_dir(root) / "quality"


def gold_path(root: Path | None = None) -> Path:
    """The master build's store (``$MASTERDATA_GOLD`` overrides it)."""
    return settings().gold if root is None else warehouse_dir(root) / "gold.duckdb"


def default_report_dir(root: Path | None = None) -> Path:
    return settings().quality_report if root is None else root / "reports" / "quality"


def city_tz() -> ZoneInfo:
    """The city's time zone (``$MASTERDATA_TZ``, default Asia/Shanghai): departments stamp their
    update times in local time, while extraction times in the lake are UTC."""
    return ZoneInfo(settings().tz)


def local_now() -> dt.datetime:
    """Now, as a naive date-time in the city's time zone (how source update stamps are written)."""
    return dt.datetime.now(city_tz()).replace(tzinfo=None)


def utc_to_local(t: dt.datetime | None) -> dt.datetime | None:
    """A naive UTC date-time (lake extraction stamps) as naive city-local time."""
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC).astimezone(city_tz()).replace(tzinfo=None)
