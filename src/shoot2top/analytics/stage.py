"""The trends stage in-process: items in (any batch sizes), trend events out.

It composes what the Storm topology spreads over tasks: `term_uses` per item, one
`EventClock` over all items in arrival order, `TrendDetector`s fed the uses and every
marker. `partitions` > 1 splits the terms' shards (`sketch.shard_of`) over detectors,
as Storm's fields grouping on the shard does, to show the events do not depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shoot2top.analytics.detector import DetectorOptions, TrendDetector
from shoot2top.analytics.events import TrendEvent, emission_order
from shoot2top.analytics.sketch import shard_of
from shoot2top.analytics.terms import KINDS, ItemReader, TermUse
from shoot2top.analytics.watermark import LATENESS_S, EventClock, Watermark, check_snapshot

SNAPSHOT_VERSION = 1


def publisher_of(uses: Sequence[TermUse]) -> str:
    return uses[0].publisher if uses else ""


def partition_of(term: str, partitions: int) -> int:
    """A stable partition of a term: of its shard, so a partition holds whole shards."""
    return shard_of(term) % partitions


class TrendStage:
    """Trend detection over a stream of streamable objects."""

    def __init__(
        self,
        options: DetectorOptions | None = None,
        *,
        lateness_s: float = LATENESS_S,
        kinds: Sequence[str] = KINDS,
        partitions: int = 1,
    ) -> None:
        self.options = options or DetectorOptions()
        unknown = [kind for kind in kinds if kind not in KINDS]
        if unknown:
            raise ValueError(f"unknown term kind {unknown[0]!r}: use {', '.join(KINDS)}")
        self.kinds = tuple(kinds)
        self.clock = EventClock(self.options.bucket_s, lateness_s)
        self.detectors = [TrendDetector(self.options) for _ in range(partitions)]
        self.reader = ItemReader()

    def process(self, items: Sequence[Mapping[str, Any]]) -> list[TrendEvent]:
        """Count a batch of items; the events of the buckets it closes."""
        detectors, clock, kinds = self.detectors, self.clock, self.kinds
        count = len(detectors)
        for key, platform, at, uses in self.reader.read(items):
            if not clock.admit(key, platform, at):
                continue
            terms = [(use.term, use.kind) for use in uses if use.kind in kinds]
            if count == 1:
                detectors[0].add_item(key, platform, publisher_of(uses), at, terms)
                continue
            parts: dict[int, list[tuple[str, str]]] = {}
            for term in terms:
                parts.setdefault(partition_of(term[0], count), []).append(term)
            for part, some in parts.items():
                detectors[part].add_item(key, platform, publisher_of(uses), at, some)
        return self._advance(clock.advance())

    def finish(self) -> list[TrendEvent]:
        """The end of input: the events of closing every bucket. They are decided on a
        copy: this stage (its snapshot: `shoot2top ingest` checkpoints after the end of
        its input) keeps its last buckets open, so a run resumed from it with more
        items counts theirs, as one run over all of them would, instead of dropping
        them as late."""
        final = TrendStage.restore(self.snapshot())
        events = final._advance(final.clock.finish())
        for detector in final.detectors:
            events.extend(detector.finish())
        return events

    def _advance(self, watermark: Watermark | None) -> list[TrendEvent]:
        if watermark is None:
            return []
        events = [event for d in self.detectors for event in d.advance(watermark)]
        events.sort(key=emission_order)
        return events

    @property
    def invalid(self) -> int:
        return self.reader.invalid

    def counters(self) -> dict[str, int]:
        return {**self.clock.counters(), "invalid": self.invalid}

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "kinds": list(self.kinds),
            "invalid": self.invalid,
            "clock": self.clock.snapshot(),
            "detectors": [detector.snapshot() for detector in self.detectors],
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any]) -> TrendStage:
        check_snapshot(snapshot, SNAPSHOT_VERSION, "trend stage")
        stage = cls.__new__(cls)
        stage.kinds = tuple(snapshot["kinds"])
        stage.reader = ItemReader(snapshot["invalid"])
        stage.clock = EventClock.restore(snapshot["clock"])
        stage.detectors = [TrendDetector.restore(d) for d in snapshot["detectors"]]
        stage.options = stage.detectors[0].options
        return stage
