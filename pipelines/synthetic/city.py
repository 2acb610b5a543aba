"""``generate_city``: the synthetic Bozhou the whole platform is tested against.

One call builds the true world (:mod:`world`, its licences issued by :mod:`licences`), renders what
each of the 32 departments holds in its own native form with its own defects (:mod:`extracts`,
:mod:`render`, :mod:`defects`, profile in ``profiles.yaml``), writes the sources (:mod:`writers`),
the ground truth (:mod:`truth`), the manifest and - unless ``day2=False`` - the day-2 delta (the
day's events in :mod:`day2_world`, the changes per source in :mod:`delta`). The same ``seed`` gives the
same city byte for byte (except Excel archive timestamps), never depending on the wall clock.

Output layout under ``out``::

    sources/db/{database}.sqlite      postgres/mariadb sources when target='embedded'; sqlite sources always
    sources/files/{path with * = batch date}   csv / excel / jsonl sources (day 1: 20261125, day 2: 20261126)
    truth/...                         see pipelines.synthetic.truth
    manifest.json                     seed, size, target, sim dates, every table's location and row counts

Re-running with the same seed and ``day2=True`` over a day-1-only output applies day 2: day-1 data is
rewritten identically, so it is also how a test bed steps from day 1 to day 2.
"""

from __future__ import annotations

import numbers
import resource
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa

from core.errors import InputError
from pipelines.registry import RegistryError, SourceSpec, Table, registry
from pipelines.steps import StepListener, Steps
from pipelines.synthetic import truth as tr
from pipelines.synthetic import writers
from pipelines.synthetic.defects import NameTables
from pipelines.synthetic.delta import Change, Day2
from pipelines.synthetic.extracts import Ctx, build_extracts
from pipelines.synthetic.profile import Profile, SourceProfile, load_profile
from pipelines.synthetic.render import Rendered, Renderer, name_tables
from pipelines.synthetic.world import World, build_world, rng_for, write_truth

MAX_PERSONS = 20_000_000


class GenerateError(InputError):
    """A one-line, user-facing reason the city could not be generated."""


@dataclass
class TableResult:
    source: str
    table: str
    kind: str  # connection kind of the spec
    stored_as: str  # sqlite / postgres / mariadb / csv / excel / jsonl
    location: str
    rows: int
    defect_rows: int
    day2_rows: int = 0
    day2_location: str | None = None
    database: str | None = None


