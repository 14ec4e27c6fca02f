"""Trend detection spread over tasks as the Storm topology spreads it: one clock task,
detector tasks by term, markers to all and min-merged. The events equal the in-process
stage's, with any number of detector tasks, with two upstream clocks, and when a task is
killed and restored from its state file while the unacked items are sent again."""

from __future__ import annotations

import functools
import json
import zlib
from pathlib import Path

import pytest

from shoot2top.analytics.events import TrendEvent
from shoot2top.analytics.stage import TrendStage
from shoot2top.analytics.tasks import (
    ClockTask,
    DetectorTask,
    EventFilter,
    WatermarkMerge,
    state_file,
)
from shoot2top.analytics.watermark import LATENESS_S, EventClock, Watermark
from shoot2top.sample.generate import generate_items

BATCH = 250


@functools.cache
def sample() -> list[dict]:
    return generate_items(items=12000)


def records(events: list[TrendEvent]) -> list[dict]:
    return sorted((e.to_record() for e in events), key=lambda r: json.dumps(r, sort_keys=True))


@functools.cache
def in_process() -> str:
    stage = TrendStage()
    items = sample()
    events = []
    for start in range(0, len(items), BATCH):
        events += stage.process(items[start : start + BATCH])
    return json.dumps(records(events + stage.finish()))


class Topology:
    """The topology's tasks in one process: clock → detectors by term hash."""

    def __init__(self, tmp: Path, detectors: int) -> None:
        self.tmp, self.count = tmp, detectors
        self.clock = ClockTask.open(
            state_file(tmp, "terms", 0), bucket_s=300, lateness_s=LATENESS_S
        )
        self.detectors = [self.detector(i) for i in range(detectors)]
        self.events: list[TrendEvent] = []

    def detector(self, index: int) -> DetectorTask:
        return DetectorTask.open(state_file(self.tmp, "detect", index), ["t0"])

    def feed(self, items: list[dict]) -> None:
        out = self.clock.process(items)
        for use in out.uses:
            self.detectors[zlib.crc32(use.term.encode()) % self.count].add(use)
        self.clock.save()
        if out.watermark is not None:
            self.mark(out.watermark)

    def mark(self, watermark: Watermark) -> None:
        for task in self.detectors:
            events = task.offer("t0", watermark)
            if events is not None:
                self.events += events
                task.save()


@pytest.mark.slow
@pytest.mark.parametrize("detectors", [1, 2, 4])
def test_tasks_give_the_in_process_events(tmp_path, detectors) -> None:
    topology = Topology(tmp_path, detectors)
    items = sample()
    for start in range(0, len(items), BATCH):
        topology.feed(items[start : start + BATCH])
    topology.mark(topology.clock.finish())
    assert topology.events
    assert json.dumps(records(topology.events)) == in_process()


@pytest.mark.slow
def test_a_restored_detector_with_redelivered_items_gives_the_clean_events(tmp_path) -> None:
    """Detector 1 dies after the middle: its unsaved uses are lost; the items it had not
    acked (those since its last save) come again; the events are the clean run's."""
    topology = Topology(tmp_path, 2)
    items = sample()
    unacked: list[dict] = []
    half = len(items) // 2
    for start in range(0, half, BATCH):
        batch = items[start : start + BATCH]
        before = json.dumps(topology.detectors[1].snapshot())
        topology.feed(batch)
        saved = json.dumps(topology.detectors[1].snapshot()) != before
        unacked = [] if saved else unacked + batch
    topology.detectors[1] = topology.detector(1)  # killed: back from its state file
    out = topology.clock.process(unacked)  # redelivered: counted items forwarded again
    for use in out.uses:
        if zlib.crc32(use.term.encode()) % 2 == 1:
            topology.detectors[1].add(use)
    topology.mark(topology.clock.resume())  # type: ignore[arg-type]
    for start in range(half, len(items), BATCH):
        topology.feed(items[start : start + BATCH])
    topology.mark(topology.clock.finish())
    fresh = EventFilter()
    kept = [e for e in topology.events if fresh.fresh(e.to_record())]
    assert json.dumps(records(kept)) == in_process()


@pytest.mark.slow
def test_a_restored_clock_forwards_redelivered_items_and_repeats_its_marker(tmp_path) -> None:
    items = sample()[:3000]
    clock = ClockTask.open(tmp_path / "c.json", bucket_s=300, lateness_s=LATENESS_S)
    first = clock.process(items)
    clock.save()
    again = ClockTask.open(tmp_path / "c.json", bucket_s=300, lateness_s=LATENESS_S)
    assert again.resume() == first.watermark or first.watermark is None
    recent = items[-200:]  # unacked at the kill: within the kept buckets
    out = again.process(recent)
    keys = {use.item_key for use in out.uses}
    uses = {use for use in first.uses if use.item_key in keys}
    assert out.uses and set(out.uses) == uses  # forwarded again for a detector that lost them
    assert again.clock.admitted == clock.clock.admitted  # but no volume counted twice


