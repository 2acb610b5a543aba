"""A measurement taken in a background thread at a fixed period while a ``with`` block runs.

The benchmarks that watch memory (``bench_ingest``: the summed RSS of a process tree;
``bench_build_peak``: RSS and DuckDB's bytes per build step) differ only in what they sample.
"""

from __future__ import annotations

import threading
from typing import Self


class Periodic:
    """Calls :meth:`sample` every ``every_s`` seconds from a daemon thread, from ``__enter__`` until
    ``__exit__`` (which waits for the thread, so the last sample is in when the block ends)."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every_s)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
