"""Great Expectations over pandas batches: the latest batch of every feed, and the Data Docs site.

GX has no supported DuckDB data source and is slow on big frames, so it sees samples: the newest
committed batch of each source table (the daily delta), capped at ``sample`` rows, prepared by
DuckDB with the suite's derived columns (:mod:`quality.frame`) so that GX judges each row by the
same standard as the scorecards. The expectations are the suite's checks translated one to one;
each carries the source, table, master, element and rule in its ``meta``, and results keep the
record keys of failing rows (``unexpected_index_column_names``), so every failure in the Data Docs
and in :class:`GxFailure` names the source, the element and sample rows.

``great_expectations`` is imported inside the functions: it takes seconds to import and the CLI,
the DAG files and the scorecards must not pay for it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from core.errors import mask, redact
from core.sqltext import q
from pipelines.lake import Lake
from quality.frame import checked_sql, columns_of, gx_columns, parquet_source
from quality.scorecard import discover_feeds
from quality.suites import Suite, code_values, feed_suite, master_suite
from standards.dictionary import Dictionary, dictionary

DEFAULT_SAMPLE = 5_000
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["_record_key"],
                 "partial_unexpected_count": 5}


@dataclass
class GxFailure:
    """A failed expectation: where (source, table, master, element), what, and sample rows."""

    suite: str
    source: str | None
    table: str | None
    master: str
    element: str
    check_id: str
    dimension: str
    expectation: str
    unexpected: int
    rows: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def line(self) -> str:
        where = f"{self.source}.{self.table}" if self.source else f"gold {self.master}"
        eg = "; ".join(f"{s.get('record_key')}={s.get('value')!r}" + (f" ({s['reason']})" if s.get("reason") else "")
                       for s in self.samples[:3])
        what = f"error: {self.error}" if self.error else f"{self.unexpected:,} of {self.rows:,} sampled rows"
        return redact(f"{where} {self.element} {self.dimension} [{self.expectation}]: {what}" + (f"; e.g. {eg}" if eg else ""))


@dataclass
class GxSuiteResult:
    suite: str
    kind: str
    source: str | None
    table: str | None
    master: str
    batch_id: str | None
    rows: int
    evaluated: int
    successful: int
    failures: list[GxFailure] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.successful == self.evaluated


@dataclass
class GxOutcome:
    docs_index: Path | None
    results: list[GxSuiteResult]
    seconds: float
    notes: list[str] = field(default_factory=list)

    def failures(self) -> list[GxFailure]:
        return [f for r in self.results for f in r.failures]


#: where the published Data Docs go, beside the analysts' report
DOCS_DIR = "data-docs"


def _gx() -> Any:
    """Import Great Expectations with its usage analytics off (no network calls from a report)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    return gx


def camel(expectation_type: str) -> str:
    """``expect_column_values_to_not_be_null`` -> ``ExpectColumnValuesToNotBeNull``."""
    return "".join(p[:1].upper() + p[1:] for p in expectation_type.split("_"))


def gx_suite(suite: Suite) -> Any:
    """The suite as a ``gx.ExpectationSuite`` (one expectation per check, provenance in ``meta``)."""
    gx = _gx()

    expectations = [
        getattr(gx.expectations, camel(c.gx_type))(**c.gx_kwargs, meta={
            "check_id": c.id, "source": suite.source, "table": suite.table, "master": suite.master,
            "element": c.element, "dimension": c.dimension, "rule": c.rule,
            "notes": {"format": "markdown", "content": [c.description]}})
        for c in suite.checks]
    out = gx.ExpectationSuite(name=suite.name, expectations=expectations, meta={
        "notes": {"format": "markdown", "content": [
            f"Generated from the element dictionary (version {suite.dictionary_version}) for **{suite.label}**; "
            "do not edit by hand: change `standards/elements.yaml` or `schemas/sources/` instead."]},
        "source": suite.source, "table": suite.table, "master": suite.master, "fingerprint": suite.fingerprint()})
    return out


def _frame(con: Any, suite: Suite, relation: str, present: Iterable[str], sample: int) -> Any:
    cols = ", ".join(q(c) for c in gx_columns(suite))
    sql = (f"SELECT {cols} FROM ({checked_sql(suite, relation, present)}) "
           f"ORDER BY hash(_record_key), _record_key LIMIT {int(sample)}")
    return con.sql(sql).to_arrow_table().to_pandas()


