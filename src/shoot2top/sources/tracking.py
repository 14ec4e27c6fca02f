"""Which emitted items to observe again, and when: each video's performance over time.

A live source tracks every item it emits. Young items are re-read often, older ones
less (a decaying schedule of ``(until age, every)`` steps); an item older than the
tracking window is dropped. The tracker is the source's memory of what it has already
emitted, so a duplicate delivery of a tracked item is recognised, and its state is part
of the source's checkpoint so a restart keeps tracking.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from shoot2top.config import TrackingOptions


class RefreshStep(NamedTuple):
    """While an item is younger than `until_age_s`, re-read it every `every_s`."""

    until_age_s: float
    every_s: float


class RefreshTracker:
    """Tracked item ids with their publication time and next refresh time (epoch s).

    The schedule has no default here: a source's comes from its ``tracking``
    configuration (`TrackingOptions`, which holds the one default schedule)."""

    def __init__(
        self,
        schedule: Sequence[tuple[float, float]],
        *,
        max_items: int = 100_000,
    ) -> None:
        steps = [RefreshStep(*step) for step in schedule]
        if any(b.until_age_s <= a.until_age_s for a, b in pairwise(steps)):
            raise ValueError(f"refresh schedule ages must increase: {steps}")
        if any(step.every_s <= 0 for step in steps):
            raise ValueError(f"refresh intervals must be > 0: {steps}")
        self.schedule = steps
        self.window_s = steps[-1].until_age_s if steps else 0.0
        self.max_items = max_items
        self._published: dict[str, float] = {}
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    @classmethod
    def from_options(cls, options: TrackingOptions) -> RefreshTracker:
        """The tracker a source's ``tracking`` configuration describes."""
        return cls(options.steps_s(), max_items=options.max_items)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._published

    def __len__(self) -> int:
        return len(self._published)

    def interval(self, age_s: float) -> float | None:
        """How long until the next refresh of an item this old; None when past the window."""
        for step in self.schedule:
            if age_s < step.until_age_s:
                return step.every_s
        return None

    def track(self, item_id: str, published_at: float, now: float) -> bool:
        """Start tracking an item just observed; False if it was already tracked (a
        duplicate delivery) or is too old to track."""
        if item_id in self._published:
            return False
        every = self.interval(now - published_at)
        if every is None:
            return False
        if len(self._published) >= self.max_items:
            self._evict_oldest()
        self._published[item_id] = published_at
        self._schedule(item_id, now + every)
        return True

    def published_at(self, item_id: str) -> float | None:
        """A tracked item's publication time (epoch s), or None if it is not tracked."""
        return self._published.get(item_id)

    def due(self, now: float, limit: int) -> list[str]:
        """Up to `limit` tracked ids whose refresh is due, most overdue first; items past
        the window are dropped on the way. Call `refreshed` once they have been read."""
        found: list[str] = []
        while self._heap and len(found) < limit:
            when, item_id = self._heap[0]
            if when > now:
                break
            heapq.heappop(self._heap)
            if self._due.get(item_id) != when:
                continue  # a stale heap entry: rescheduled or dropped since
            if self.interval(now - self._published[item_id]) is None:
                self.forget(item_id)
                continue
            found.append(item_id)
            del self._due[item_id]
        return found

    def refreshed(self, item_id: str, now: float) -> None:
        """An item was re-read at `now`: schedule its next refresh, or drop it."""
        published = self._published.get(item_id)
        if published is None:
            return
        every = self.interval(now - published)
        if every is None:
            self.forget(item_id)
        else:
            self._schedule(item_id, now + every)

    def forget(self, item_id: str) -> None:
        """Stop tracking an item (deleted upstream, or past the window)."""
        self._published.pop(item_id, None)
        self._due.pop(item_id, None)

    def next_due(self) -> float | None:
        """When the earliest refresh is due (epoch s), or None with nothing tracked."""
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def snapshot(self) -> dict[str, Any]:
        return {
            item_id: [published, self._due.get(item_id)]
            for item_id, published in self._published.items()
        }

    def restore(self, state: dict[str, Any] | None, now: float) -> None:
        """Tracking state from a checkpoint; an item whose refresh was in flight when the
        checkpoint was taken is due again at once."""
        for item_id, (published, due) in (state or {}).items():
            if self.interval(now - published) is None:
                continue
            self._published[item_id] = published
            self._schedule(item_id, now if due is None else due)

    def _schedule(self, item_id: str, when: float) -> None:
        self._due[item_id] = when
        heapq.heappush(self._heap, (when, item_id))

    def _evict_oldest(self) -> None:
        """At capacity: drop the item tracked longest ago (dicts keep insertion order)."""
        self.forget(next(iter(self._published)))
