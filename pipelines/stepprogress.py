"""Progress of a long command's named steps on stderr (generate, ingest, build, quality, link).

Every long job announces its steps in one protocol (:mod:`pipelines.steps`): the resolve engine
through :class:`pipelines.resolve.sql.Sql` (features, deterministic, blocking and each of its rules,
training, scoring, clustering), the other jobs through :class:`pipelines.steps.Steps`.  This draws
them.  On a terminal each step is a live line with its elapsed time - a bar with ``done/total``
when the step declared how many child steps fill it (sources of a city, feeds of a quality run),
a spinner otherwise; elsewhere (a pipe, a log file, CI) each finished step is one plain line, so
logs stay readable.  Everything goes to stderr: stdout is left for the command's own output
(``--json``).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


def describe(path: tuple[str, ...], info: dict[str, Any]) -> str:
    """One step as a line: indented by depth, with what it noted (pairs, rows, estimate) and its time."""
    figures = [f"{info['pairs']:,} pairs" if "pairs" in info else "",
               f"estimated {info['estimated']:,}" if "estimated" in info else "",
               f"{info['rows']:,} rows" if "rows" in info else "",
               str(info["note"]) if info.get("note") else "",
               "FAILED" if info.get("failed") else ""]
    extra = ", ".join(f for f in figures if f)
    return "  " * (len(path) - 1) + path[-1] + (f"  ({extra})" if extra else "")


class _Bar(ProgressColumn):
    """The bar of a step with a total (its children fill it); nothing for a step without one."""

    def __init__(self) -> None:
        super().__init__()
        self.bar = BarColumn(bar_width=30)

    def render(self, task: Task) -> RenderableType:
        return self.bar.render(task) if task.fields.get("counted") else Text("")


class _Count(MofNCompleteColumn):
    """``done/total`` of a step with a total."""

    def render(self, task: Task) -> Text:
        return super().render(task) if task.fields.get("counted") else Text("")


class StepProgress:
    """A step listener drawing progress on ``console`` (stderr); use as a context manager."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, emoji=False)
        self.live = self.console.is_terminal
        self.progress = Progress(SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"),
                                 _Bar(), _Count(), TimeElapsedColumn(), console=self.console)
        self.tasks: dict[tuple[str, ...], TaskID] = {}
        self.done: dict[tuple[str, ...], int] = {}

    def __enter__(self) -> StepProgress:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.live:
            self.progress.stop()

    def say(self, message: str) -> None:
        """A line above the live steps (or a plain line off a terminal)."""
        self.console.print(message, highlight=False)

    def __call__(self, event: str, path: tuple[str, ...], info: dict[str, Any]) -> None:
        parent = path[:-1]
        if event == "end" and parent in self.done:
            self.done[parent] += 1
        if not self.live:  # the error line names a failed step itself: one line, as for any error
            if event == "end" and not info.get("failed"):
                self.console.print(f"{describe(path, info)}  {info['seconds']:.1f}s", highlight=False)
            return
        if event == "start":
            total = info.get("total")
            if total is not None:
                self.done[path] = 0
            self.tasks[path] = self.progress.add_task(describe(path, info), total=total, counted=total is not None)
            return
        task = self.tasks.pop(path, None)
        done = self.done.pop(path, None)
        if task is not None and parent in self.done and not info.get("failed"):
            self.progress.remove_task(task)  # the parent's bar counts it; a long list would not fit
        elif task is not None:
            size = max(1, done or 0)
            self.progress.update(task, description=describe(path, info), total=size, completed=size)
            self.progress.stop_task(task)
        if parent in self.tasks and parent in self.done:
            self.progress.update(self.tasks[parent], completed=self.done[parent])