def _failures(suite: Suite, res: Any, df: Any) -> tuple[int, int, list[GxFailure]]:
    """Failed expectations with their failing record keys, each shown with the element's text as
    received (the unexpected value of a ``__reason`` column is the defect kind, not the value)."""
    rows = len(df)
    by_key = df.drop_duplicates("_record_key").set_index("_record_key") if rows else None
    out = []
    evaluated = successful = 0
    for r in res.results:
        evaluated += 1
        if r.success:
            successful += 1
            continue
        meta = r.expectation_config.meta or {}
        result = r.result or {}
        err = None
        if r.exception_info and r.exception_info.get("raised_exception"):
            err = str(r.exception_info.get("exception_message", "")).splitlines()[0][:200]
        col = r.expectation_config.kwargs.get("column") or r.expectation_config.kwargs.get("column_A")
        text_col = f"{str(meta.get('element', '')).split('.', 1)[-1]}__text"
        personal = dictionary().is_personal(meta.get("element"))
        samples = []
        for s in result.get("partial_unexpected_index_list") or []:
            if not isinstance(s, dict):
                continue
            key = s.get("_record_key")
            value = s.get(col) if col else None
            if by_key is not None and text_col in by_key.columns and key in by_key.index:
                value, kind = by_key.at[key, text_col], value
                sample = {"record_key": key, "value": None if value is None else str(value)}
                if col and _is_reason(col) and kind is not None:
                    sample["reason"] = str(kind)
            else:
                sample = {"record_key": key, "value": None if value is None else str(value)}
            if personal and sample["value"] is not None:
                sample["value"] = mask(sample["value"])
            samples.append(sample)
        out.append(GxFailure(
            suite=suite.name, source=suite.source, table=suite.table, master=suite.master,
            element=meta.get("element", ""), check_id=meta.get("check_id", ""), dimension=meta.get("dimension", ""),
            expectation=r.expectation_config.type, unexpected=int(result.get("unexpected_count") or 0), rows=rows,
            samples=samples, error=err))
    return evaluated, successful, out


#: One suite to validate: the suite, the SQL relation it reads, its columns, the batch (None for gold).
Job = tuple[Suite, str, list[str], str | None]


def validate_batches(out_dir: Path, lake: Lake | None = None, dictionary: Dictionary | None = None,
                     specs: dict[str, Any] | None = None, sample: int = DEFAULT_SAMPLE,
                     gold_path: Path | None = None, sources: Iterable[str] | None = None,
                     as_of: dt.date | None = None, progress: Callable[[str], None] | None = None) -> GxOutcome:
    """Validate the latest batch of every feed (and a sample of each gold master) with GX; build
    the Data Docs site (rebuilt from scratch, so it always shows the suites the current standard
    derives) and publish it, working offline, as ``out_dir/data-docs``."""
    t0 = time.perf_counter()
    gx = _gx()
    from pipelines.registry import registry
    from quality import frame, gold
    from quality.paths import gold_path as default_gold
    from standards.dictionary import dictionary as default_dictionary

    d = dictionary or default_dictionary()
    as_of = as_of or dt.date.today()
    say = progress or (lambda _m: None)
    ctx = _fresh_context(gx, out_dir / "gx")
    codes = code_values(d)
    con = frame.connect(codes)
    outcome = GxOutcome(None, [], 0.0)
    try:
        ds = ctx.data_sources.add_pandas("lake")
        jobs = _feed_jobs(con, lake or Lake(), d, specs if specs is not None else registry(), sources, as_of, codes)
        why = gold.attach(con, gold_path or default_gold())
        if why:
            outcome.notes.append(why)
        else:
            jobs += _gold_jobs(con, d, as_of, codes, outcome.notes)
        for job in jobs:
            _validate(gx, ctx, ds, con, job, sample, outcome, say)
        if jobs:
            sites = ctx.build_data_docs()
            url = next(iter(sites.values()), None)
            if url:
                # a short path, local assets, no tutorial buttons (quality/gx_offline.py)
                from quality.gx_offline import publish

                outcome.docs_index, left = publish(Path(url.removeprefix("file://")).parent, out_dir / DOCS_DIR)
                # GX shows failing values as they are: no ID or phone number stays in its files
                for root in (out_dir / "gx", out_dir / DOCS_DIR):
                    redact_files(root)
                if left:
                    outcome.notes.append(f"Data Docs still reference {len(left)} external address(es): {left[0]}")
    finally:
        gold.detach(con)
        con.close()
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _run(vd: Any, df: Any) -> tuple[Any, str | None]:
    """Validate ``df`` against the definition's suite - what ``ValidationDefinition.run`` does, less its
    storing of the result: the result holds the failing values as received, and is stored only once
    masked (:func:`mask_results`, :func:`_store`).  Returns the result and the batch it judged."""
    from great_expectations.constants import DATAFRAME_REPLACEMENT_STR
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.validator.v1_validator import Validator

    validator = Validator(batch_definition=vd.batch_definition, batch_parameters={"dataframe": df},
                          result_format=RESULT_FORMAT)
    res = validator.validate_expectation_suite(vd.suite)
    run_id = RunIdentifier(run_time=dt.datetime.now(dt.UTC))
    res.meta.update({"validation_id": vd.id, "checkpoint_id": None, "run_id": run_id,
                     "validation_time": run_id.run_time,
                     "batch_parameters": {"dataframe": DATAFRAME_REPLACEMENT_STR}})
    return res, validator.active_batch_id


