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
    from pipelines.ingest import BatchOutcome
    from pipelines.ingest_jobs import Started, Unit, UnitResult
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
    jobs: Annotated[Optional[int], typer.Option(
        "--jobs", "-j",
        help="tables ingested at once, each job a worker process with its own DuckDB connection; the "
             "largest tables start first. The jobs share MASTERDATA_DUCKDB_MEMORY (each gets 1/N of it, "
             "so the command stays within the setting) and the cores (cores/N DuckDB threads each). "
             "Default: the machine's cores, at most 8, each with at least 1 GiB; 1 for a run estimated "
             "under 100,000 rows. 1: one table after another in this process")] = None,
) -> None:
    """Extract what is new in each source, land it in bronze and standardise it into silver.

    The same steps the Airflow DAGs run, without Airflow. Where the sources and the lake are is
    read from MASTERDATA_HOME / MASTERDATA_SOURCES / MASTERDATA_LAKE / MASTERDATA_DB_MODE.
    """
    from core.errors import ConfigurationError
    from pipelines.connections import SourceEnvironment
    from pipelines.ingest_jobs import default_jobs, plan, run_units
    from pipelines.lake import Lake
    from pipelines.registry import RegistryError, registry
    from pipelines.stepprogress import StepProgress
    from pipelines.steps import Steps

    if jobs is not None and jobs < 1:
        fail(f"--jobs must be 1 or more (tables ingested at once), not {jobs}")
    try:
        specs = registry()
    except RegistryError as exc:
        fail(str(exc))
        return
    names = list(dict.fromkeys(source)) if source else sorted(specs)  # a source named twice runs once
    unknown = [n for n in names if n not in specs]
    if unknown:
        fail(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(specs))}")
    env, lake = SourceEnvironment.from_env(), Lake()
    try:
        units = plan(names, env, lake, estimated=jobs != 1)
        n = jobs or default_jobs(units)
        events = run_units(units, n, env, lake)
    except ConfigurationError as exc:
        fail(exc.one_line())
        return
    n = max(1, min(n, len(units)))
    console.print(f"[bold]ingest[/] {len(names)} source(s) from {env.sources_dir} ({env.db_mode}) into {lake.root}"
                  + (f", {n} tables at a time" if n > 1 else ""))
    with StepProgress(console) as progress:
        runs = _SourceRuns(names, units, progress)
        with Steps(progress).step("sources", total=len(names)):
            for event in events:
                runs.tell(event)
    console.print(f"[bold]total[/] extracted {runs.totals[0]:,} = silver {runs.totals[1]:,} + "
                  f"quarantine {runs.totals[2]:,}")
    problems = []
    if runs.failed:
        problems.append(f"{len(runs.failed)} source(s) failed: {', '.join(runs.failed)}")
    if runs.set_aside:
        problems.append(f"{runs.set_aside} file(s) set aside (listed in {lake.root / '_state' / 'set_aside'})")
    if problems:
        fail("; ".join(problems) + " (everything else was loaded)", code=1)


class _SourceRuns:
    """What ``masterdata ingest`` says as its tables run, possibly several at once: a source is a
    step from its first table's start to its last table's end, then its one line (and one per
    noteworthy batch); a table that failed is one FAILED line as soon as it is known."""

    def __init__(self, names: list[str], units: list[Unit], progress: StepProgress) -> None:
        self.progress = progress
        self.left = dict.fromkeys(names, 0)
        for u in units:
            self.left[u.source] += 1
        self.started: dict[str, float] = {}
        self.outcomes: dict[str, list[BatchOutcome]] = {name: [] for name in names}
        self.errors = dict.fromkeys(names, 0)
        self.loaded = dict.fromkeys(names, 0)
        self.not_run = dict.fromkeys(names, 0)
        self.totals = [0, 0, 0]
        self.failed: list[str] = []
        self.set_aside = 0

    def tell(self, event: Started | UnitResult) -> None:
        import time

        from rich.markup import escape

        from pipelines.ingest_jobs import Started

        name = event.unit.source
        if isinstance(event, Started):
            if name not in self.started:
                self.started[name] = time.perf_counter()
                self.progress("start", ("sources", name), {})
            return
        if event.error is not None:
            self.progress.say(f"[red]FAILED[/] {escape(event.error)}")
            self.errors[name] += 1
        elif event.not_run:
            self.not_run[name] += 1
        else:
            self.loaded[name] += 1
            self.outcomes[name].extend(event.outcomes)
        self.left[name] -= 1
        if self.left[name] == 0:
            self._finish(name, time.perf_counter() - self.started.get(name, time.perf_counter()))

    def _finish(self, name: str, seconds: float) -> None:
        failed = bool(self.errors[name])
        self.progress("end", ("sources", name), {"seconds": seconds, **({"failed": True} if failed else {})})
        if self.loaded[name]:
            counts = _report_source(name, self.outcomes[name], self.progress)
            self.totals = [t + c for t, c in zip(self.totals, counts)]
            self.set_aside += sum(o.set_aside for o in self.outcomes[name])
        if self.not_run[name]:
            self.progress.say(f"  {name}: {self.not_run[name]} more table(s) not tried: the source is unavailable")
        if failed:
            self.failed.append(name)
            self.failed.sort(key=list(self.left).index)  # in the order the sources were named


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
