"""Airflow's task logs without personal numbers: the project's redaction installed where Airflow 3 writes them.

Why not a ``logging.Filter`` (:func:`core.errors.redact_logs`, what the CLI and the API install):
Airflow 3 does not write a task's log in the task's process.  The task process sends every event -
stdlib and structlog log calls, the traceback of a task that raised - as JSON over a socket, and its
stdout/stderr (``print``) through pipes, to its *supervisor* process, which writes the log file
(``dag_id=…/run_id=…/task_id=…/attempt=N.log``) through a structlog processor chain of its own.  A
filter on a handler in the task process is never on that path, and a ``logging_config_class`` dict is
ignored for task logs (apache/airflow#53442).  The one place Airflow 3 lets a deployment add to that
chain is the ``REMOTE_TASK_LOG`` object of the module named by ``[logging] logging_config_class``: its
``processors`` are appended to the supervisor's chain for every task log line
(``airflow.sdk.log.logging_processors``), after the event is formatted and exceptions are turned into
dicts, before the line is rendered and written.

So a deployment sets::

    AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS=pipelines.airflow_logging.LOGGING_CONFIG

(docs/DEPLOYMENT.md; the demo, ``make airflow-ui`` and the tests' Airflow do), and :func:`redact_event`
masks every resident ID and mobile number (:func:`core.errors.redact`) in every string of every
event - message, fields, exception text and frames - whatever the task did to produce it.

Remote logging keeps working: the default settings' own ``REMOTE_TASK_LOG`` (set when
``[logging] remote_logging`` is on) is wrapped, its processors run after ours and its upload and
read are delegated to.  Names cannot be recognised in free text; they are masked where their element
is known (the platform's own messages), this is the net for the numbers.
"""

from __future__ import annotations

import os
from typing import Any

from airflow.config_templates import airflow_local_settings as _defaults

from core.errors import redact

#: Airflow's own logging configuration, unchanged (the daemons' stdlib logging reads it)
LOGGING_CONFIG: dict[str, Any] = dict(_defaults.DEFAULT_LOGGING_CONFIG)


def _redacted(value: Any) -> Any:
    """``value`` with :func:`redact` applied to every string in it (dicts and lists walked)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redacted(v) for v in value)
    return value


def redact_event(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: every personal number in a log event masked (:func:`core.errors.redact`)."""
    return {k: _redacted(v) for k, v in event_dict.items()}


class RedactingTaskLog:
    """The ``REMOTE_TASK_LOG`` Airflow 3 installs in every task's log-writing path.

    Its processors are :func:`redact_event` then those of the remote log IO the default settings
    configured (none unless ``remote_logging`` is on), to which upload and read are delegated; with
    none, nothing is uploaded and reads find nothing remote, so the API server reads the local file.
    """

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner

    @property
    def processors(self) -> tuple[Any, ...]:
        return (redact_event, *(getattr(self.inner, "processors", None) or ()))

    def upload(self, path: os.PathLike[str] | str, ti: Any = None) -> None:
        if self.inner is not None:
            self.inner.upload(path, ti)

    def read(self, relative_path: str, ti: Any) -> tuple[list[str], list[str] | None]:
        if self.inner is None:
            return [], None
        result: tuple[list[str], list[str] | None] = self.inner.read(relative_path, ti)
        return result

    def __getattr__(self, name: str) -> Any:
        # ``stream`` (and anything else a provider's IO offers) only where the wrapped IO has it:
        # the API server looks for ``stream`` with getattr and falls back to ``read``
        if name == "inner" or self.inner is None:
            raise AttributeError(name)
        return getattr(self.inner, name)


REMOTE_TASK_LOG = RedactingTaskLog(getattr(_defaults, "REMOTE_TASK_LOG", None))
DEFAULT_REMOTE_CONN_ID = getattr(_defaults, "DEFAULT_REMOTE_CONN_ID", None)
