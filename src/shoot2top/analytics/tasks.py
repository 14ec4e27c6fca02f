"""Trend detection spread over tasks (the Storm topology), with restorable state.

No Storm code here; the bolts in ``src/bolts/trends.py`` only move tuples. Three roles:

- `ClockTask` (the terms bolt; one task sees every item in arrival order): admits items
  through an `EventClock`, gives each forwarded item's term uses and the `Watermark`
  markers. It keeps the keys and traffic of the last `history_buckets` closed buckets, so
  that (1) an item redelivered after a detector lost it is forwarded again (a first-seen
  late item is still dropped), and (2) every marker repeats the traffic of those recent
  buckets: a restored detector closes the buckets it had not closed yet, one that had
  skips them (`TrendDetector.advance` skips again-seen buckets).
- `WatermarkMerge` (in each detector task): the minimum watermark over all upstream
  tasks, with their traffic summed per bucket; a marker passes only when the minimum
  advances (tuples between two tasks arrive in order).
- `DetectorTask`: a `TrendDetector` fed term uses and merged markers; its snapshot is
  saved after each advance, and the adapter acks the tuples it held only then, so what
  the snapshot lacks is redelivered (at-least-once) and what it holds is counted once
  (the detector counts distinct item keys).

Restore strategy (docs/storm.md): checkpoint. A task's state file lives in the
pipeline's state directory, ``trends-<component>-<task index>.json``; a restarted task
resumes from it, the spouts resend what was not acked, and the events are the clean
run's. `EventFilter` drops an event a restarted detector gives again (the warehouse
upsert is idempotent anyway).
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shoot2top.analytics.detector import TrendDetector
from shoot2top.analytics.events import TrendEvent
from shoot2top.analytics.terms import KINDS, ItemReader, TermUse
from shoot2top.analytics.watermark import EventClock, Watermark
from shoot2top.runtime.state import replace_file

SNAPSHOT_VERSION = 1
HISTORY_BUCKETS = 36  # 3 h of 5-minute buckets: longer than a worker restart's gap
EVENT_HORIZON_S = 86_400.0  # EventFilter: a day of event time, far past any repeat

Traffic = tuple[tuple[float, tuple[tuple[str, int], ...]], ...]


def state_file(directory: str | Path, component: str, task: int) -> Path:
    """Where a trends task keeps its snapshot."""
    return Path(directory) / f"trends-{component}-{task}.json"


def load_snapshot(path: Path) -> dict[str, Any] | None:
    """A task's saved snapshot, None if there is none; an error names a bad file."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        snapshot = json.loads(text)
    except ValueError as error:
        raise ValueError(f"trends task state {path} is not JSON: {error}") from error
    if not isinstance(snapshot, dict) or snapshot.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"trends task state {path} is not version {SNAPSHOT_VERSION}")
    return snapshot


def save_snapshot(path: Path, snapshot: Mapping[str, Any]) -> None:
    replace_file(path, json.dumps(snapshot, separators=(",", ":")).encode())


@dataclass
class Forward:
    """What the clock task gives for a batch of items."""

    uses: list[TermUse] = field(default_factory=list)
    watermark: Watermark | None = None


