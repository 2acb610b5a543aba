"""Every ``MASTERDATA_*`` environment variable, read in one place.

Call :func:`settings` wherever a location or a knob is needed; nothing else in the platform reads
the environment for its own configuration.  The object is rebuilt only when a ``MASTERDATA_*``
variable changed (tests and the demo set them per run), so it is cheap to call anywhere.

The README's configuration table lists the same variables; ``tests/core/test_settings.py`` keeps the
two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from core.errors import ConfigurationError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_HOME = Path("var")


@dataclass(frozen=True)
class Settings:
    """Where everything lives and the knobs an operator may turn (env var in each field's doc)."""

    #: MASTERDATA_HOME - root of the city, lake and warehouse
    home: Path
    #: MASTERDATA_SOURCES - folder with db/ (SQLite sources) and files/ (landing area)
    sources: Path
    #: MASTERDATA_LAKE - the lake root
    lake: Path
    #: MASTERDATA_GOLD - the gold store
    gold: Path
    #: MASTERDATA_STEWARD - the steward decision log; None: beside whichever gold store is built
    steward: Path | None
    #: MASTERDATA_QUALITY_STORE - the quality run history
    quality_store: Path
    #: MASTERDATA_QUALITY_REPORT - where the quality DAG writes the analysts' report
    quality_report: Path
    #: MASTERDATA_TRUTH - a synthetic city's ground truth (for ``evaluate``)
    truth: Path
    #: MASTERDATA_DB_MODE - ``embedded`` (server sources read from SQLite files) or ``servers``
    db_mode: str
    #: MASTERDATA_PG_URL - departmental PostgreSQL server
    pg_url: str
    #: MASTERDATA_MYSQL_URL - departmental MariaDB server
    mysql_url: str
    #: MASTERDATA_DB_PREFIX - prefix of server database names (``staging_``, ``test_``)
    db_prefix: str
    #: MASTERDATA_DUCKDB_MEMORY - DuckDB memory limit of ingest and quality (spills past it): for
    #: ``masterdata ingest --jobs N`` the whole command's, each of the N worker processes getting 1/N
    #: (``pipelines.ingest_jobs.worker_memory``); for link the whole process's budget (DuckDB gets it
    #: minus ``pipelines.masters.link.LINK_RESERVE``)
    duckdb_memory: str
    #: MASTERDATA_BUILD_MEMORY - memory budget of the master build's whole process (DuckDB gets it
    #: minus a fixed reserve for the Python side, ``pipelines.masters.build.PYTHON_RESERVE``)
    build_memory: str
    #: MASTERDATA_TMP - parent of DuckDB's spill folder and of the master build's work file
    tmp: Path
    #: MASTERDATA_TZ - the city's time zone (source update stamps are local time)
    tz: str
    #: MASTERDATA_RETRY_DELAY_S - first retry delay of Airflow tasks (seconds)
    retry_delay_s: float | None
    #: MASTERDATA_DEMO_PORT - port of the demo's HTTP service (a free one if unset)
    demo_port: int | None
    #: MASTERDATA_SERVING - the serving store (keys, sessions, applications, audit)
    serving: Path
    #: MASTERDATA_SERVING_INDEX - the serving read model's folder
    serving_index: Path
    #: MASTERDATA_GRANTS - the departments' grants
    grants: Path
    #: MASTERDATA_SERVE_WORKERS - HTTP worker processes
    serve_workers: int
    #: MASTERDATA_SERVE_WATCH - seconds between checks for a rebuilt gold store
    serve_watch: float
    #: MASTERDATA_SERVE_MAX_BODY - largest request body the HTTP service reads (bytes; larger: 413)
    serve_max_body: int
    #: MASTERDATA_PREVIEW_TTL_S - seconds an unconsented hall preview is kept before it is purged
    preview_ttl_s: float
    #: MASTERDATA_AS_OF - fixes "today" (YYYY-MM-DD) for licence validity (tests, replays)
    as_of: date | None
    #: MASTERDATA_AIRFLOW_URL - base URL of the Airflow UI the console links DAG runs to
    airflow_url: str
    #: MASTERDATA_AUDIT_ANCHOR - PostgreSQL URL (an INSERT-only role) of the audit log's signed checkpoints
    audit_anchor: str | None
    #: MASTERDATA_AUDIT_SIGNING_KEY - the Ed25519 key that signs audit checkpoints (never beside the log)
    audit_signing_key: Path
    #: MASTERDATA_AUDIT_ANCHOR_EVERY - seconds between audit checkpoints of a running server
    audit_anchor_every: float
    #: MASTERDATA_RESOLVE_ENGINE - where the resolve engine's SQL runs: ``duckdb`` or ``spark``
    resolve_engine: str
    #: MASTERDATA_SPARK_MASTER - Spark master of the resolve engine when no ``spark.master`` is
    #: configured elsewhere (spark-defaults.conf, spark-submit)
    spark_master: str

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse"

    def today(self) -> date:
        return self.as_of or date.today()


#: field name -> environment variable, in the order of the README's table
ENV_VARS = {f.name: f"MASTERDATA_{f.name.upper()}" for f in fields(Settings)}


N = TypeVar("N", int, float)


#: Units of a memory size, as DuckDB reads them (KB/MB/GB/TB decimal, KiB/MiB/GiB/TiB binary).
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_bytes(text: str) -> int:
    """Bytes of a memory size such as ``8GB``, ``7.5 GiB`` or ``512MB`` (the units DuckDB takes),
    so a budget can be split before DuckDB sees its share."""
    raw = text.strip().lower().replace(" ", "")
    number = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(number):] or "b"
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _UNITS or value <= 0:
        raise ConfigurationError(f"not a memory size: {text!r} (e.g. 8GB, 7.5GiB, 512MB)")
    return int(value * _UNITS[unit])


