"""A clock whose sleeps are instant and recorded: backoff schedules checked in ms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shoot2top.sources.base import Source
from shoot2top.sources.live import Clock

SLICE_S = 0.25  # what the runner sleeps at a time, at most


class FakeClock(Clock):
    """Starts at `start` (epoch s); `sleep` advances time and records the duration."""

    def __init__(self, start: float = 1_795_600_000.0) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += seconds

    def waited(self) -> float:
        """Total seconds slept so far."""
        return sum(self.sleeps)

    def run(self, source: Source) -> Iterator[Any]:
        """Iterate `source` as the runner does: after a None, wait what the source says
        nothing will come (`idle_s`), on this clock, a slice at a time."""
        iterator = iter(source)
        try:
            for item in iterator:
                yield item
                if item is None and (idle := source.idle_s()) > 0:
                    self.sleep(min(idle, SLICE_S))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
