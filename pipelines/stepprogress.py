"""Progress of the engine's named steps on stderr, for long commands such as ``masterdata link``.

The engine announces every step through :class:`pipelines.resolve.sql.Sql`'s listener (features,
deterministic, blocking and each of its rules, training, scoring, clustering); this draws them.
On a terminal each step is a live line with a spinner and its elapsed time; elsewhere (a pipe, a
log file, CI) each finished step is one plain line, so logs stay readable. stdout is left alone
for the command's own output (``--json``).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


def describe(path: tuple[str, ...], info: dict[str, Any]) -> str:
    """One step as a line: indented by depth, with what it noted (pairs, estimate) and its time."""
    figures = [f"{info['pairs']:,} pairs" if "pairs" in info else "",
               f"estimated {info['estimated']:,}" if "estimated" in info else "",
               "FAILED" if info.get("failed") else ""]
    extra = ", ".join(f for f in figures if f)
    return "  " * (len(path) - 1) + path[-1] + (f"  ({extra})" if extra else "")


class StepProgress:
    """A step listener drawing progress on ``console`` (stderr); use as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self.progress = Progress(SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"),
                                 TimeElapsedColumn(), console=self.console)
        self.tasks: dict[tuple[str, ...], TaskID] = {}

    def __enter__(self) -> StepProgress:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.live:
            self.progress.stop()

    def __call__(self, event: str, path: tuple[str, ...], info: dict[str, Any]) -> None:
        if not self.live:  # the error line names a failed step itself: one line, as for any error
            if event == "end" and not info.get("failed"):
                self.console.print(f"{describe(path, info)}  {info['seconds']:.1f}s", highlight=False)
            return
        if event == "start":
            self.tasks[path] = self.progress.add_task(describe(path, info), total=None)
            return
        task = self.tasks.pop(path, None)
        if task is not None:
            self.progress.update(task, description=describe(path, info), total=1, completed=1)
            self.progress.stop_task(task)
