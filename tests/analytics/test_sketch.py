"""The long tail through a sketch: bounded state whatever the number of distinct terms
in a bucket, planted bursts still found, and the same events with 1, 2 or 4 partitions,
any batch sizes and a snapshot/restore while the sketches are in use."""

from __future__ import annotations

import json

import pytest

from shoot2top.analytics.detector import DetectorOptions, TrendDetector
from shoot2top.analytics.sketch import CountMin, KeyFilter
from shoot2top.analytics.watermark import EventClock

HOUR = 3600
T0 = 1_700_000_000 // HOUR * HOUR
FLOOD_TERMS = 2_000_000
FLOOD_ITEMS = 40


def test_count_min_never_underestimates_and_round_trips() -> None:
    sketch = CountMin(64, 3)
    truth = {f"k{n}": n % 7 + 1 for n in range(500)}  # far more keys than cells
    for key, count in truth.items():
        for _ in range(count):
            sketch.add(key)
    assert all(sketch.estimate(key) >= count for key, count in truth.items())
    assert sum(sketch.estimate(key) == count for key, count in truth.items()) > 0
    again = CountMin.from_record(json.loads(json.dumps(sketch.to_record())))
    assert all(again.estimate(key) == sketch.estimate(key) for key in truth)
    with pytest.raises(ValueError, match=r"width must be a power of two.*got width 100"):
        CountMin(100, 2)
    with pytest.raises(ValueError, match=r"sketch_width, sketch_depth: .*got width 3000"):
        DetectorOptions(sketch_width=3000)


def steady_items(hours: int) -> list[tuple]:
    """(key, at, publisher, terms): 40 items a bucket; `steady` in one of them."""
    items = []
    for bucket in range(hours * 12):
        start = T0 + bucket * 300
        for n in range(40):
            words = [(f"word{n % 7}", "hashtag")] + ([("steady", "hashtag")] if n == 0 else [])
            items.append((f"x:{bucket}-{n}", start + n * 7.0, f"p{n}", words))
    return items


def flood_bucket(start: float) -> list[tuple]:
    """2,000,000 distinct one-off terms in one bucket (40 items of 50,000 terms), and
    two planted bursts in the same bucket: the known `steady` and the new `newtag`."""
    items = []
    per_item = FLOOD_TERMS // FLOOD_ITEMS
    for n in range(FLOOD_ITEMS):
        terms = [(f"once{n}-{m}", "keyword") for m in range(per_item)]
        items.append((f"x:flood-{n}", start + 10 + n * 7.0, "flooder", terms))
    for n in range(30):  # interleaved: most arrive once the exact room is full
        at = start + 12 + n * 9.0
        items.append((f"x:steady-{n}", at, f"s{n % 10}", [("steady", "hashtag")]))
        items.append((f"x:new-{n}", at + 1, f"n{n % 10}", [("newtag", "hashtag")]))
    return items


def test_two_million_distinct_terms_in_a_bucket_stay_bounded_and_bursts_are_found() -> None:
    options = DetectorOptions(scopes=False)
    detector = TrendDetector(options)
    clock = EventClock(300, 600)
    flood_start = T0 + 6 * HOUR
    items = [i for i in steady_items(8) if not flood_start <= i[1] < flood_start + 300]
    items = sorted(items + flood_bucket(flood_start), key=lambda item: item[1])
    events, peak = [], {"open_keys": 0, "sketch_cells": 0, "terms": 0}
    for key, at, publisher, terms in items:
        if clock.admit(key, "x", at):
            detector.add_item(key, "x", publisher, at, terms)
        size = detector.size()
        peak = {name: max(peak[name], size[name]) for name in peak}
        if (marker := clock.advance()) is not None:
            events += detector.advance(marker)
    events += detector.advance(clock.finish())
    bounds = detector.bounds(open_buckets=3)  # lateness 600 s: three open at most
    assert peak["open_keys"] <= bounds["open_keys"] < FLOOD_TERMS // 20, (peak, bounds)
    assert 0 < peak["sketch_cells"] <= bounds["sketch_cells"]
    assert peak["terms"] <= bounds["open_keys"] + 100  # not the 2,000,000
    assert detector.sketched > FLOOD_TERMS * 0.9  # the tail went through the sketch
    rising = {e.term: e for e in events if e.status == "rising"}
    assert set(rising) == {"steady", "newtag"}
    assert rising["steady"].onset_at == rising["newtag"].onset_at == flood_start
    assert rising["newtag"].publishers >= 3  # exact counting once promoted


def test_a_version_1_detector_snapshot_is_restored() -> None:
    detector = TrendDetector()
    detector.add_item("x:1", "x", "p", T0, [("a", "hashtag")])
    snapshot = detector.snapshot()
    old = {k: v for k, v in snapshot.items() if k not in ("room", "tails", "sketched")}
    old["version"] = 1
    old["open"] = [entry[:-1] for entry in snapshot["open"]]
    assert TrendDetector.restore(old).snapshot() == snapshot


def test_the_key_filter_remembers_a_bounded_number_of_keys() -> None:
    keys = KeyFilter(bits=4096, capacity=10)
    first = [f"x:{n}" for n in range(10)]
    for key in first:
        keys.add(key)
    assert all(key in keys for key in first)
    for n in range(10, 20):
        keys.add(f"x:{n}")
    assert all(key in keys for key in first)  # in the previous filter
    keys.add("x:20")  # a third generation: the first is dropped
    assert sum(key in keys for key in first) <= 1
    again = KeyFilter.from_record(json.loads(json.dumps(keys.to_record())))
    assert "x:20" in again and again.added == keys.added
    with pytest.raises(ValueError, match="key filter: bits must be a power of two"):
        KeyFilter(bits=1000)
