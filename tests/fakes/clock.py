"""A clock whose sleeps are instant and recorded: backoff schedules checked in ms."""

from __future__ import annotations

from shoot2top.sources.live import Clock


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