class ClockTask:
    """The event clock of the terms task, restorable, with recent closed buckets kept."""

    def __init__(
        self,
        clock: EventClock,
        *,
        kinds: Sequence[str] = KINDS,
        history_buckets: int = HISTORY_BUCKETS,
        path: Path | None = None,
    ) -> None:
        self.clock = clock
        self.kinds = tuple(kinds)
        self.history_buckets = history_buckets
        self.path = path
        self.keys: dict[float, set[str]] = {}  # open and recently closed buckets' items
        self.history: dict[float, tuple[tuple[str, int], ...]] = {}  # closed: traffic
        self.last: Watermark | None = None
        self.reader = ItemReader()

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        bucket_s: int,
        lateness_s: float,
        kinds: Sequence[str] = KINDS,
        history_buckets: int = HISTORY_BUCKETS,
    ) -> ClockTask:
        """The task as saved at `path`, or a new one."""
        snapshot = load_snapshot(path)
        if snapshot is None:
            clock = EventClock(bucket_s, lateness_s)
            return cls(clock, kinds=kinds, history_buckets=history_buckets, path=path)
        task = cls(EventClock.restore(snapshot["clock"]), kinds=kinds,
                   history_buckets=history_buckets, path=path)  # fmt: skip
        task.keys = {float(start): set(keys) for start, keys in snapshot["keys"]}
        task.history = {
            float(start): tuple((str(p), int(n)) for p, n in counts)
            for start, counts in snapshot["history"]
        }
        task.reader = ItemReader(snapshot["invalid"])
        if snapshot["last"] is not None:
            task.last = Watermark.from_record(snapshot["last"])
        return task

    def resume(self) -> Watermark | None:
        """After a restore: the last marker again (it may not have reached everyone)."""
        return self._repeat(self.last) if self.last is not None else None

    def process(self, items: Iterable[Mapping[str, Any]]) -> Forward:
        """The term uses to forward and the marker (if the watermark moved); the caller
        emits them, then calls `save` before acking the items it holds."""
        out = Forward()
        clock = self.clock
        for key, platform, at, uses in self.reader.read(items):
            start = clock.bucket(at)
            dropped = clock.late, clock.refreshes
            if clock.admit(key, platform, at):
                self.keys.setdefault(start, set()).add(key)
            elif (clock.late, clock.refreshes) != dropped:
                if key not in self.keys.get(start, ()):
                    continue  # late, or a refresh after its bucket closed: dropped for good
                clock.late, clock.refreshes = dropped  # a redelivery of a counted item
                clock.duplicates += 1
            out.uses.extend(use for use in uses if use.kind in self.kinds)
        out.watermark = self._marker(clock.advance())
        if out.watermark is None and out.uses and self.last is not None and self.last.final:
            out.watermark = self._repeat(self.last)  # redelivered after the end: close again
        return out

    def finish(self) -> Watermark:
        """The end of input: a final marker closing every bucket."""
        marker = self._marker(self.clock.finish())
        assert marker is not None
        return marker

    def _marker(self, watermark: Watermark | None) -> Watermark | None:
        if watermark is None:
            return None
        for start, counts in watermark.traffic:
            self.history[start] = counts
        for start in sorted(self.history)[: -self.history_buckets or None]:
            del self.history[start]
            self.keys.pop(start, None)
        self.last = watermark
        return self._repeat(watermark)

    def _repeat(self, watermark: Watermark) -> Watermark:
        """The marker with the traffic of every kept closed bucket."""
        traffic = tuple(sorted(self.history.items()))
        return Watermark(watermark.bucket_s, watermark.closed_until, traffic, watermark.final,
                         watermark.lateness_s)  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "clock": self.clock.snapshot(),
            "keys": [[start, sorted(keys)] for start, keys in sorted(self.keys.items())],
            "history": [
                [start, [list(c) for c in counts]] for start, counts in sorted(self.history.items())
            ],
            "last": None if self.last is None else self.last.to_record(),
            "invalid": self.reader.invalid,
        }

    def save(self) -> None:
        if self.path is not None:
            save_snapshot(self.path, self.snapshot())


class WatermarkMerge:
    """The minimum watermark over upstream tasks, their traffic summed per bucket."""

    def __init__(self, upstream: Iterable[Any]) -> None:
        self.upstream = {str(task) for task in upstream}
        if not self.upstream:
            raise ValueError("a watermark merge needs at least one upstream task")
        self.marks: dict[str, Watermark] = {}
        self.traffic: dict[float, dict[str, dict[str, int]]] = {}  # bucket -> task -> counts
        self.merged_until: float | None = None

    def offer(self, task: Any, watermark: Watermark) -> Watermark | None:
        """The merged marker if `watermark` from `task` moves the minimum, else None."""
        task = str(task)
        if task not in self.upstream:
            raise ValueError(f"watermark from task {task}, not an upstream task "
                             f"({', '.join(sorted(self.upstream))})")  # fmt: skip
        self.marks[task] = watermark
        for start, counts in watermark.traffic:
            if self.merged_until is None or start >= self.merged_until:
                self.traffic.setdefault(start, {})[task] = dict(counts)
        if len(self.marks) < len(self.upstream):
            return None
        final = all(mark.final for mark in self.marks.values())
        untils = [mark.closed_until for mark in self.marks.values()]
        until = max(untils) if final else min(untils)  # at the end, every bucket closes
        if self.merged_until is not None and until <= self.merged_until:
            return None
        traffic = []
        for start in sorted(self.traffic):
            if start >= until:
                break
            summed: dict[str, int] = {}
            for task_counts in self.traffic.pop(start).values():
                for platform, n in task_counts.items():
                    summed[platform] = summed.get(platform, 0) + n
            traffic.append((start, tuple(sorted(summed.items()))))
        self.merged_until = until
        bucket_s = next(iter(self.marks.values())).bucket_s
        lateness_s = max(mark.lateness_s for mark in self.marks.values())
        return Watermark(bucket_s, until, tuple(traffic), final, lateness_s)

    def snapshot(self) -> dict[str, Any]:
        return {
            "marks": {task: mark.to_record() for task, mark in sorted(self.marks.items())},
            "traffic": [[start, tasks] for start, tasks in sorted(self.traffic.items())],
            "merged_until": self.merged_until,
        }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        self.marks = {
            task: Watermark.from_record(mark)
            for task, mark in snapshot["marks"].items()
            if task in self.upstream
        }
        self.traffic = {float(start): tasks for start, tasks in snapshot["traffic"]}
        self.merged_until = snapshot["merged_until"]


