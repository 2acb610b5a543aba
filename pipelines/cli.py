"""``masterdata``: the one command line of the platform (stewards, operators, analysts).

Each subcommand is a thin shell over a plain function in the packages, so everything it does is
also callable from Python, from tests and from Airflow tasks.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from core.cli import console, error, fail

if TYPE_CHECKING:
    import duckdb

    from pipelines.connections import SourceEnvironment
    from pipelines.ingest import BatchOutcome
    from pipelines.lake import Lake
    from pipelines.stepprogress import StepProgress

app = typer.Typer(
    help="City master-data platform: ingest 32 departmental sources, build the population, "
    "legal-entity and licence masters, serve the hall.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
registry_app = typer.Typer(help="The source registry in schemas/sources.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")

DEFAULT_HOME = Path("var")


@registry_app.command("check")
def registry_check(
    directory: Annotated[Optional[Path], typer.Argument(help="folder of source specs")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the sources and defects as JSON on stdout")] = False,
) -> None:
    """Validate every source spec, try its SQL, and print a one-line summary per source.

    Every defect of every spec is one line naming the file and the field (exit code 2).
    """
    from core.jsonout import dumps
    from pipelines.registry import SOURCES_DIR
    from pipelines.registry_check import check_registry

    specs, errors = check_registry(directory or SOURCES_DIR)
    if as_json:
        print(dumps({"valid": not errors, "errors": errors, "sources": {
            name: {"kind": spec.connection.kind, "masters": list(spec.masters), "tables": [t.name for t in spec.tables]}
            for name, spec in specs.items()}}))
        if errors:
            raise typer.Exit(2)
        return
    for name, spec in specs.items():
        tables = ", ".join(t.name for t in spec.tables)
        print(f"{name:22} {spec.connection.kind:8} feeds {'+'.join(spec.masters):22} tables: {tables}")
    for line in errors:
        error(line)
    if errors:
        fail(f"{len(errors)} spec(s) invalid, {len(specs)} valid")
    print(f"{len(specs)} sources valid")


@app.command()
def generate(
    persons: Annotated[int, typer.Option(help="true population size")] = 20_000,
    seed: Annotated[int, typer.Option(help="random seed: same seed, same city")] = 7,
    out: Annotated[Path, typer.Option(help="output folder")] = DEFAULT_HOME / "city",
    target: Annotated[
        str,
        typer.Option(help="where database-backed sources go: 'embedded' (SQLite files) or 'servers' "
                     "(the real PostgreSQL and MariaDB)"),
    ] = "embedded",
    day2: Annotated[bool, typer.Option(help="also write the day-2 delta")] = True,
) -> None:
    """Generate a synthetic city: true population, 32 departmental extracts, ground truth, day-2 delta.

    Progress (the world, then a bar over the sources) on stderr; the summary on stdout.
    """
    from pipelines.stepprogress import StepProgress
    from pipelines.synthetic.city import GenerateError, generate_city

    if target not in ("embedded", "servers"):
        fail(f"--target must be 'embedded' or 'servers', not {target!r}")
    try:
        with StepProgress(console) as progress:
            summary = generate_city(persons=persons, seed=seed, out=out, target=target, day2=day2,
                                    listener=progress)
    except GenerateError as exc:
        fail(str(exc))
        return
    print(summary.render())


@app.command()
def demo(
    home: Annotated[Path, typer.Option(help="where everything is written")] = DEFAULT_HOME,
    persons: Annotated[int, typer.Option(help="size of the synthetic city")] = 20_000,
    seed: Annotated[int, typer.Option(help="random seed of the city")] = 7,
) -> None:
    """The whole platform end to end on a small synthetic city (embedded defaults, no server)."""
    import time

    from pipelines.demo import DemoError, run_demo

    t = time.perf_counter()
    console.print(f"[bold]masterdata demo[/] — everything under {home.resolve()}")
    try:
        notes = run_demo(home, persons, seed, lambda m: console.print(m, highlight=False))
    except DemoError as exc:
        fail(str(exc), code=1)
        return
    console.print(f"\n[bold green]built in {time.perf_counter() - t:.0f}s.[/] Where to look:")
    for what, where in notes:
        console.print(f"  [bold]{what}[/]: {where}", highlight=False)


@app.command()
def ingest(
    source: Annotated[Optional[list[str]], typer.Option("--source", "-s", help="only these sources (repeatable)")] = None,
) -> None:
    """Extract what is new in each source, land it in bronze and standardise it into silver.

    The same steps the Airflow DAGs run, without Airflow. Where the sources and the lake are is
    read from MASTERDATA_HOME / MASTERDATA_SOURCES / MASTERDATA_LAKE / MASTERDATA_DB_MODE.
    """
    from core.db import connect
    from pipelines.connections import SourceEnvironment
    from pipelines.lake import Lake
    from pipelines.registry import RegistryError, registry
    from pipelines.stepprogress import StepProgress
    from pipelines.steps import Steps

    try:
        specs = registry()
    except RegistryError as exc:
        fail(str(exc))
        return
    names = source or sorted(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        fail(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(specs))}")
    env, lake = SourceEnvironment.from_env(), Lake()
    console.print(f"[bold]ingest[/] {len(names)} source(s) from {env.sources_dir} ({env.db_mode}) into {lake.root}")
    totals = [0, 0, 0]
    failed: list[str] = []
    set_aside = 0
    con = connect()
    with StepProgress(console) as progress:
        steps = Steps(progress)
        with steps.step("sources", total=len(names)):
            for name in names:
                with steps.step(name):
                    outcomes = _ingest_one(name, env, lake, con, progress)
                if outcomes is None:
                    failed.append(name)
                    continue
                counts = _report_source(name, outcomes, progress)
                totals = [t + c for t, c in zip(totals, counts)]
                set_aside += sum(o.set_aside for o in outcomes)
    con.close()
    console.print(f"[bold]total[/] extracted {totals[0]:,} = silver {totals[1]:,} + quarantine {totals[2]:,}")
    problems = []
    if failed:
        problems.append(f"{len(failed)} source(s) failed: {', '.join(failed)}")
    if set_aside:
        problems.append(f"{set_aside} file(s) set aside (listed in {lake.root / '_state' / 'set_aside'})")
    if problems:
        fail("; ".join(problems) + " (everything else was loaded)", code=1)


def _report_source(name: str, outcomes: list[BatchOutcome], progress: StepProgress) -> tuple[int, int, int]:
    """One line per source (and one per noteworthy batch) above the bar; its (extracted, silver,
    quarantined) counts."""
    new = [o for o in outcomes if not o.skipped]
    e, s_, qn = (sum(o.extracted for o in new), sum(o.standardised for o in new), sum(o.quarantined for o in new))
    state = f"{len(new)} batch(es)" if new else "nothing new"
    progress.say(f"  {name:22} {state:14} extracted {e:>10,} = silver {s_:>10,} + quarantine {qn:>8,}")
    for o in outcomes:
        if o.note or o.deleted:
            progress.say(f"    {'[yellow]' if o.set_aside else ''}{o.line()}")
    return e, s_, qn


def _ingest_one(name: str, env: SourceEnvironment, lake: Lake, con: duckdb.DuckDBPyConnection,
                progress: StepProgress) -> list[BatchOutcome] | None:
    """One source's outcomes, or None when it failed (said in one line; the other sources go on)."""
    from core.errors import MasterdataError, redact
    from pipelines.ingest import ingest_source

    try:
        return ingest_source(name, env, lake, con=con)
    except MasterdataError as exc:
        progress.say(f"[red]FAILED[/] {exc.one_line()}")
    except Exception as exc:  # a defect met in one source's data must not stop the other sources
        text = redact(" ".join((str(exc).splitlines() or [""])[0].split())[:300])
        progress.say(f"[red]FAILED[/] source {name}: {type(exc).__name__}: {text}")
    return None


def _register_plugins() -> None:
    """Add the command groups that live beside their packages.

    ``pipelines.cli_masters`` is of this layer and is imported directly; the groups of the layers
    above (serving, quality, console) plug in through the ``masterdata.commands`` entry points in
    pyproject.toml, so this layer never names them; they are added in the order of their entry
    names, whatever order the build backend wrote them in.
    """
    from importlib.metadata import entry_points

    from pipelines import cli_masters

    cli_masters.register(app)
    for ep in sorted(entry_points(group="masterdata.commands"), key=lambda ep: ep.name):
        ep.load()(app)


_register_plugins()


def main() -> None:
    """Console entry point: any expected failure (:class:`core.errors.MasterdataError`) that a
    command did not report itself ends as one line and its exit code, never a traceback."""
    from core.errors import MasterdataError, redact_logs

    redact_logs()
    try:
        app()
    except MasterdataError as exc:
        error(exc.one_line())
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
