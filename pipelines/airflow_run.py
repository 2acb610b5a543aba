"""Run DAGs for real with Airflow's ``dag.test()`` in one process (the demo and stewards' one-off runs).

``airflow dags test`` pays Airflow's start-up (~5 s) per DAG; running 32 ingestion DAGs, the master
build and the quality DAG that way would take minutes of pure overhead.  This module is executed
as ``python -m pipelines.airflow_run DAG_ID ...`` with AIRFLOW_HOME pointing at a project-local
Airflow (SQLite metadata), parses the DAG folder once and runs each DAG in turn, printing one line
per run; the exit status is non-zero if any run failed.  Everything the runs print is masked
(:func:`core.errors.redact_streams`): no resident ID or mobile number reaches the console or the
demo's logs in full.
"""

from __future__ import annotations

import sys
import time


def main(argv: list[str]) -> int:
    import logging

    from core.errors import redact_streams

    # the tasks run in this process (``dag.test()``): their logs, prints and tracebacks reach this
    # process's streams, not a supervisor's log file (pipelines/airflow_logging.py), so the streams
    # are masked - before Airflow's import sets its logging up on them
    redact_streams()

    from airflow.dag_processing.dagbag import DagBag

    logging.getLogger("airflow").setLevel(logging.WARNING)
    bag = DagBag()
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            print(f"DAG import error in {path}: {err.strip().splitlines()[-1]}", flush=True)
        return 2
    failed = 0
    ids = argv or sorted(bag.dag_ids)
    for n, dag_id in enumerate(ids, 1):
        dag = bag.get_dag(dag_id)
        if dag is None:
            print(f"[{n}/{len(ids)}] {dag_id}: no such DAG", flush=True)
            failed += 1
            continue
        t = time.perf_counter()
        run = dag.test()
        state = str(getattr(run, "state", "unknown"))
        ok = state.endswith("success")
        failed += not ok
        print(f"[{n}/{len(ids)}] {dag_id}: {state} in {time.perf_counter() - t:.1f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
