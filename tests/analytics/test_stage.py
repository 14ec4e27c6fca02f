"""The in-process trends stage on the sample lake: the planted trends are found, and the
events do not depend on batch sizes, partitions or a snapshot/restore mid-stream."""

from __future__ import annotations

import functools
import json
import zlib

import pytest

from factories import at, tweet
from shoot2top.analytics.detector import DetectorOptions
from shoot2top.analytics.stage import TrendStage
from shoot2top.sample.generate import generate_items
from shoot2top.sample.trends import planted_trends


@functools.cache
def sample() -> list[dict]:
    return generate_items(items=12000)


def run(stage: TrendStage, items: list[dict], batch: int) -> list[dict]:
    events = []
    for start in range(0, len(items), batch):
        events += stage.process(items[start : start + batch])
    events += stage.finish()
    return sorted((e.to_record() for e in events), key=lambda r: json.dumps(r, sort_keys=True))


@pytest.mark.slow
def test_the_planted_trends_are_found_with_onset_near_the_truth() -> None:
    events = run(TrendStage(), sample(), 500)
    found = {(r["term"], r["kind"]): r for r in events if r["scope"] == "all"}
    for trend in planted_trends():
        record = found[(trend.term, trend.kind)]
        onset = record["onset_at"]
        assert abs(_epoch(onset) - trend.start.timestamp()) <= 900, (trend, record)
        assert _epoch(record["detected_at"]) - trend.start.timestamp() <= 1200


@pytest.mark.slow
def test_events_do_not_depend_on_batch_sizes_or_partitions() -> None:
    one = run(TrendStage(), sample(), len(sample()))
    assert one
    for batch, partitions in ((1, 1), (7, 2), (500, 4)):
        assert run(TrendStage(partitions=partitions), sample(), batch) == one


@pytest.mark.slow
def test_snapshot_and_restore_mid_stream_gives_the_same_events() -> None:
    items = sample()
    whole = run(TrendStage(partitions=2), items, 300)
    stage = TrendStage(partitions=2)
    events = []
    for start in range(0, len(items) // 2, 300):
        events += stage.process(items[start : start + 300])
    snapshot = json.loads(json.dumps(stage.snapshot()))  # JSON all the way
    restored = TrendStage.restore(snapshot)
    events += restored.process(items[len(items) // 2 :]) + restored.finish()
    records = [e.to_record() for e in events]
    assert sorted(records, key=lambda r: json.dumps(r, sort_keys=True)) == whole


@pytest.mark.slow
def test_a_partition_sees_exactly_its_terms_events() -> None:
    whole = run(TrendStage(), sample(), 1000)
    split = TrendStage(partitions=4)
    for start in range(0, len(sample()), 1000):
        split.process(sample()[start : start + 1000])
    split.finish()  # each detector alone must hold only its terms' trends
    for index, detector in enumerate(split.detectors):
        for key in detector._states:
            assert zlib.crc32(key[2].encode()) % 4 == index
    assert whole


def test_unknown_kind_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown term kind 'emoji'"):
        TrendStage(kinds=["hashtag", "emoji"])


OVERFLOW = DetectorOptions(exact_room=2, promoted_room=2, sketch_width=64, sketch_depth=2)


@pytest.mark.slow  # six whole runs of the sample; the next test keeps sketches in the loop
def test_with_the_sketches_in_use_events_do_not_depend_on_partitions_or_batches() -> None:
    one = TrendStage(OVERFLOW)
    whole = run(one, sample(), len(sample()))
    assert whole and one.detectors[0].sketched > 1000  # the tails were used
    assert whole != run(TrendStage(), sample(), len(sample()))  # and changed something
    for batch, partitions in ((1, 1), (7, 2), (500, 4), (300, 3)):
        assert run(TrendStage(OVERFLOW, partitions=partitions), sample(), batch) == whole


def test_a_snapshot_with_sketches_restores_to_the_same_events() -> None:
    items = sample()
    whole = run(TrendStage(OVERFLOW, partitions=2), items, 300)
    stage = TrendStage(OVERFLOW, partitions=2)
    events = []
    middle = len(items) // 2 + 17  # inside a bucket
    for start in range(0, middle, 300):
        events += stage.process(items[start : min(start + 300, middle)])
    snapshot = json.loads(json.dumps(stage.snapshot()))
    assert any(d["tails"] for d in snapshot["detectors"]), "no sketch in the snapshot"
    restored = TrendStage.restore(snapshot)
    events += restored.process(items[middle:]) + restored.finish()
    records = sorted((e.to_record() for e in events), key=lambda r: json.dumps(r, sort_keys=True))
    assert records == whole


def test_a_run_resumed_after_the_end_of_its_input_counts_what_one_run_counts() -> None:
    """`shoot2top ingest` finishes the stage at the end of its input, then checkpoints;
    a later run (a lake with new files) resumes from that checkpoint. The end closes the
    last buckets for that run's events only: the resumed run still counts the items of
    those buckets, as one run over all the items does."""
    items = [tweet(str(1000 + n), at(n / 2 + 1), at(n / 2)) for n in range(40)]  # 20 min
    whole = TrendStage()
    whole.process(items)
    whole.finish()
    first = TrendStage()
    first.process(items[:25])  # ends in the bucket 10:10-10:15
    first.finish()
    resumed = TrendStage.restore(json.loads(json.dumps(first.snapshot())))
    resumed.process(items[25:])
    resumed.finish()
    assert resumed.counters() == whole.counters() == {
        "admitted": 40, "duplicates": 0, "late": 0, "refreshes": 0, "invalid": 0,
    }  # fmt: skip


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
