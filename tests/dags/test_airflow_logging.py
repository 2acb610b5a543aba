"""The structlog processor Airflow's task-log writer runs (pipelines/airflow_logging.py) masks every
string of an event - message, fields and the exception dicts of a traceback - and wraps, rather than
replaces, a remote log IO the deployment configured."""

from __future__ import annotations

from typing import Any

from pipelines.airflow_logging import LOGGING_CONFIG, REMOTE_TASK_LOG, RedactingTaskLog, redact_event


def test_every_string_of_an_event_is_masked() -> None:
    event: dict[str, Any] = {"event": "set aside cjrz_34160219800101019X.csv", "logger": "task", "count": 3,
             "error_detail": [{"exc_type": "ValueError", "exc_value": "could not convert '13912345678'",
                               "frames": [{"filename": "x.py", "lineno": 1, "name": "f"}]}],
             "ids": ("110101199003074514", None)}
    out = redact_event(None, "error", event)
    assert out["event"] == "set aside cjrz_341***.csv" and out["count"] == 3
    assert out["error_detail"][0]["exc_value"] == "could not convert '139***'"
    assert out["error_detail"][0]["frames"] == event["error_detail"][0]["frames"]
    assert out["ids"] == ("110***", None)


def test_wraps_a_configured_remote_log_io() -> None:
    calls: list[tuple[str, Any]] = []

    def upload_processor(logger: Any, method: str, ev: dict[str, Any]) -> dict[str, Any]:
        calls.append(("saw", ev["event"]))
        return ev

    class Remote:
        processors = (upload_processor,)

        def upload(self, path: str, ti: Any = None) -> None:
            calls.append(("upload", path))

        def read(self, path: str, ti: Any) -> tuple[list[str], list[str]]:
            return ["remote"], ["line"]

        def stream(self, path: str, ti: Any) -> tuple[list[str], list[Any]]:
            return ["remote"], []

    log = RedactingTaskLog(Remote())
    ev: dict[str, Any] = {"event": "id 34160219800101019X"}
    for p in log.processors:  # ours first: what a remote sink receives is masked too
        ev = p(None, "info", ev)
    log.upload("a/b.log")
    assert calls == [("saw", "id 341***"), ("upload", "a/b.log")]
    assert log.read("p", None) == (["remote"], ["line"]) and log.stream("p", None) == (["remote"], [])
    # none configured (this deployment): nothing remote to read, no stream to offer
    assert REMOTE_TASK_LOG.processors == (redact_event,) and REMOTE_TASK_LOG.read("p", None) == ([], None)
    assert getattr(REMOTE_TASK_LOG, "stream", None) is None
    assert LOGGING_CONFIG["version"] == 1  # Airflow's own dictConfig, for the daemons