@dataclass
class CitySummary:
    """What was built and where; :meth:`render` is the CLI's report."""

    persons: int
    seed: int
    target: str
    out: Path
    day1: str
    day2: str | None
    households: int = 0
    entities: int = 0
    licences: int = 0
    tables: list[TableResult] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def day2_rows(self) -> int:
        return sum(t.day2_rows for t in self.tables)

    def by_kind(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for t in self.tables:
            k = out.setdefault(
                t.kind, {"sources": 0, "tables": 0, "rows": 0, "defect_rows": 0, "day2_rows": 0}
            )
            k["tables"] += 1
            k["rows"] += t.rows
            k["defect_rows"] += t.defect_rows
            k["day2_rows"] += t.day2_rows
        for kind in out:
            out[kind]["sources"] = len({t.source for t in self.tables if t.kind == kind})
        return out

    def render(self) -> str:
        lines = [
            f"synthetic city: seed {self.seed}, {self.persons:,} persons in {self.households:,} households, "
            f"{self.entities:,} entities, {self.licences:,} licences",
            f"sim dates: day 1 {self.day1}"
            + (f", day 2 {self.day2}" if self.day2 else " (no day 2)")
            + f"; target {self.target}; {self.seconds:.1f} s, peak RSS {self.peak_rss_mb:,.0f} MB",
            "",
            f"{'kind':8} {'sources':>7} {'tables':>6} {'rows':>11} {'defective':>10} {'day-2 rows':>10}",
        ]
        for kind, k in sorted(self.by_kind().items()):
            lines.append(
                f"{kind:8} {k['sources']:>7} {k['tables']:>6} {k['rows']:>11,} {k['defect_rows']:>10,} "
                f"{k['day2_rows']:>10,}"
            )
        lines.append(
            f"{'total':8} {len({t.source for t in self.tables}):>7} {len(self.tables):>6} {self.rows:>11,} "
            f"{sum(t.defect_rows for t in self.tables):>10,} {self.day2_rows:>10,}"
        )
        lines += ["", f"{'source.table':36} {'stored as':9} {'rows':>10} {'defective':>9}  location"]
        for t in self.tables:
            lines.append(
                f"{t.source + '.' + t.table:36} {t.stored_as:9} {t.rows:>10,} {t.defect_rows:>9,}"
                f"  {t.location}"
            )
        lines += ["", f"truth:    {self.out / 'truth'}", f"manifest: {self.out / 'manifest.json'}"]
        return "\n".join(lines)


def _check_args(persons: int, seed: int, target: str, out: Path) -> None:
    if not isinstance(persons, numbers.Integral) or isinstance(persons, bool) or persons < 200:
        raise GenerateError(f"--persons must be an integer of at least 200, not {persons!r}")
    if persons > MAX_PERSONS:
        raise GenerateError(f"--persons {persons:,} is above the supported {MAX_PERSONS:,}")
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise GenerateError(f"--seed must be a non-negative integer, not {seed!r}")
    if target not in ("embedded", "servers"):
        raise GenerateError(f"target must be 'embedded' or 'servers', not {target!r}")
    if out.exists() and not out.is_dir():
        raise GenerateError(f"--out {out} exists and is not a directory")


def _check_servers(specs: dict[str, SourceSpec], pg_dsn: str, mysql_url: str) -> None:
    """Fail fast, before minutes of generation, when a server is unreachable."""
    kinds = {s.connection.kind for s in specs.values()}
    try:
        if "postgres" in kinds:
            with writers.pg_connect(pg_dsn) as con:
                con.execute("SELECT 1")
        if "mariadb" in kinds:
            writers.my_connect(mysql_url).close()
    except writers.WriteError as exc:
        raise GenerateError(str(exc)) from None


class _Sink:
    """Where a source's tables go for the chosen target."""

    def __init__(self, out: Path, target: str, pg_dsn: str, mysql_url: str, prefix: str = "") -> None:
        self.out, self.target, self.pg_dsn, self.mysql_url, self.prefix = (
            out,
            target,
            pg_dsn,
            mysql_url,
            prefix,
        )

    def database(self, spec: SourceSpec) -> str:
        db = spec.connection.database or ""
        return self.prefix + db if self.stored_as(spec) in ("postgres", "mariadb") else db

    def stored_as(self, spec: SourceSpec) -> str:
        kind = spec.connection.kind
        if kind in ("postgres", "mariadb") and self.target == "embedded":
            return "sqlite"
        return kind

    def location(self, spec: SourceSpec, table_name: str, batch: str) -> str:
        kind = self.stored_as(spec)
        db = self.database(spec)
        if kind == "sqlite":
            return f"{writers.sqlite_path(self.out, db)}#{table_name}"
        if kind == "postgres":
            u = urlsplit(self.pg_dsn)
            return f"postgres://{u.hostname}:{u.port or 5432}/{db}#{table_name}"
        if kind == "mariadb":
            u = urlsplit(self.mysql_url)
            return f"mariadb://{u.hostname}:{u.port or 3306}/{db}#{table_name}"
        return str(writers.file_path(self.out, spec.table(table_name), batch))

    def write(self, spec: SourceSpec, tables: Iterable[tuple[Table, pa.Table]], batch: str) -> None:
        kind = self.stored_as(spec)
        db = self.database(spec)
        try:
            if kind == "sqlite":
                writers.write_sqlite(writers.sqlite_path(self.out, db), tables)
            elif kind == "postgres":
                writers.write_postgres(self.pg_dsn, db, tables)
            elif kind == "mariadb":
                writers.write_mariadb(self.mysql_url, db, tables)
            else:
                for table, data in tables:
                    writers.write_file(spec, table, data, self.out, batch)
        except writers.WriteError as exc:
            raise GenerateError(str(exc)) from None

    def upsert(self, spec: SourceSpec, table: Table, data: pa.Table, batch: str) -> None:
        kind = self.stored_as(spec)
        db = self.database(spec)
        try:
            if kind == "sqlite":
                writers.upsert_sqlite(writers.sqlite_path(self.out, db), table, data)
            elif kind == "postgres":
                writers.upsert_postgres(self.pg_dsn, db, table, data)
            elif kind == "mariadb":
                writers.upsert_mariadb(self.mysql_url, db, table, data)
            else:
                writers.write_file(spec, table, data, self.out, batch)
        except writers.WriteError as exc:
            raise GenerateError(str(exc)) from None


class _Run:
    """One generation: renders and writes each source's day 1 (and day 2), keeping what sources share
    (donors of copied ids, name variant tables per encoding) and what the summary and truth collect."""

    def __init__(
        self,
        world: World,
        seed: int,
        profile: Profile,
        out: Path,
        sink: _Sink,
        summary: CitySummary,
        delta: Day2 | None,
    ) -> None:
        self.world, self.seed, self.profile, self.out, self.sink = world, seed, profile, out, sink
        self.summary, self.delta = summary, delta
        self.batch1 = str(profile.day1).replace("-", "")
        self.batch2 = str(profile.day2).replace("-", "")
        self.donors: dict[str, tuple[np.ndarray, pa.Array]] = {}
        self.donor_names = {d for s in profile.sources.values() for d in s.copy_from}
        self.rates: dict[str, dict] = {}
        self._name_tables: dict[str, NameTables] = {}

    def name_tables(self, spec: SourceSpec) -> NameTables:
        """Name variants limited to what the source's file encoding can write (shared per encoding)."""
        enc = spec.connection.encoding if spec.connection.kind == "csv" else "utf-8"
        if enc not in self._name_tables:
            self._name_tables[enc] = name_tables(self.world, enc)
        return self._name_tables[enc]

    def source(self, spec: SourceSpec) -> None:
        """Render, write and (day 2) change the source's tables one at a time: a table's day-1
        rendering is let go as soon as it is written and its day-2 changes are known."""
        prof = self.profile.of(spec.source)
        ctx = Ctx(self.world, spec, prof, rng_for(self.seed, "extract", spec.source), day=self.profile.day1)
        extracts = build_extracts(ctx)
        renderer = Renderer(
            self.world,
            spec,
            prof,
            rng_for(self.seed, "render", spec.source),
            self.donors,
            self.name_tables(spec),
            is_donor=spec.source in self.donor_names,
        )
        delta = None
        if self.delta is not None:
            delta = self.delta.source_delta(spec, prof, extracts, self.name_tables(spec))
        changes: list[tuple[Table, Change]] = []

        def day1_tables() -> Iterator[tuple[Table, pa.Table]]:
            for t in spec.tables:
                ex = extracts.pop(t.name)
                r = renderer.render(t, ex, batch="day1")
                self._day1_table(spec, prof, t, r, ex.n)
                if delta is not None:
                    changes.append((t, delta.change(t, ex, r)))
                yield t, r.native

        self.sink.write(spec, day1_tables(), self.batch1)
        for t, ch in changes:  # a table with nothing new on day 2 gets no day-2 file (an empty one is refused)
            tr.write_parquet(tr.records_path(self.out, spec.source, t.name, day2=True), ch.truth)
            res = self.summary.tables[-len(spec.tables) + spec.tables.index(t)]
            res.day2_rows = ch.native.num_rows
            if res.day2_rows:
                self.sink.upsert(spec, t, ch.native, self.batch2)
                res.day2_location = self.sink.location(spec, t.name, self.batch2)
            elif t.path:  # nor an older run's file left behind
                writers.file_path(self.out, t, self.batch2).unlink(missing_ok=True)

    def _day1_table(self, spec: SourceSpec, prof: SourceProfile, t: Table, r: Rendered, originals: int) -> None:
        """Truth, defect rates and summary row of one written table; a donor's wrong ids for others."""
        source, rows = spec.source, r.native.num_rows
        tr.write_parquet(tr.records_path(self.out, source, t.name), r.truth)
        self.rates[f"{source}.{t.name}"] = {"rows": rows, "defects": tr.rate_report(r.log, prof, rows, originals)}
        defective = np.asarray(r.truth.column("defects").combine_chunks().value_lengths()) > 0
        self.summary.tables.append(
            TableResult(
                source=source,
                table=t.name,
                kind=spec.connection.kind,
                stored_as=self.sink.stored_as(spec),
                location=self.sink.location(spec, t.name, self.batch1),
                rows=rows,
                database=self.sink.database(spec) or None,
                defect_rows=int(defective.sum()),
            )
        )
        if r.wrong_ids is not None and source not in self.donors:  # a donor's first (main) table
            pids, vals = r.wrong_ids
            order = np.argsort(pids, kind="stable")
            self.donors[source] = (pids[order], vals.take(pa.array(order)))


def generate_city(
    persons: int,
    seed: int,
    out: Path,
    target: str = "embedded",
    day2: bool = True,
    pg_dsn: str | None = None,
    mysql_url: str | None = None,
    progress: Callable[[str], None] | None = None,
    sources: list[str] | None = None,
    database_prefix: str = "",
    listener: StepListener | None = None,
) -> CitySummary:
    """Generate the synthetic city into ``out`` (see the module docstring for the layout).

    ``sources`` limits the departments written (all 32 by default; the world is always whole) and
    ``database_prefix`` is put before every server database name (tests use ``test_``);
    ``listener`` hears the steps (the world, then each source: the command line's progress bar).
    """
    t0 = time.perf_counter()
    out = Path(out)
    _check_args(persons, seed, target, out)
    persons, seed = int(persons), int(seed)
    say = progress or (lambda _m: None)
    try:
        specs = registry()
    except RegistryError as exc:
        raise GenerateError(str(exc)) from None
    profile = load_profile()
    if sources is not None:
        unknown = sorted(set(sources) - set(specs))
        if unknown:
            raise GenerateError(f"unknown source {unknown[0]!r}")
    chosen = [s for s in profile.order if sources is None or s in sources]
    pg_dsn = pg_dsn or writers.DEFAULT_PG
    mysql_url = mysql_url or writers.DEFAULT_MYSQL
    if target == "servers":
        _check_servers({s: specs[s] for s in chosen}, pg_dsn, mysql_url)
    out.mkdir(parents=True, exist_ok=True)
    steps = Steps(listener)
    with steps.step("world: persons, households, entities, licences"):
        world = build_world(persons, seed, say)
    summary = CitySummary(
        persons=persons,
        seed=seed,
        target=target,
        out=out,
        day1=str(profile.day1),
        day2=str(profile.day2) if day2 else None,
        households=world.households.n,
        entities=world.entities.n,
        licences=world.licences.n,
    )
    write_truth(world, out / "truth")
    say("truth: world tables written")

    if not day2:  # a day-1-only run must not leave an older run's day-2 files and truth behind
        _remove_day2(out, [specs[s] for s in chosen], str(profile.day2).replace("-", ""))
    delta = None
    if day2:
        delta = Day2(world, seed, profile)
        say(f"day 2: {delta.describe()}")
    run = _Run(world, seed, profile, out, _Sink(out, target, pg_dsn, mysql_url, database_prefix), summary, delta)
    _write_sources(run, [specs[s] for s in chosen], steps, say)

    tr.write_json(out / "truth" / "defect_rates.json", run.rates)
    if delta is not None:
        delta.write_truth(out)
    _write_manifest(out, summary)
    summary.seconds = time.perf_counter() - t0
    summary.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(f"done: {summary.rows:,} rows in {summary.seconds:.1f} s")
    return summary


def _write_sources(run: _Run, specs: list[SourceSpec], steps: Steps, say: Callable[[str], None]) -> None:
    """Every chosen department's extracts, one step each (the command line's bar over the sources)."""
    tables = run.summary.tables
    with steps.step("departmental extracts", total=len(specs)):
        for spec in specs:
            ts = time.perf_counter()
            with steps.step(spec.source):
                run.source(spec)
                steps.note(rows=sum(t.rows for t in tables if t.source == spec.source))
            say(
                f"{spec.source}: {', '.join(f'{t.table} {t.rows:,}' for t in tables if t.source == spec.source)} "
                f"rows ({time.perf_counter() - ts:.1f} s)"
            )


def _remove_day2(out: Path, specs: list[SourceSpec], batch2: str) -> None:
    for spec in specs:
        for t in spec.tables:
            if t.path:
                writers.file_path(out, t, batch2).unlink(missing_ok=True)
            tr.records_path(out, spec.source, t.name, day2=True).unlink(missing_ok=True)
    shutil.rmtree(out / "truth" / "day2", ignore_errors=True)


def _write_manifest(out: Path, s: CitySummary) -> None:
    tables = []
    for t in s.tables:
        entry = {
            "source": t.source,
            "table": t.table,
            "kind": t.kind,
            "stored_as": t.stored_as,
            "database": t.database,
            "location": t.location,
            "rows": t.rows,
        }
        if s.day2:
            entry.update(day2_rows=t.day2_rows, day2_location=t.day2_location)
        tables.append(entry)
    tr.write_json(
        out / "manifest.json",
        {
            "generator": "pipelines.synthetic",
            "seed": s.seed,
            "persons": s.persons,
            "households": s.households,
            "entities": s.entities,
            "licences": s.licences,
            "target": s.target,
            "day1": s.day1,
            "day2": s.day2,
            "batches": {
                "day1": s.day1.replace("-", ""),
                **({"day2": s.day2.replace("-", "")} if s.day2 else {}),
            },
            "sources_dir": str(out / "sources"),
            "truth_dir": str(out / "truth"),
            "tables": tables,
        },
    )


__all__ = ["CitySummary", "GenerateError", "TableResult", "generate_city"]