def test_merge_waits_for_every_upstream_task_and_sums_their_traffic() -> None:
    merge = WatermarkMerge(["a", "b"])
    a = Watermark(300, 900.0, ((300.0, (("x", 2),)), (600.0, (("x", 1),))))
    b = Watermark(300, 600.0, ((300.0, (("x", 3), ("y", 1))),))
    assert merge.offer("a", a) is None  # b has said nothing yet
    merged = merge.offer("b", b)
    assert merged == Watermark(300, 600.0, ((300.0, (("x", 5), ("y", 1))),))
    assert merge.offer("b", b) is None  # no progress
    merged = merge.offer("b", Watermark(300, 1200.0, ((600.0, (("y", 4),)),)))
    assert merged == Watermark(300, 900.0, ((600.0, (("x", 1), ("y", 4))),))


def test_markers_carry_the_lateness_through_records_repeats_and_merges(tmp_path) -> None:
    """A detector task's `detected_at` is bucket end + the clock's lateness: the marker
    must carry it through JSON (Storm), a restored clock's repeat and the merge."""
    marker = Watermark(300, 900.0, ((600.0, (("x", 2),)),), lateness_s=120.0)
    assert Watermark.from_record(json.loads(json.dumps(marker.to_record()))) == marker
    assert marker.decided_at(600.0) == 600.0 + 300 + 120
    clock = ClockTask(EventClock(300, 120))
    out = clock.process(sample()[:3000])
    assert out.watermark is not None and out.watermark.lateness_s == 120.0
    assert clock.resume() is not None and clock.resume().lateness_s == 120.0
    merge = WatermarkMerge(["a"])
    merged = merge.offer("a", marker)
    assert merged is not None and merged.lateness_s == 120.0


@pytest.mark.slow
def test_two_upstream_clocks_merged_give_the_single_clock_events(tmp_path) -> None:
    """Items split over two clocks by item key (each sees its share in order): the
    detectors' merged markers carry the same traffic as one clock's."""
    items = sample()
    one = EventClock(300, 10**9)
    detector = DetectorTask.open(tmp_path / "one.json", ["0"])
    split = DetectorTask.open(tmp_path / "two.json", ["0", "1"])
    clocks = [EventClock(300, 10**9), EventClock(300, 10**9)]
    from shoot2top.analytics.terms import read_item

    for item in items:
        key, platform, at, uses = read_item(item)
        if one.admit(key, platform, at):
            for use in uses:
                detector.add(use)
        if clocks[zlib.crc32(key.encode()) % 2].admit(key, platform, at):
            for use in uses:
                split.add(use)
    expected = detector.offer("0", one.finish()) or []
    got = (split.offer("0", clocks[0].finish()) or []) + (
        split.offer("1", clocks[1].finish()) or []
    )
    assert got and records(got) == records(expected)


def test_a_marker_from_an_unknown_task_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="task c, not an upstream task"):
        WatermarkMerge(["a"]).offer("c", Watermark(300, 0.0, ()))


def test_a_bad_state_file_is_named(tmp_path) -> None:
    path = tmp_path / "trends-detect-0.json"
    path.write_text("{")
    with pytest.raises(ValueError, match=r"trends-detect-0\.json"):
        DetectorTask.open(path, ["a"])


def _event(term: str, hour: float) -> dict:
    at = EventClock().bucket(1_795_132_800 + hour * 3600)
    return TrendEvent(term, "hashtag", "all", at, at + 600, at, None, 9, 1.0, 5.0, 3, (),
                      "signitrend").to_record()  # fmt: skip


def test_the_event_filter_drops_repeats_and_forgets_events_past_its_horizon() -> None:
    """Bounded: the filter keeps only the last `horizon_s` of event time."""
    fresh = EventFilter(horizon_s=2 * 3600)
    assert fresh.fresh(_event("a", 0)) and not fresh.fresh(_event("a", 0))
    for hour in range(1, 200):
        assert fresh.fresh(_event(f"t{hour}", hour))
        assert not fresh.fresh(_event(f"t{hour}", hour))  # a repeat, while remembered
    assert len(fresh.seen) <= 3 and len(fresh._by_time[None]) <= 3  # not 200
    assert fresh.fresh(_event("a", 0))  # forgotten long ago: passes again (at least once)
    with pytest.raises(ValueError, match="not ISO 8601"):
        fresh.fresh({**_event("b", 0), "detected_at": "yesterday"})


def test_a_detector_far_ahead_does_not_make_a_restored_ones_repeats_pass() -> None:
    """Each detector task has its own horizon: task 2 days ahead in event time (sparse
    data, a wide pending window) must not evict what task 1 may repeat after a restore."""
    fresh = EventFilter(horizon_s=24 * 3600)
    assert fresh.fresh(_event("slow", 0), source=1)
    for hour in range(1, 72):
        assert fresh.fresh(_event(f"fast{hour}", hour), source=2)
    assert not fresh.fresh(_event("slow", 0), source=1)  # restored task 1 repeats: dropped
    assert len(fresh._by_time[2]) <= 25  # the fast task's memory stays bounded
