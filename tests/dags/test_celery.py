"""Airflow beyond one process: the CeleryExecutor runs every ingestion DAG and the master build of a
small generated city, with the API server, DAG processor, scheduler and a Celery worker as separate
processes, Redis as the broker and a throwaway PostgreSQL database as Airflow's metadata.

Runs are started the way operators start them: the ingestion DAGs are unpaused through the REST
API (the scheduler then creates each one's daily run). The master build and the quality DAG are not
triggered by hand: they are unpaused once every source has landed, and one more ingestion run's
silver asset event makes the scheduler start ``build_masters`` (scheduled on any source's silver
asset), whose gold asset events start ``quality`` - the chain a city runs on every day. (They stay
paused during the first round so that the build runs once, on the whole city, rather than once per
source as each lands: Airflow queues asset events only for unpaused DAGs.)
What is checked is what the runs produced, not only their state: every generated source table
landed in the lake with exactly its rows, the masters in gold match the city's ground truth, the
asset events carry the counts, the workers' OpenLineage events name the gold tables, and the quality
run scored the masters and wrote the analysts' report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.assets import source_names
from pipelines.lake import Lake
from pipelines.masters.evaluate import evaluate
from quality.report import MASTERS as REPORTED_MASTERS
from tests.dags.celery_cluster import CeleryCluster, redis_up
from tests.ingest.conftest import PREFIX

PERSONS = 300
MASTERS = ("person", "entity", "licence")


def _generate(out: Path) -> dict[str, Any]:
    from pipelines.synthetic.city import generate_city

    generate_city(persons=PERSONS, seed=11, out=out, day2=False)
    return dict(json.loads((out / "manifest.json").read_text(encoding="utf-8")))


def _check_asset_events(asset_events: list[dict[str, Any]], sources: int, manifest: dict[str, Any],
                        persons: int) -> None:
    """Asset events carry what each publication held (summed per asset: a run that crosses the city's
    midnight makes a second, empty, daily run); the last gold_person event counts the masters."""
    silver: dict[str, dict[str, int]] = {}
    for e in asset_events:
        if e["name"].startswith("silver_"):
            total = silver.setdefault(e["name"], dict.fromkeys(("batches", "extracted", "standardised", "quarantined"), 0))
            for k in total:
                total[k] += e["extra"][k]
    assert len(silver) == sources, sorted(silver)
    for name, x in silver.items():
        rows = sum(t["rows"] for t in manifest["tables"] if f"silver_{t['source']}" == name)
        assert x["extracted"] == rows and x["standardised"] + x["quarantined"] == rows and x["batches"] >= 1, (name, x)
    gold_person = [e["extra"] for e in asset_events if e["name"] == "gold_person"]
    assert gold_person and gold_person[-1]["masters"] == persons


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(1800)  # ~330 s of CPU in all (so ~2.5-4 min on 2 idle cores); the bound is for a busy machine
def test_celery_executor_ingests_and_builds_a_city(tmp_path: Path) -> None:
    assert redis_up(), "Redis is not answering on 127.0.0.1:6379 (scripts/start-services.sh starts it)"
    manifest = _generate(tmp_path / "city")
    home = tmp_path / "md"
    events = tmp_path / "openlineage.jsonl"
    platform = {
        "MASTERDATA_HOME": str(home),
        "MASTERDATA_SOURCES": str(tmp_path / "city" / "sources"),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events), "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "masterdata",
    }
    ingest = [f"ingest_{s}" for s in source_names()]
    with CeleryCluster(tmp_path / "airflow", f"{PREFIX}airflow_celery_test", extra_env=platform) as c:
        c.wait_for_dags({*ingest, "build_masters"}, timeout=180)
        for dag_id in ingest:
            assert c.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})["is_paused"] is False
        c.wait_for_runs(ingest, timeout=900)

        assert not c.runs("build_masters") and not c.runs("quality")  # paused: no asset event queued them
        for dag_id in ("build_masters", "quality"):
            assert c.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})["is_paused"] is False
        again = c.api("POST", f"/dags/{ingest[0]}/dagRuns", {"logical_date": None})
        runs = c.wait_for_runs(["build_masters", "quality"], timeout=900)
        assert c.api("GET", f"/dags/{ingest[0]}/dagRuns/{again['dag_run_id']}")["state"] == "success"
        run = runs["build_masters"][0]
        assert [r["run_type"] for r in runs["build_masters"]] == ["asset_triggered"], runs["build_masters"]
        # quality is scheduled on all three masters' gold events OR on every source's silver: the
        # silver events of the first ingest (queued while it was paused) and the build's gold events
        # make one run when the scheduler sees both in one loop, two on a loaded machine
        assert [r["run_type"] for r in runs["quality"]] in (["asset_triggered"], ["asset_triggered"] * 2), \
            runs["quality"]

        tis = c.api("GET", f"/dags/build_masters/dagRuns/{run['dag_run_id']}/taskInstances")["task_instances"]
        assert {t["task_id"]: t["state"] for t in tis} == {f"build_{m}": "success" for m in MASTERS}
        assert {t["queue"] for t in tis} == {c.queue}  # routed through this cluster's Celery queue
        assert "Executing workload in Celery" in c.log_tail("worker", 10**7)
        asset_events = c.api("GET", "/assets/events?limit=500")["asset_events"]

    # every generated table landed, with exactly its rows, and nothing else
    lake = Lake(home / "lake")
    landed: dict[tuple[str, str], int] = {}
    for b in lake.committed_batches():
        assert b.extracted == b.standardised + b.quarantined
        landed[(b.source, b.table)] = landed.get((b.source, b.table), 0) + b.extracted
    expected = {(t["source"], t["table"]): t["rows"] for t in manifest["tables"]}
    assert {k: landed.get(k, 0) for k in expected} == expected and set(landed) <= set(expected)

    # the asset-triggered quality run scored the sources and the masters and wrote the report
    report = home / "reports" / "quality" / "index.html"
    assert report.exists(), sorted(p.name for p in home.rglob("*") if p.is_dir())[:20]
    html = report.read_text(encoding="utf-8")
    assert all(label in html for label in REPORTED_MASTERS.values()), html[:2000]

    # the masters in gold are the city's people, companies and licences
    gold = home / "warehouse" / "gold.duckdb"
    ev = evaluate(gold, tmp_path / "city" / "truth")
    assert ev.masters["person"].precision >= 0.99 and ev.masters["person"].recall >= 0.98, ev.render()
    assert ev.masters["entity"].f1 >= 0.98, ev.render()
    with duckdb.connect(str(gold), read_only=True) as con:
        counts = {m: con.execute(f"SELECT count(*) FROM {m}_master").fetchall()[0][0] for m in MASTERS}
    assert 0.9 * PERSONS <= counts["person"] <= 1.1 * PERSONS, counts

    _check_asset_events(asset_events, len(ingest), manifest, counts["person"])

    # the workers' lineage: silver in, gold out, with the masters' row counts
    ol = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines() if line.strip()]
    done = {e["job"]["name"]: e for e in ol if e["eventType"] == "COMPLETE"}
    person = done["build_masters.build_person"]
    outputs = {o["name"]: o.get("outputFacets", {}).get("outputStatistics", {}).get("rowCount")
               for o in person["outputs"]}
    assert outputs == {"main.person_master": counts["person"], "main.person_xref": None}
    assert {o["namespace"] for o in person["outputs"]} == {f"duckdb://{gold.resolve()}"}
    assert any(i["name"].endswith("/silver/person/public_security__hjxx_czrk") for i in person["inputs"])
    table_jobs = {j for j in done if j.startswith("ingest_") and "." in j and not j.endswith(".publish")}
    assert len(table_jobs) == len(expected)