def _store(ctx: Any, vd: Any, res: Any, batch_id: str | None) -> None:
    """Store a (masked) result where the Data Docs read it, under the ids ``ValidationDefinition.run`` uses."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    suite_id = ExpectationSuiteIdentifier(name=vd.suite.name)
    result_id = ValidationResultIdentifier(batch_identifier=batch_id,
                                           expectation_suite_identifier=suite_id, run_id=res.meta["run_id"])
    ctx.validation_results_store.store_validation_results(
        suite_validation_result=res, suite_validation_result_identifier=result_id,
        expectation_suite_identifier=suite_id)


#: the parts of an expectation's result that list failing values (``*_index_list``: per failing row,
#: its record key and the values of the columns checked)
_VALUE_LISTS = ("unexpected_list", "partial_unexpected_list")
_INDEX_LISTS = ("unexpected_index_list", "partial_unexpected_index_list")


def mask_results(res: Any) -> int:
    """Mask the failing values a GX suite result lists, in place, before it is stored or rendered.

    GX keeps the failing values of every failed expectation (``unexpected_list``, the partial lists
    and counts, the failing rows' values by record key) and the Data Docs print them.  Where the
    expectation's element is personal (the dictionary says so: names, ID numbers, phones, addresses)
    each value is masked (:func:`core.errors.mask`: ``张***``), except in a reason column
    (``__reason``, ``__typed_reason``), whose values are defect kinds; everywhere else, and in record keys, personal numbers are masked
    (:func:`core.errors.redact`).  Returns how many expectation results were masked as personal.
    """
    personal_count = 0
    for r in res.results:
        cfg = r.expectation_config
        meta = cfg.meta or {}
        kwargs = cfg.kwargs or {}
        columns = [c for c in (kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B")) if c]
        personal = dictionary().is_personal(meta.get("element")) and not any(_is_reason(str(c)) for c in columns)
        personal_count += personal
        result = r.result or {}

        def hide(v: Any, personal: bool = personal) -> Any:
            if isinstance(v, str):
                return mask(v) if personal else redact(v)
            if isinstance(v, (list, tuple)):
                return type(v)(hide(x) for x in v)
            return v

        for k in _VALUE_LISTS:
            if isinstance(result.get(k), list):
                result[k] = [hide(v) for v in result[k]]
        if isinstance(result.get("partial_unexpected_counts"), list):
            result["partial_unexpected_counts"] = [
                {**c, "value": hide(c.get("value"))} if isinstance(c, dict) else c
                for c in result["partial_unexpected_counts"]]
        for k in _INDEX_LISTS:
            if isinstance(result.get(k), list):
                result[k] = [{c: (hide(x, False) if c == "_record_key" else hide(x)) for c, x in row.items()}
                             if isinstance(row, dict) else hide(row, False) for row in result[k]]
        if isinstance(result.get("unexpected_index_query"), str):
            result["unexpected_index_query"] = redact(result["unexpected_index_query"])
    return personal_count


def _is_reason(column: str) -> bool:
    """A derived column whose values are defect kinds (``BAD_CHECK``), not the element's values."""
    return column.endswith("_reason")


def redact_files(root: Path) -> int:
    """Mask every ID and phone number in the HTML, JSON and YAML files under ``root`` (GX's stores and
    its Data Docs render the unexpected values of failing rows); returns the files changed."""
    changed = 0
    for path in root.rglob("*"):
        if path.suffix not in (".html", ".json", ".yml", ".yaml") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        masked = redact(text)
        if masked != text:
            path.write_text(masked, encoding="utf-8")
            changed += 1
    return changed


def _fresh_context(gx: Any, project: Path) -> Any:
    """A file-backed GX context in an emptied ``project`` folder, progress bars off."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if project.exists():
        shutil.rmtree(project)
    project.mkdir(parents=True)
    ctx = gx.get_context(mode="file", project_root_dir=str(project))
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    ctx.variables.save()
    return ctx


def _feed_jobs(con: duckdb.DuckDBPyConnection, lake: Lake, d: Dictionary, specs: dict[str, Any],
               sources: Iterable[str] | None, as_of: dt.date, codes: dict[str, list[str]]) -> list[Job]:
    """One job per feed whose spec still maps it: its newest batch that brought rows."""
    jobs: list[Job] = []
    for feed in discover_feeds(lake, sources):
        spec = specs.get(feed.source)
        if spec is None or feed.table not in {t.name for t in spec.tables}:
            continue
        table = spec.table(feed.table)
        if feed.master not in table.feeds:
            continue
        # the newest batch that brought rows (an empty daily delta has nothing to validate)
        batch, path = next(((b, p) for b, p in zip(reversed(feed.batches), reversed(feed.files))
                            if b.standardised > 0), feed.latest)
        rel = f"SELECT * FROM {parquet_source([path])} WHERE NOT coalesce(_deleted, FALSE)"
        cols = list(columns_of(con, f"SELECT * FROM {parquet_source([path])}"))
        jobs.append((feed_suite(d, spec, table, feed.master, as_of, codes, columns=set(cols)), rel, cols,
                     batch.batch_id))
    return jobs


def _gold_jobs(con: duckdb.DuckDBPyConnection, d: Dictionary, as_of: dt.date, codes: dict[str, list[str]],
               notes: list[str]) -> list[Job]:
    """One job per gold master the attached store holds; a missing one is a note, not an error."""
    from quality import gold

    jobs: list[Job] = []
    for m in d.masters:
        lay = gold.layout(con, m)
        if isinstance(lay, str):
            notes.append(lay)
            continue
        jobs.append((master_suite(d, m, set(lay.columns), as_of, codes), gold.master_relation(lay),
                     gold.relation_columns(lay), None))
    return jobs


def _validate(gx: Any, ctx: Any, ds: Any, con: duckdb.DuckDBPyConnection, job: Job, sample: int,
              outcome: GxOutcome, say: Callable[[str], None]) -> None:
    """Run one suite through GX and record its result (or why GX could not run it)."""
    suite, rel, cols, batch_id = job
    try:
        df = _frame(con, suite, rel, cols, sample)
        asset = ds.add_dataframe_asset(name=suite.name)
        bd = asset.add_batch_definition_whole_dataframe("latest_batch" if suite.kind == "feed" else "sample")
        gsuite = ctx.suites.add(gx_suite(suite))
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=bd, suite=gsuite))
        res, judged = _run(vd, df)
        # the failures read the values as received; what GX stores and renders is masked
        evaluated, successful, fails = _failures(suite, res, df)
        mask_results(res)
        _store(ctx, vd, res, judged)
    except Exception as exc:  # one suite GX cannot run must not cost the other suites and the report
        outcome.notes.append(f"{suite.name}: not validated: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return
    outcome.results.append(GxSuiteResult(suite.name, suite.kind, suite.source, suite.table, suite.master,
                                         batch_id, len(df), evaluated, successful, fails))
    say(f"gx {suite.name:50} {len(df):>6,} rows  {successful}/{evaluated} expectations met")
