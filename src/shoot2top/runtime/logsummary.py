"""Summarising repeated log lines: an outage must not bury the log under one warning per
retry.

The first of a run of similar records (same logger, level and text once numbers are
ignored, so "retry 3 in 4 s" and "retry 4 in 8 s" are similar) goes through; repeats
within `window_s` are held back and counted; the next one after the window goes through
saying how many were held back. `flush()` reports what is still held back (at exit).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_NUMBERS = re.compile(r"\d+(?:[.,]\d+)*")
MAX_KEYS = 1000


@dataclass
class _Run:
    opened: float
    held: int = 0
    last: logging.LogRecord | None = None


class RepeatSummary(logging.Filter):
    """A handler filter that lets one of each run of similar records through per window."""

    def __init__(self, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self.clock = clock
        self._runs: dict[tuple[str, int, str], _Run] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, _NUMBERS.sub("#", record.getMessage()))
        now = self.clock()
        with self._lock:
            run = self._runs.get(key)
            if run is not None and now - run.opened < self.window_s:
                run.held += 1
                run.last = record
                return False
            if run is not None and run.held:
                _annotate(record, run.held, now - run.opened)
            self._runs.pop(key, None)
            self._runs[key] = _Run(opened=now)
            if len(self._runs) > MAX_KEYS:  # bounded: forget the oldest run
                self._runs.pop(next(iter(self._runs)))
        return True

    def flush(self, handler: logging.Handler) -> None:
        """Emit, through `handler`, the last held-back record of every run, annotated."""
        now = self.clock()
        with self._lock:
            pending = [run for run in self._runs.values() if run.held and run.last]
            self._runs.clear()
        for run in pending:
            assert run.last is not None
            _annotate(run.last, run.held, now - run.opened, last=True)
            handler.handle(run.last)


def _annotate(record: logging.LogRecord, held: int, seconds: float, last: bool = False) -> None:
    what = "the last of them shown" if last else "held back"
    note = f"{held} similar message(s) in the last {seconds:.0f} s {what}"
    record.msg, record.args = f"{record.getMessage()} [{note}]", None


def install(handler: logging.Handler, window_s: float = 60.0) -> RepeatSummary:
    """Summarise repeats on `handler`; returns the filter (call `flush` at exit)."""
    summary = RepeatSummary(window_s)
    handler.addFilter(summary)
    return summary
