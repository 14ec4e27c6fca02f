"""Progress of long runs on stderr: a live rich bar on a terminal, log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

log = logging.getLogger("shoot2top.progress")


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


class ProgressReporter:
    """Shows items, items/s and bytes while a run goes on."""

    def __init__(self, label: str, *, enabled: bool = True, log_every_s: float = 10.0) -> None:
        self.label = label
        self.started = time.monotonic()
        self.log_every_s = log_every_s
        self._next_log = self.started + log_every_s
        self._live: Progress | None = None
        self._task: Any = None
        if enabled and sys.stderr.isatty():
            self._live = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._live.add_task(label, total=None, status="starting")
            self._live.start()
        self.enabled = enabled

    def status(self, items: int, bytes_in: int) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return f"{items:,} items, {items / elapsed:,.0f} items/s, {human_bytes(bytes_in)} read"

    def update(self, items: int, bytes_in: int) -> None:
        if not self.enabled:
            return
        if self._live is not None:
            self._live.update(self._task, status=self.status(items, bytes_in))
        elif time.monotonic() >= self._next_log:
            self._next_log = time.monotonic() + self.log_every_s
            log.info("%s: %s", self.label, self.status(items, bytes_in))

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
