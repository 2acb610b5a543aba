"""``masterdata link`` with the standard's name functions on half a million records, default memory.

The README's own example (``name_norm``, ``pinyin_key(name_norm(...))``, a phone) used to fail on
any input with a 6.2 GiB allocation while computing features; it must now run on 500k+ records
under the default ``MASTERDATA_DUCKDB_MEMORY``, leave blank phones out of blocking, and link the
people it should.  The records are generated here (:func:`link_people`: realistic name
frequencies, traditional spellings, homophone typos, stray spaces, a quarter with a blank phone).
"""

from __future__ import annotations

import resource
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.masters.link import link
from pipelines.synthetic.linkpeople import link_people

ROOT = Path(__file__).resolve().parents[2]
PERSONS = 240_000


def pair_scores(con: duckdb.DuckDBPyConnection, where: str = "TRUE") -> tuple[float, float]:
    """Pairwise precision and recall of ``clusters`` against ``truth`` over the records ``where``
    holds (counts per group, no pair listing)."""
    tp, pred, true = con.execute(
        "WITH j AS (SELECT c.cluster_id, t.person FROM clusters AS c JOIN truth AS t USING (record_id) "
        f"WHERE {where}) "
        "SELECT (SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM j GROUP BY cluster_id, person)), "
        "(SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM j GROUP BY cluster_id)), "
        "(SELECT sum(n * (n - 1) / 2) FROM (SELECT count(*) AS n FROM j GROUP BY person))"
    ).fetchall()[0]
    return float(tp / pred), float(tp / true)


@pytest.mark.slow
def test_readme_example_links_half_a_million_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MASTERDATA_DUCKDB_MEMORY", raising=False)
    records = link_people(PERSONS)
    assert records.num_rows >= 500_000
    inp = tmp_path / "people.parquet"
    pq.write_table(records.drop(["person"]), inp)
    out = tmp_path / "clusters.parquet"

    report = link(ROOT / "schemas" / "examples" / "link_people.yaml", [inp], out)

    assert report.records == records.num_rows
    assert list(report.steps) == ["read", "features", "deterministic", "blocking", "training", "scoring",
                                  "clustering", "write"]
    for rule in report.rules.values():
        assert 0 < rule.kept <= rule.made <= rule.estimated
    con = duckdb.connect()
    con.register("truth", records.select(["record_id", "person", "phone"]))
    con.execute(f"CREATE TABLE clusters AS SELECT * FROM '{out}'")
    assert con.execute("SELECT count(*), count(DISTINCT record_id) FROM clusters").fetchall()[0] == (
        records.num_rows, records.num_rows)
    # blank phones ('' and ' ', a quarter of the records) are no key: no cluster gathers them
    largest = con.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM clusters GROUP BY cluster_id)").fetchall()[0]
    assert largest is not None and largest[0] <= 20
    precision, _ = pair_scores(con)
    assert precision >= 0.99, precision
    # the example compares name and phone only, so a record without a phone has too little evidence
    # to link; every pair that carries the person's phone on both sides must be found
    _, recall = pair_scores(con, "trim(t.phone) <> ''")
    assert recall >= 0.99, recall
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    assert peak_gb < 4.0, peak_gb