class DetectorTask:
    """One detector task: term uses in, upstream markers merged, snapshot per advance."""

    def __init__(
        self, detector: TrendDetector, upstream: Iterable[Any], path: Path | None = None
    ) -> None:
        self.detector = detector
        self.merge = WatermarkMerge(upstream)
        self.path = path

    @classmethod
    def open(cls, path: Path, upstream: Iterable[Any], **options: Any) -> DetectorTask:
        """The task as saved at `path`, or a new one with these detector options."""
        snapshot = load_snapshot(path)
        if snapshot is None:
            return cls(TrendDetector(**options), upstream, path)
        task = cls(TrendDetector.restore(snapshot["detector"]), upstream, path)
        task.merge.restore(snapshot["merge"])
        return task

    def add(self, use: TermUse) -> None:
        self.detector.add(use)

    def offer(self, task: Any, watermark: Watermark) -> list[TrendEvent] | None:
        """The events if the merged watermark advanced (then emit them, `save`, and ack
        what was held), else None."""
        merged = self.merge.offer(task, watermark)
        if merged is None:
            return None
        events = self.detector.advance(merged)
        if merged.final:
            events.extend(self.detector.finish())
        return events

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "detector": self.detector.snapshot(),
            "merge": self.merge.snapshot(),
        }

    def save(self) -> None:
        if self.path is not None:
            save_snapshot(self.path, self.snapshot())


class EventFilter:
    """Passes each distinct event record once (a restored detector may repeat some),
    remembering records for `horizon_s` of event time only: bounded memory.

    A restored detector repeats the events of the markers since its last save, whose
    event time (`ended_at`, else `detected_at`) is recent *for that detector*; so the
    horizon is kept per emitting task (`source`): other tasks running ahead in event time
    never make a slow or restored one's events forgotten. A record older than its source's
    newest minus the horizon is forgotten, and if it came again it would pass again (at
    least once: the sinks upsert on the event's identity)."""

    def __init__(self, horizon_s: float = EVENT_HORIZON_S) -> None:
        if horizon_s <= 0:
            raise ValueError(f"event filter horizon_s must be > 0, got {horizon_s}")
        self.horizon_s = horizon_s
        self.seen: set[str] = set()
        self.newest: dict[Hashable, float] = {}
        self._by_time: dict[Hashable, list[tuple[float, str]]] = {}  # heaps per source

    def fresh(self, record: Mapping[str, Any], source: Hashable = None) -> bool:
        text = json.dumps(record, sort_keys=True)
        if text in self.seen:
            return False
        moment = _epoch(record.get("ended_at") or record["detected_at"])
        newest = self.newest[source] = max(self.newest.get(source, -math.inf), moment)
        horizon = newest - self.horizon_s
        remembered = self._by_time.setdefault(source, [])
        while remembered and remembered[0][0] < horizon:
            self.seen.discard(heapq.heappop(remembered)[1])
        if moment >= horizon:
            self.seen.add(text)
            heapq.heappush(remembered, (moment, text))
        return True


def _epoch(value: Any) -> float:
    """An event record's time (ISO 8601 UTC, as `TrendEvent.to_record` writes it)."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError as error:
        raise ValueError(f"trend event time {value!r} is not ISO 8601: {error}") from None
