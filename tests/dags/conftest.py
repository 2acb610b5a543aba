"""The departmental-database fixtures of the ingestion tests, for the DAG tests that read real servers."""

from tests.ingest.conftest import my_source, pg_source

__all__ = ["my_source", "pg_source"]
