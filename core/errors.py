"""One error base class for everything the platform refuses.

A :class:`MasterdataError` is an expected failure - bad input, a missing file, a source that is
down - never a bug.  The CLI prints :meth:`MasterdataError.one_line` (no traceback) and exits with
:attr:`exit_code`; the API renders :meth:`MasterdataError.problem` as ``application/problem+json``
with :attr:`status`.  Subclasses only set class attributes (status, title, exit code): adding a kind
of failure is a declaration, not a branch in the handlers.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from typing import Any, ClassVar, TextIO


class MasterdataError(Exception):
    """An expected failure, explained in one line that names what was wrong."""

    #: HTTP status when the error reaches the API
    status: ClassVar[int] = 400
    #: short human title of the problem type
    title: ClassVar[str] = "Bad request"
    #: process exit code when the error reaches the CLI (2 = bad input, 1 = the run failed)
    exit_code: ClassVar[int] = 2

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = {k: v for k, v in extra.items() if v is not None}

    def one_line(self) -> str:
        """The message on one line (embedded newlines folded, personal numbers masked: :func:`redact`),
        as the CLI prints it and the API's problem details carry it."""
        return redact(" ".join(self.message.split()))

    @classmethod
    def slug(cls) -> str:
        return re.sub(r"[^a-z0-9]+", "-", cls.title.lower()).strip("-")

    def problem(self) -> dict[str, Any]:
        """RFC 9457 problem details for the API."""
        body: dict[str, Any] = {"type": f"/problems/{self.slug()}", "title": self.title, "status": self.status,
                                "detail": self.one_line()}
        body.update(self.extra)
        return body


class InputError(MasterdataError):
    """A file, option or request the platform cannot accept (names the file/field/value)."""

    title = "Invalid input"


class ConfigurationError(InputError):
    """A configuration or declaration file (spec, master config, code table, grants) is wrong."""

    title = "Invalid configuration"


class NotFoundError(MasterdataError):
    status = 404
    title = "Not found"


class ConflictError(MasterdataError):
    status = 409
    title = "Conflict"


class UnavailableError(MasterdataError):
    """Something the run depends on (a source server, the gold store) cannot be reached now."""

    status = 503
    title = "Unavailable"
    exit_code = 1


class RunFailed(MasterdataError):
    """A run that started and could not finish (names the step that failed)."""

    status = 500
    title = "Run failed"
    exit_code = 1


def mask(value: object) -> str:
    """A personal value fit for a log or an error: its first characters, then ``***``.

    At most 3 characters and never more than half the value: a phone shows its carrier prefix
    (``139***``), a pinyin key its first syllable's start (``zha***``), a two-character name only
    its surname (``张***``).
    """
    text = str(value)
    return text[: min(3, len(text) // 2)] + "***"


#: what a resident ID number looks like in free text: 18 characters (area, birth date, sequence,
#: check) anywhere - also inside a longer number, as in a 残疾人证号 (the ID number and two digits) -
#: and, standing alone, the old 15 digits or a mobile phone number
_PERSONAL_NUMBER = re.compile(
    r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
    r"|(?<![0-9A-Za-z])(?:[1-9][0-9]{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}|1[3-9][0-9]{9})"
    r"(?![0-9A-Za-z])")


def redact(text: str) -> str:
    """``text`` with every resident ID number and mobile phone number in it masked (:func:`mask`).

    The safety net of everything written for people to read - errors, log lines, reports: a value
    whose element is known is masked where it is shown (names too); this catches the numbers that
    reach text some other way (a record key that is an ID number, a data row read as a header)."""
    return _PERSONAL_NUMBER.sub(lambda m: mask(m.group()), text)


class RedactingFilter(logging.Filter):
    """Masks personal numbers in a log record's message and arguments (:func:`redact`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


#: the loggers whose handlers print what the platform and its HTTP server log
LOGGERS = ("", "masterdata", "uvicorn", "uvicorn.error", "uvicorn.access", "airflow.task")


def redact_logs() -> None:
    """Install :class:`RedactingFilter` on every handler that prints the platform's logs (the HTTP
    server's access log names request paths, which may hold an ID number)."""
    handlers = [h for name in LOGGERS for h in logging.getLogger(name).handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for h in handlers:
        if not any(isinstance(f, RedactingFilter) for f in h.filters):
            h.addFilter(RedactingFilter())


class RedactingStream(io.TextIOBase):
    """A text stream that writes every line :func:`redact`-ed to the stream it wraps.

    Whole lines only: a number split across two ``write`` calls (``print`` writes the text, then the
    newline) is still caught; the unfinished last line is written when the stream is closed.
    """

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner
        self._pending = ""

    def write(self, s: str) -> int:
        self._pending += s
        if "\n" in self._pending:
            lines, self._pending = self._pending.rsplit("\n", 1)
            self.inner.write(redact(lines + "\n"))
        return len(s)

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        if self._pending:
            self.inner.write(redact(self._pending))
            self._pending = ""
        self.inner.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", "utf-8")


def redact_streams() -> None:
    """Route this process's stdout and stderr through :class:`RedactingStream`: for a process that runs
    code whose output it does not control - Airflow tasks run in-process by ``dag.test()``, whose
    log lines, ``print`` output and tracebacks all reach these two streams.  Call it before the code
    that captures the streams (Airflow's logging setup, at its import)."""
    import atexit

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, RedactingStream):
            wrapped = RedactingStream(stream)
            setattr(sys, name, wrapped)
            atexit.register(wrapped.close)
