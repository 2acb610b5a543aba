"""Command-line group of the master libraries: build, link, evaluate, steward.

Registered on the ``masterdata`` app by :mod:`pipelines.cli`.  Each command is a thin shell over a
function in :mod:`pipelines.masters` / :mod:`pipelines.resolve`; bad input is a one-line error
(exit code 2), never a traceback.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from core.cli import fail
from core.jsonout import dumps

#: The two sides of a steward's pair decision, and why (kept in the decision log).
RecordA = Annotated[str, typer.Argument(help="a record id (source:table:key) or a master id")]
RecordB = Annotated[str, typer.Argument(help="the other record id or master id")]
MasterOption = Annotated[Optional[str], typer.Option("--master", "-m")]
Note = Annotated[str, typer.Option(help="why (kept in the decision log)")]

steward_app = typer.Typer(help="Review uncertain matches and record decisions every later build honours.",
                          no_args_is_help=True)


def _default_truth() -> Path:
    from core.settings import settings

    return settings().truth


def build_cmd(
    master: Annotated[Optional[list[str]], typer.Option("--master", "-m", help="only this master (repeatable): "
                                                         "person, entity, licence")] = None,
    full: Annotated[bool, typer.Option(help="rebuild from all silver instead of applying new batches")] = False,
    as_of: Annotated[Optional[str], typer.Option(help="date licence status is derived for (YYYY-MM-DD; "
                                                  "default today)")] = None,
    verbose: Annotated[bool, typer.Option(help="print every SQL statement with its time")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the build's report as JSON on stdout")] = False,
) -> None:
    """Build the population, legal-entity and licence masters from silver into the gold store.

    Incremental when only new batches arrived since the last build; otherwise from scratch. Master
    ids are stable either way. The lake is MASTERDATA_LAKE, the gold file MASTERDATA_GOLD (default
    $MASTERDATA_HOME/warehouse/gold.duckdb). Progress of every master's steps on stderr.
    """
    from pipelines.masters.build import BuildError, build
    from pipelines.resolve.config import ConfigError
    from pipelines.resolve.steward import StewardError
    from pipelines.stepprogress import StepProgress

    when = None
    if as_of:
        try:
            when = date.fromisoformat(as_of)
        except ValueError:
            fail(f"--as-of must be a date YYYY-MM-DD, not {as_of!r}")
    try:
        with StepProgress() as progress:
            report = build(master, full=full, as_of=when, verbose=verbose, listener=progress)
    except (BuildError, ConfigError, StewardError) as exc:
        fail(str(exc))
        return
    print(dumps(report.as_dict()) if as_json else report.render())


def link_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="one Parquet file to deduplicate, or two to link")],
    config: Annotated[Path, typer.Option("--config", "-c", help="matching configuration (YAML)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output Parquet: record_id, cluster_id")],
    max_pairs_per_rule: Annotated[Optional[int], typer.Option(
        min=1, help="refuse a blocking rule estimated to make more candidate pairs than this "
        "(default: the config's max_pairs_per_rule, 50,000,000)")] = None,
    json_summary: Annotated[bool, typer.Option("--json", help="print the summary as JSON on stdout "
                                               "(progress stays on stderr)")] = False,
    explain: Annotated[Optional[tuple[str, str]], typer.Option(
        "--explain", metavar="ID1 ID2", help="break the match weight of the pair ID1 ID2 down per comparison "
        "level: prior + each level's log2(m/u) = total, and the probability")] = None,
    explain_record: Annotated[Optional[list[str]], typer.Option(
        "--explain-record", metavar="ID", help="the same for a record against the other records of its cluster "
        "and its strongest candidates (repeatable)")] = None,
) -> None:
    """Deduplicate one table or link two with your own configuration file (see README).

    Progress of every step goes to stderr; the summary (pairs per blocking rule, m/u per comparison
    level, thresholds, clusters, time per step) to stdout, followed by the waterfall of every pair
    ``--explain`` / ``--explain-record`` asked for (also in ``--json``).
    """
    from core.errors import MasterdataError
    from pipelines.masters.link import ExplainRequest, link
    from pipelines.stepprogress import StepProgress

    request = ExplainRequest((explain,) if explain else (), tuple(explain_record or ()))
    try:
        with StepProgress() as progress:
            report = link(config, inputs, out, max_pairs_per_rule=max_pairs_per_rule, listener=progress,
                          explain_request=request)
    except MasterdataError as exc:
        fail(exc.one_line())
        return
    print(dumps(report.as_dict()) if json_summary else report.render())


def evaluate_cmd(
    truth: Annotated[Optional[Path], typer.Option(help="the generated city's truth folder "
                                                  "(default: beside MASTERDATA_SOURCES, else var/city/truth)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the scores as JSON on stdout (instead of the "
                                          "table)")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="also write the scores as JSON to this file")] = None,
) -> None:
    """Score the gold masters against the synthetic city's ground truth (pairwise P/R/F1, per defect)."""
    from core.jsonout import write
    from core.settings import settings
    from pipelines.masters.evaluate import EvaluateError, evaluate

    try:
        ev = evaluate(settings().gold, truth or _default_truth())
    except EvaluateError as exc:
        fail(str(exc))
        return
    print(dumps(ev.as_dict()) if as_json else ev.render())
    if out:
        write(out, ev.as_dict())


