"""Named, nested steps of a long job told to a listener - the progress protocol of every long command.

The resolve engine announces its steps through :class:`pipelines.resolve.sql.Sql`; code that runs
no engine SQL (the city generator, ingestion of many sources, quality scoring) announces its own
through :class:`Steps`, in the same protocol: ``listener("start", path, {"total": n}?)`` and
``listener("end", path, {"seconds": s, ...})``.  A step that declares a ``total`` is a bar its
children fill, one per child that ends (:class:`pipelines.stepprogress.StepProgress` draws it).
Without a listener every call is a no-op, so library code can announce steps unconditionally.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

#: told when a step starts (``"start"``, path, {} or {"total": n}) and ends (``"end"``, path,
#: {"seconds": ..., plus what the step noted}); the protocol of :meth:`pipelines.resolve.sql.Sql.step`
StepListener = Callable[[str, tuple[str, ...], dict[str, Any]], None]


class Steps:
    """Announces nested steps to ``listener`` (nothing when it is None)."""

    def __init__(self, listener: StepListener | None = None, prefix: tuple[str, ...] = ()) -> None:
        self.listener = listener
        self._path: list[str] = list(prefix)
        self._notes: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[None]:
        """A step named ``label`` inside the current one; ``total``: how many child steps fill it."""
        if self.listener is None:
            yield
            return
        t = time.perf_counter()
        self._path.append(label)
        self._notes.append({})
        path = tuple(self._path)
        self.listener("start", path, {} if total is None else {"total": total})
        try:
            yield
        except BaseException:
            self._notes[-1]["failed"] = True
            raise
        finally:
            self._path.pop()
            notes = self._notes.pop()
            self.listener("end", path, {"seconds": time.perf_counter() - t, **notes})

    def note(self, **info: Any) -> None:
        """Figures of the current step (rows, batches ...), shown when it ends."""
        if self._notes:
            self._notes[-1].update(info)
