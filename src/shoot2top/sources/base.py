"""What every source is: a stream of items that can report and restore its position.

Iterating yields streamable objects; a live source may also yield ``None`` to say
"nothing right now", so the runner can flush sinks whose batches aged out, and
`idle_s()` then says how long nothing will come: the runner (not the source) waits. After
each yield, ``snapshot()`` returns a JSON-able resume state covering exactly the items
yielded so far; a source built with that state continues after them.

The runners take items by ``next_batch``: what a source holds at once (a lake file's
items) crosses in one step, with the same resume guarantee after each batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from typing import Any

from shoot2top.posts import post_type

Item = dict[str, Any]


class Source(ABC):
    """A stream of items with checkpoint/resume."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bytes_read = 0
        self.bytes_total: int | None = None
        """What this run will read in all, when it is finite and known (a lake replay,
        once it has listed its files): progress shows a percentage and an ETA."""
        self.per_type: Counter[str] = Counter()
        """Items handed out by `next_batch`, per type key."""
        self._iteration: Iterator[Item | None] | None = None

    @abstractmethod
    def __iter__(self) -> Iterator[Item | None]: ...

    def next_batch(self, max_items: int) -> list[Item] | None:
        """Up to `max_items` items ready now: [] if none is (the runner may flush and
        wait), None at the end of input. `snapshot()` then covers exactly the items
        handed out so far. This one takes the next item of the iteration, so that a
        live source never holds an item back waiting for another; a source that holds
        its items in batches (a lake replay) hands out more at once. After
        `hand_out_encoded`, items may come as their stored JSON text (`codec.Buffer`)."""
        if self._iteration is None:
            self._iteration = iter(self)
        if max_items < 1:
            return []
        try:
            item = next(self._iteration)
        except StopIteration:
            return None
        if item is None:
            return []
        self.per_type[post_type(item)] += 1
        return [item]

    @abstractmethod
    def snapshot(self) -> dict[str, Any]:
        """Resume state after the last yielded item."""

    def hand_out_encoded(self) -> bool:
        """Asked by a runner whose every sink stores JSON text (`Sink.takes_encoded`):
        hand out items as their stored JSON text where that saves decoding them (they
        are validated as ever). True if this source will; this one hands out decoded
        items, which those sinks take too."""
        return False

    def idle_s(self) -> float:
        """After yielding None: how long the runner may wait before asking again, since
        nothing will come sooner (0: ask again soon)."""
        return 0.0

    def close(self) -> None:
        """Release connections and files."""

    def report(self) -> str:
        """One line on what the source has done, for the run summary."""
        return f"read {self.bytes_read:,} bytes"