JSON_OPTION = typer.Option("--json", help="print one JSON document on stdout instead of the text")


@steward_app.command("show")
def steward_show(
    a: Annotated[str, typer.Argument(help="a master id, or a record id (source:table:key) of a queued pair")],
    b: Annotated[Optional[str], typer.Argument(help="the pair's other record id")] = None,
    master: Annotated[Optional[str], typer.Option("--master", "-m", help="person, entity or licence")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """A queued pair side by side (differences marked, the weight per comparison level, why it is
    queued), or a master (golden attributes with the record and department each came from)."""
    from rich.console import Console

    from pipelines.masters.steward_show import render, view

    v = view(a, b, master)
    if as_json:
        print(dumps(v))
        return
    Console(soft_wrap=False, highlight=False, emoji=False, markup=False).print(render(v))


@steward_app.command("queue")
def steward_queue(
    master: Annotated[Optional[str], typer.Option("--master", "-m", help="person, entity or licence")] = None,
    limit: Annotated[int, typer.Option(help="show at most this many pairs")] = 20,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Uncertain pairs waiting for a decision, strongest first."""
    from pipelines.masters.steward_cli import queue_data, show_queue

    print(dumps(queue_data(master, limit)) if as_json else show_queue(master, limit))


def _decide(kind: str, a: str, b: str, master: Optional[str], note: str) -> None:
    from pipelines.masters.steward_cli import StewardCliError, record_pair_decision

    try:
        print(record_pair_decision(kind, a, b, master, note))
    except StewardCliError as exc:
        fail(str(exc))


@steward_app.command("match")
def steward_match(
    a: RecordA, b: RecordB, master: MasterOption = None, note: Note = "",
) -> None:
    """The two are the same entity: their masters merge on the next build, and stay merged."""
    _decide("match", a, b, master, note)


@steward_app.command("no-match")
def steward_no_match(
    a: RecordA, b: RecordB, master: MasterOption = None, note: Note = "",
) -> None:
    """The two are different entities: they are never put in one master again."""
    _decide("no_match", a, b, master, note)


@steward_app.command("split")
def steward_split(
    master_id: Annotated[str, typer.Argument(help="the master to split")],
    records: Annotated[list[str], typer.Argument(help="record ids to split off into a master of their own")],
    note: Note = "",
) -> None:
    """Split records off a master: they form their own master and never rejoin the rest."""
    from pipelines.masters.steward_cli import StewardCliError, record_split

    try:
        print(record_split(master_id, records, note))
    except StewardCliError as exc:
        fail(str(exc))


@steward_app.command("undo")
def steward_undo(
    decision_id: Annotated[str, typer.Argument(help="the decision to take back (from steward log)")],
    note: Note = "",
) -> None:
    """Take back a decision: the next build honours the log as if it had never been made."""
    from pipelines.masters.steward_cli import undo_decision

    print(undo_decision(decision_id, note))


@steward_app.command("explain")
def steward_explain(
    a: Annotated[str, typer.Argument(help="a record id (source:table:key), or a master id")],
    b: Annotated[Optional[str], typer.Argument(help="the other record id (omit: A against the other records "
                                               "of its master and its queued candidates)")] = None,
    master: Annotated[Optional[str], typer.Option("--master", "-m", help="person, entity or licence")] = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="at most this many neighbours of a record")] = 10,
    json_out: Annotated[bool, typer.Option("--json", help="print the explanations as JSON")] = False,
) -> None:
    """Why a pair scored what it did: the match weight per comparison level (prior + each level's
    log2 m/u = total, and the probability), from the trained model the last build stored."""
    from core.errors import MasterdataError
    from pipelines.masters.explain import explain_gold

    try:
        got = explain_gold(a, b, master, limit=limit)
    except MasterdataError as exc:
        fail(exc.one_line())
        return
    print(dumps(got.as_dict()) if json_out else got.render())


@steward_app.command("log")
def steward_log(
    master: Annotated[Optional[str], typer.Option("--master", "-m", help="person, entity or licence")] = None,
    limit: Annotated[int, typer.Option(help="show at most this many decisions")] = 30,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Past decisions, newest first, and which of them were undone."""
    from pipelines.masters.steward_cli import log_data, show_log

    print(dumps(log_data(master, limit)) if as_json else show_log(master, limit))


def register(app: typer.Typer) -> None:
    """Add build, link, evaluate and the steward group to the ``masterdata`` app."""
    app.command("build")(build_cmd)
    app.command("link")(link_cmd)
    app.command("evaluate")(evaluate_cmd)
    app.add_typer(steward_app, name="steward")