def duckdb_share(budget: str, reserve: int, minimum: int, setting: str) -> int:
    """DuckDB's share (bytes) of a process memory ``budget`` (the value of the variable ``setting``):
    the budget minus ``reserve`` for what the process holds outside DuckDB's limit (the
    interpreter, its libraries, the allocator's slack), so the whole process stays within it;
    :class:`ConfigurationError` when less than ``minimum`` would be left."""
    share = memory_bytes(budget) - reserve
    if share < minimum:
        raise ConfigurationError(
            f"{setting}={budget} is too small: the process keeps {reserve // 2**20} MiB for its Python side "
            f"and needs at least {minimum // 2**20} MiB more for DuckDB")
    return share


def _number(env: dict[str, str], name: str, kind: type[N]) -> N | None:
    raw = env.get(name)
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a {kind.__name__}") from None


@lru_cache(maxsize=8)
def _load(snapshot: tuple[tuple[str, str], ...]) -> Settings:
    env = dict(snapshot)
    home = Path(env.get("MASTERDATA_HOME") or DEFAULT_HOME)
    warehouse = home / "warehouse"
    gold = Path(env.get("MASTERDATA_GOLD") or warehouse / "gold.duckdb")
    sources = Path(env.get("MASTERDATA_SOURCES") or home / "city" / "sources")
    serving = Path(env.get("MASTERDATA_SERVING") or warehouse / "serving.sqlite")
    mode = env.get("MASTERDATA_DB_MODE") or "embedded"
    if mode not in ("embedded", "servers"):
        raise ConfigurationError(f"MASTERDATA_DB_MODE={mode!r}: must be 'embedded' or 'servers'")
    engine = env.get("MASTERDATA_RESOLVE_ENGINE") or "duckdb"
    if engine not in ("duckdb", "spark"):
        raise ConfigurationError(f"MASTERDATA_RESOLVE_ENGINE={engine!r}: must be 'duckdb' or 'spark'")
    as_of = env.get("MASTERDATA_AS_OF")
    try:
        as_of_date = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise ConfigurationError(f"MASTERDATA_AS_OF={as_of!r} is not a date (YYYY-MM-DD)") from None
    import tempfile

    return Settings(
        home=home,
        sources=sources,
        lake=Path(env.get("MASTERDATA_LAKE") or home / "lake"),
        gold=gold,
        steward=Path(env["MASTERDATA_STEWARD"]) if env.get("MASTERDATA_STEWARD") else None,
        quality_store=Path(env.get("MASTERDATA_QUALITY_STORE") or warehouse / "quality"),
        quality_report=Path(env.get("MASTERDATA_QUALITY_REPORT") or home / "reports" / "quality"),
        truth=Path(env.get("MASTERDATA_TRUTH") or sources.parent / "truth"),
        db_mode=mode,
        pg_url=(env.get("MASTERDATA_PG_URL") or "postgresql://postgres@127.0.0.1:5432").rstrip("/"),
        mysql_url=(env.get("MASTERDATA_MYSQL_URL") or "mysql://root@127.0.0.1:3306").rstrip("/"),
        db_prefix=env.get("MASTERDATA_DB_PREFIX") or "",
        duckdb_memory=env.get("MASTERDATA_DUCKDB_MEMORY") or "4GB",
        build_memory=env.get("MASTERDATA_BUILD_MEMORY") or "8GB",
        tmp=Path(env.get("MASTERDATA_TMP") or tempfile.gettempdir()),
        tz=env.get("MASTERDATA_TZ") or "Asia/Shanghai",
        retry_delay_s=_number(env, "MASTERDATA_RETRY_DELAY_S", float),
        demo_port=_number(env, "MASTERDATA_DEMO_PORT", int),
        serving=serving,
        serving_index=Path(env.get("MASTERDATA_SERVING_INDEX") or serving.parent / "serving_index"),
        grants=Path(env.get("MASTERDATA_GRANTS") or REPO / "schemas" / "grants.yaml"),
        serve_workers=max(1, _number(env, "MASTERDATA_SERVE_WORKERS", int) or 1),
        serve_watch=_number(env, "MASTERDATA_SERVE_WATCH", float) or 2.0,
        serve_max_body=_number(env, "MASTERDATA_SERVE_MAX_BODY", int) or 1_048_576,
        preview_ttl_s=_number(env, "MASTERDATA_PREVIEW_TTL_S", float) or 3600.0,
        as_of=as_of_date,
        airflow_url=(env.get("MASTERDATA_AIRFLOW_URL") or "http://localhost:8080").rstrip("/"),
        audit_anchor=env.get("MASTERDATA_AUDIT_ANCHOR") or None,
        audit_signing_key=Path(env.get("MASTERDATA_AUDIT_SIGNING_KEY") or home / "keys" / "audit-anchor.key"),
        audit_anchor_every=_number(env, "MASTERDATA_AUDIT_ANCHOR_EVERY", float) or 10.0,
        resolve_engine=engine,
        spark_master=env.get("MASTERDATA_SPARK_MASTER") or "local[2]",
    )


def settings() -> Settings:
    """The current settings (rebuilt only when a ``MASTERDATA_*`` variable changed)."""
    snapshot = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("MASTERDATA_")))
    return _load(snapshot)
