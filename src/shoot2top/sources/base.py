"""What every source is: an iterable of items that can report and restore its position.

Iterating yields streamable objects; a live source may also yield ``None`` to say
"nothing right now", so the runner can flush sinks whose batches aged out, and
`idle_s()` then says how long nothing will come: the runner (not the source) waits. After
each yield, ``snapshot()`` returns a JSON-able resume state covering exactly the items
yielded so far; a source built with that state continues after them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

Item = dict[str, Any]


class Source(ABC):
    """A stream of items with checkpoint/resume."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bytes_read = 0
        self.bytes_total: int | None = None
        """What this run will read in all, when it is finite and known (a lake replay,
        once it has listed its files): progress shows a percentage and an ETA."""

    @abstractmethod
    def __iter__(self) -> Iterator[Item | None]: ...

    @abstractmethod
    def snapshot(self) -> dict[str, Any]:
        """Resume state after the last yielded item."""

    def idle_s(self) -> float:
        """After yielding None: how long the runner may wait before asking again, since
        nothing will come sooner (0: ask again soon)."""
        return 0.0

    def close(self) -> None:
        """Release connections and files."""

    def report(self) -> str:
        """One line on what the source has done, for the run summary."""
        return f"read {self.bytes_read:,} bytes"
