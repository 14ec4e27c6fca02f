"""Progress of long runs on stderr: a live rich bar on a terminal, log lines otherwise.

Work of known size (a lake replay knows the bytes of the files it selected, `sample`
the items it makes) shows a percentage and an estimated time to completion; open-ended
work (a live source) shows its counts and rates.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress

log = logging.getLogger("shoot2top.runtime.progress")


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


def eta(done: float, total: float, elapsed_s: float) -> str:
    """The time left at the rate so far, as H:MM:SS ('?' before any progress)."""
    if done <= 0 or elapsed_s <= 0:
        return "?"
    left = max(total - done, 0) * elapsed_s / done
    return str(timedelta(seconds=round(left)))


class ProgressReporter:
    """Shows items, items/s and bytes while a run goes on; with a known total (bytes of
    a finite replay, or items for `count`), also the percentage done and the ETA."""

    def __init__(self, label: str, *, enabled: bool = True, log_every_s: float = 10.0) -> None:
        self.label = label
        self.started = time.monotonic()
        self.log_every_s = log_every_s
        self._next_log = self.started + log_every_s
        self._live: Progress | None = None
        self._task: Any = None
        self._counting_since: float | None = None
        if enabled and sys.stderr.isatty():
            from rich.console import Console  # only for a live bar: rich is slow to import
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._live = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=24),
                TaskProgressColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._live.add_task(label, total=None, status="starting")
            self._live.start()
        self.enabled = enabled

    def status(self, items: int, bytes_in: int, total_bytes: int | None = None) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        text = f"{items:,} items, {items / elapsed:,.0f} items/s, {human_bytes(bytes_in)}"
        if not total_bytes:
            return f"{text} read"
        return (
            f"{text} of {human_bytes(total_bytes)} read ({100 * bytes_in / total_bytes:.0f} %), "
            f"ETA {eta(bytes_in, total_bytes, elapsed)}"
        )

    def update(self, items: int, bytes_in: int, total_bytes: int | None = None) -> None:
        """A pipeline's progress: items moved and bytes read, of `total_bytes` if known."""
        self._show(self.status(items, bytes_in, total_bytes), bytes_in, total_bytes)

    def count(self, done: int, total: int | None, what: str = "items") -> None:
        """Progress of `done` of `total` things (None: not known yet); rates and the ETA
        count from the first call (a phase before it, e.g. planning, is left out)."""
        if self._counting_since is None:
            self._counting_since = time.monotonic()
        elapsed = max(time.monotonic() - self._counting_since, 1e-9)
        if total:
            text = (
                f"{done:,} of {total:,} {what} ({100 * done / total:.0f} %), "
                f"{done / elapsed:,.0f}/s, ETA {eta(done, total, elapsed)}"
            )
        else:
            text = f"{done:,} {what}"
        self._show(text, done, total)

    def note(self, text: str) -> None:
        """A phase without a measure of its own (e.g. planning before generating)."""
        self._show(text, 0, None)

    def _show(self, text: str, completed: float, total: float | None) -> None:
        if not self.enabled:
            return
        if self._live is not None:
            self._live.update(self._task, status=text, completed=completed, total=total or None)
        elif time.monotonic() >= self._next_log:
            self._next_log = time.monotonic() + self.log_every_s
            log.info("%s: %s", self.label, text)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
