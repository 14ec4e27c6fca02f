"""Event time with a stated allowed lateness, and the markers that close time buckets.

One `EventClock` sees every item in arrival order (in-process: the stage; on Storm: the
one task the items pass before the terms are spread over detectors). Time is the item's
own ``created_at``, cut in buckets of `bucket_s`. The watermark is the newest item time
seen minus `lateness_s`: a bucket that ends at or before it is closed. An item of a
closed bucket is dropped and counted, never silently: as a `refresh` if its key was
counted before (a metric refresh of a tracked item: the keys of closed buckets go into a
bounded `KeyFilter`), else as `late` (a new item that came too late). An item key seen
before in an open bucket (an at-least-once redelivery, an early refresh) is counted as a
duplicate and adds neither volume nor traffic.

When buckets close, `advance` gives one `Watermark` marker for them, carrying each
closed bucket's platform-wide traffic (distinct items per platform): every detector,
whatever terms it holds, corrects for platform-wide surges with the same figures. The
marker also carries the allowed lateness, so a detector can say at what event time it
decided: a bucket closes when an item at or after its end + the lateness arrives
(`Watermark.decided_at`), whatever the replay's pace, batching or partitioning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from shoot2top.analytics.sketch import KeyFilter

SNAPSHOT_VERSION = 2
LATENESS_S = 300.0  # the allowed lateness by default (docs/trends.md: why 5 minutes)


@dataclass(frozen=True, slots=True)
class Watermark:
    """Buckets starting before `closed_until` are closed; `traffic` holds the newly
    closed ones in time order: (bucket start, ((platform, distinct items), ...))."""

    bucket_s: int
    closed_until: float
    traffic: tuple[tuple[float, tuple[tuple[str, int], ...]], ...]
    final: bool = False  # the end of input: every bucket is closed
    lateness_s: float = 0.0  # of the clock that closed them

    def decided_at(self, start: float) -> float:
        """The event time at which the bucket starting at `start` closes: the first
        item time whose watermark (that time minus the lateness) passes its end. The
        final marker closes the last buckets earlier (the input ended); their decision
        time is still this one, the time a stream that went on would have decided."""
        return start + self.bucket_s + self.lateness_s

    def to_record(self) -> dict[str, Any]:
        return {
            "bucket_s": self.bucket_s,
            "closed_until": self.closed_until,
            "traffic": [[start, [list(p) for p in counts]] for start, counts in self.traffic],
            "final": self.final,
            "lateness_s": self.lateness_s,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Watermark:
        traffic = tuple(
            (float(start), tuple((str(p), int(n)) for p, n in counts))
            for start, counts in record["traffic"]
        )
        return cls(
            int(record["bucket_s"]),
            float(record["closed_until"]),
            traffic,
            bool(record.get("final", False)),
            float(record.get("lateness_s", 0.0)),
        )


class EventClock:
    """Decides, per item in arrival order, whether it counts; closes buckets."""

    def __init__(self, bucket_s: int = 300, lateness_s: float = LATENESS_S) -> None:
        if bucket_s <= 0 or lateness_s < 0:
            raise ValueError(
                f"bucket_s must be > 0 and lateness_s >= 0, got {bucket_s}, {lateness_s}"
            )
        self.bucket_s = int(bucket_s)
        self.lateness_s = float(lateness_s)
        self.max_at = -math.inf
        self.closed_until: float | None = None  # None: nothing closed yet
        self.emitted_until: float | None = None  # markers given up to here
        self._keys: dict[float, set[str]] = {}  # open bucket -> item keys counted in it
        self._traffic: dict[float, dict[str, int]] = {}
        self.counted = KeyFilter()  # keys counted in closed buckets (a refresh's)
        self.admitted = 0
        self.duplicates = 0
        self.late = 0  # new items of a closed bucket
        self.refreshes = 0  # items counted before, seen again after their bucket closed

    def bucket(self, at: float) -> float:
        return math.floor(at / self.bucket_s) * self.bucket_s

    def admit(self, item_key: str, platform: str, at: float) -> bool:
        """Whether this item's terms count: True once per item key, while its bucket is
        open; False for a duplicate, a late item or a late refresh (counted)."""
        if at > self.max_at:
            self.max_at = at
            until = self.bucket(at - self.lateness_s)
            if self.closed_until is None or until > self.closed_until:
                self.closed_until = until
        start = self.bucket(at)
        if self.closed_until is not None and start < self.closed_until:
            if item_key in self.counted or item_key in self._keys.get(start, ()):
                self.refreshes += 1
            else:
                self.late += 1
            return False
        keys = self._keys.get(start)
        if keys is None:
            keys = self._keys[start] = set()
            self._traffic[start] = {}
        elif item_key in keys:
            self.duplicates += 1
            return False
        keys.add(item_key)
        counts = self._traffic[start]
        counts[platform] = counts.get(platform, 0) + 1
        self.admitted += 1
        return True

    def advance(self) -> Watermark | None:
        """A marker for the buckets closed since the last one, or None."""
        if self.closed_until is None:
            return None
        if self.emitted_until is not None and self.closed_until <= self.emitted_until:
            return None
        if self.emitted_until is None and self.closed_until <= min(self._keys, default=math.inf):
            # Nothing with items closes yet: a first marker now would start the detectors'
            # time (their warm-up) at a bucket that depends on how items were batched.
            return None
        return self._close(self.closed_until, final=False)

    def finish(self) -> Watermark:
        """The end of input: a final marker closing every bucket."""
        until = max(self._keys, default=self.closed_until or 0.0) + self.bucket_s
        until = max(until, self.emitted_until or -math.inf)
        self.closed_until = until
        return self._close(until, final=True)

    def _close(self, until: float, *, final: bool) -> Watermark:
        first = self.emitted_until
        if first is None:  # the first marker starts at the first bucket with items
            first = min(self._keys, default=until)
        traffic = []
        start = first
        while start < until:
            self.counted.add_all(self._keys.pop(start, ()))
            counts = self._traffic.pop(start, {})
            traffic.append((start, tuple(sorted(counts.items()))))
            start += self.bucket_s
        self.emitted_until = until
        return Watermark(self.bucket_s, until, tuple(traffic), final, self.lateness_s)

    def counters(self) -> dict[str, int]:
        return {
            "admitted": self.admitted,
            "duplicates": self.duplicates,
            "late": self.late,
            "refreshes": self.refreshes,
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "bucket_s": self.bucket_s,
            "lateness_s": self.lateness_s,
            "max_at": None if self.max_at == -math.inf else self.max_at,
            "closed_until": self.closed_until,
            "emitted_until": self.emitted_until,
            "open": [
                [start, sorted(keys), self._traffic[start]]
                for start, keys in sorted(self._keys.items())
            ],
            "counted": self.counted.to_record(),
            "counters": self.counters(),
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any]) -> EventClock:
        if isinstance(snapshot, dict) and snapshot.get("version") == 1:  # no key filter
            snapshot = {**snapshot, "version": SNAPSHOT_VERSION, "counted": None,
                        "counters": {**snapshot["counters"], "refreshes": 0}}  # fmt: skip
        check_snapshot(snapshot, SNAPSHOT_VERSION, "event clock")
        clock = cls(snapshot["bucket_s"], snapshot["lateness_s"])
        clock.max_at = -math.inf if snapshot["max_at"] is None else snapshot["max_at"]
        clock.closed_until = snapshot["closed_until"]
        clock.emitted_until = snapshot["emitted_until"]
        for start, keys, traffic in snapshot["open"]:
            clock._keys[float(start)] = set(keys)
            clock._traffic[float(start)] = dict(traffic)
        counters = snapshot["counters"]
        clock.admitted, clock.duplicates = counters["admitted"], counters["duplicates"]
        clock.late, clock.refreshes = counters["late"], counters["refreshes"]
        if snapshot["counted"] is not None:
            clock.counted = KeyFilter.from_record(snapshot["counted"])
        return clock


def check_snapshot(snapshot: Any, version: int, what: str) -> None:
    """`ValueError` naming `what` unless `snapshot` is a mapping of that version."""
    got = snapshot.get("version") if isinstance(snapshot, dict) else type(snapshot).__name__
    if got != version:
        raise ValueError(f"{what} snapshot version {got!r} is not {version}")
