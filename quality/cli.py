"""``masterdata quality ...``: score the lake, render the analysts' report, show the derived suites.

Plugs into the main command line through the ``masterdata.commands`` entry point ``quality``
(pyproject.toml; ``pipelines/cli.py`` calls ``register(app)`` without naming this module). Kept cheap to
import - everything heavy (DuckDB, Great Expectations) is imported inside the commands - because
every ``masterdata`` invocation imports this module. Bad input ends in one red line, never a
traceback.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from core.cli import add_group, console, fail
from core.jsonout import dumps

if TYPE_CHECKING:
    from quality.run import RunResult
    from standards.dictionary import Dictionary


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input or state (one line), as opposed to bugs (traceback)."""
    import duckdb

    from pipelines.registry import RegistryError
    from quality.run import QualityError
    from quality.store import QualityStoreError
    from quality.suites import SuiteError
    from standards.codetables import CodeTableError
    from standards.dictionary import DictionaryError

    return (QualityError, QualityStoreError, SuiteError, RegistryError, DictionaryError, CodeTableError, duckdb.IOException,
            duckdb.InvalidInputException, FileNotFoundError, PermissionError, NotADirectoryError)


def _as_of(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--as-of {value!r} is not an ISO date or date-time (e.g. 2026-11-26 or 2026-11-26T08:00)")
    return None


def _dictionary(path: Path | None) -> Dictionary:
    from standards.dictionary import dictionary, load_dictionary

    return load_dictionary(path) if path else dictionary()


def run_cmd(
    source: Annotated[Optional[list[str]], typer.Option("--source", "-s", help="only these sources")] = None,
    lake: Annotated[Optional[Path], typer.Option(help="lake root (default $MASTERDATA_LAKE)")] = None,
    store: Annotated[Optional[Path], typer.Option(help="quality store (default $MASTERDATA_HOME/warehouse/quality)")] = None,
    gold: Annotated[Optional[Path], typer.Option(help="gold store (default $MASTERDATA_HOME/warehouse/gold.duckdb)")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="measure ages and date ranges at this time")] = None,
    dictionary: Annotated[Optional[Path], typer.Option(help="element dictionary file (default: the standard's)")] = None,
    top: Annotated[int, typer.Option(help="failing checks to list")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print the run's scorecards as JSON on stdout")] = False,
) -> None:
    """Score the current lake against suites derived from the standard and record the run.

    Progress (a bar over the source tables, then the gold masters) on stderr."""
    from pipelines.lake import Lake
    from pipelines.stepprogress import StepProgress
    from quality.run import run_quality
    from quality.store import QualityStore

    if lake is not None and not lake.is_dir():
        fail(f"--lake {lake}: no such folder")
    when = _as_of(as_of)
    try:
        d = _dictionary(dictionary)
        with StepProgress(console) as progress:
            res = run_quality(Lake(lake), QualityStore(store) if store else None, gold_path=gold, as_of=when,
                              dictionary=d, sources=source, listener=progress)
    except _user_errors() as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return
    if as_json:
        print(dumps({"run_id": res.run_id, "store": str(res.stored_at),
                     "scores": [s.record() for s in res.scores if s.level in ("source", "master", "gold")],
                     "gold": [g.record() for g in res.gold], "notes": res.notes,
                     "failures": [c.line() for c in res.failures()[:top]]}))
        return
    _print_run(res, top)

def _print_run(res: RunResult, top: int) -> None:
    """The run's scorecards, gold figures and largest failing checks as a table on stdout."""
    print(f"{'scorecard':24} {'rows':>10} {'complete':>9} {'valid':>9} {'consist':>9} {'conform':>9} "
          f"{'dup':>7} {'quar':>7} {'score':>8}")
    for s in sorted(res.scores_at("source"), key=lambda x: x.source or "") + res.scores_at("master") + \
            res.scores_at("gold"):
        name = s.label if s.level != "gold" else f"{s.master} (gold)"
        print(f"{name[:24]:24} {s.rows:>10,} {_p(s.completeness):>9} {_p(s.validity):>9} {_p(s.consistency):>9} "
              f"{_p(s.conformity):>9} {_p(s.duplicate_rate):>7} {_p(s.quarantine_rate):>7} {_p(s.score):>8}")
    for g in res.gold:
        if g.available:
            print(f"gold {g.master}: {g.golden_records or 0:,} golden records, match rate {_p(g.match_rate)}, "
                  f"review queue {g.review_queue if g.review_queue is not None else '-'}, "
                  f"conflicts {_p(g.conflict_rate)}")
    if not any(g.available for g in res.gold) and res.gold:
        print(f"gold: {res.gold[0].note}")
    fails = res.failures()
    if fails:
        print(f"\n{len(fails)} failing check(s); the {min(top, len(fails))} largest:")
        for c in fails[:top]:
            print("  " + c.line())
    for n in res.notes:
        print(f"note: {n}")
    print(f"\nrecorded run {res.run_id} in {res.stored_at} ({res.seconds:.1f} s)")


def report_cmd(
    out: Annotated[Path, typer.Option("--out", help="folder for index.html and the GX Data Docs")],
    fresh: Annotated[bool, typer.Option(help="score the lake first even when a run is recorded")] = False,
    gx: Annotated[bool, typer.Option("--gx/--no-gx", help="validate latest batches with Great Expectations")] = True,
    sample: Annotated[int, typer.Option(help="rows per batch handed to Great Expectations")] = 5_000,
    run_id: Annotated[Optional[str], typer.Option("--run-id", help="report this recorded run")] = None,
    lake: Annotated[Optional[Path], typer.Option(help="lake root (default $MASTERDATA_LAKE)")] = None,
    store: Annotated[Optional[Path], typer.Option(help="quality store")] = None,
    gold: Annotated[Optional[Path], typer.Option(help="gold store")] = None,
) -> None:
    """Write the analysts' report (one offline HTML page) and the Great Expectations Data Docs."""
    from pipelines.lake import Lake
    from pipelines.stepprogress import StepProgress
    from quality.gxrun import validate_batches
    from quality.report import render
    from quality.run import run_quality
    from quality.store import QualityStore

    if out.exists() and not out.is_dir():
        fail(f"--out {out}: exists and is not a folder")
    if sample < 1:
        fail("--sample must be at least 1")
    if lake is not None and not lake.is_dir():
        fail(f"--lake {lake}: no such folder")
    qs = QualityStore(store) if store else QualityStore()
    try:
        if run_id is None and (fresh or not qs.run_ids()):
            with StepProgress(console) as progress:
                res = run_quality(Lake(lake), qs, gold_path=gold, listener=progress)
            run_id = res.run_id
        elif run_id is not None:
            qs.meta(run_id)
        outcome = None
        if gx:
            console.print("[bold]great expectations[/] validating the latest batch of every source table",
                          highlight=False)
            outcome = validate_batches(out, Lake(lake), sample=sample, gold_path=gold,
                                       progress=lambda m: console.print(m, highlight=False))
        path = render(qs, out, run_id, outcome)
    except _user_errors() as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return
    print(f"report: {path.resolve()}")
    if outcome is not None and outcome.docs_index:
        print(f"great expectations data docs: {outcome.docs_index.resolve()}")

def suite_cmd(
    source: Annotated[Optional[str], typer.Option("--source", "-s", help="a source (default: all)")] = None,
    master: Annotated[Optional[str], typer.Option(help="only this master's suites, or the gold master suite")] = None,
    dictionary: Annotated[Optional[Path], typer.Option(help="element dictionary file (default: the standard's)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="full suites (checks with SQL and GX kwargs) as JSON")] = False,
) -> None:
    """Show the suites the standard derives for each source table (or for a gold master)."""
    from pipelines.registry import registry
    from quality.suites import build_suites, master_suite

    try:
        d = _dictionary(dictionary)
        specs = registry()
        if source and source not in specs:
            fail(f"unknown source {source!r}; known: {', '.join(sorted(specs))}")
        if master and master not in d.masters:
            fail(f"unknown master {master!r}; known: {', '.join(d.masters)}")
        suites = build_suites(d, specs, sources=[source] if source else None)
        if master:
            suites = [s for s in suites if s.master == master] + ([] if source else [master_suite(d, master)])
    except _user_errors() as exc:
        fail(str(exc).splitlines()[0])
        return
    if as_json:
        print(dumps([s.to_dict() for s in suites]))
        return
    for s in suites:
        print(f"{s.name}  ({len(s.checks)} checks, fingerprint {s.fingerprint()})")
        for c in s.checks:
            print(f"  {c.dimension:12} {c.element:28} {c.gx_type:50} {c.rule}")

def history_cmd(
    store: Annotated[Optional[Path], typer.Option(help="quality store")] = None,
    level: Annotated[str, typer.Option(help="master | source | table | feed | gold")] = "master",
    as_json: Annotated[bool, typer.Option("--json", help="print the runs as JSON on stdout")] = False,
) -> None:
    """List recorded runs with their scores (the data behind the report's trend charts)."""
    from quality.store import QualityStore

    if level not in ("master", "source", "table", "feed", "gold"):
        fail(f"--level must be master, source, table, feed or gold, not {level!r}")
    qs = QualityStore(store) if store else QualityStore()
    ids = qs.run_ids()
    if not ids:
        fail(f"no quality run recorded in {qs.root}; run `masterdata quality run` first")
    if as_json:
        print(dumps([{"run_id": rid, "scores": [r for r in qs.read("scores", rid) if r["level"] == level]}
                     for rid in ids]))
        return
    for rid in ids:
        rows = [r for r in qs.read("scores", rid) if r["level"] == level]
        cells = "  ".join(f"{(r['master'] if level in ('master', 'gold') else r['source']) or '-'}="
                          f"{_p(r.get('score'))}" for r in rows)
        print(f"{rid}  {cells}")


def register(app: typer.Typer) -> None:
    """Add the ``quality`` command group to ``masterdata``."""
    add_group(app, "quality", "Data quality: suites derived from the standard, scorecards per source and master, "
              "the analysts' report.", {"run": run_cmd, "report": report_cmd, "suite": suite_cmd, "history": history_cmd})


def _p(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.2f}%"
