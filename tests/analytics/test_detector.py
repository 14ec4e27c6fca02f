"""The event clock and the detectors on hand-made term uses: each rule can fail."""

from __future__ import annotations

import json

import pytest

from shoot2top.analytics.detector import DetectorOptions, TrendDetector, _Trend
from shoot2top.analytics.sketch import PUBLISHERS_EXACT, DistinctCount
from shoot2top.analytics.terms import TermUse
from shoot2top.analytics.watermark import EventClock, Watermark

HOUR = 3600
T0 = 1_700_000_000 // HOUR * HOUR


def background(hours: int, per_bucket: int = 40, *, surge: range = range(0)) -> list[tuple]:
    """(item key, platform, at, publisher, terms): steady traffic of common words."""
    items = []
    for bucket in range(hours * 12):
        start = T0 + bucket * 300
        volume = per_bucket * (5 if bucket in surge else 1)
        for n in range(volume):
            words = [f"word{n % 7}", f"other{n % 3}"]
            items.append((f"x:{bucket}-{n}", "x", start + n * 300 / volume, f"p{n}", words))
    return items


def burst(term: str, start: float, buckets: int, per_bucket: int, publishers: int) -> list:
    return [
        (f"x:{term}-{b}-{n}", "x", start + b * 300 + n * 300 / per_bucket, f"b{n % publishers}",
         [term])
        for b in range(buckets)
        for n in range(per_bucket)
    ]  # fmt: skip


def detect(items: list[tuple], method: str = "signitrend", **options) -> tuple[list, EventClock]:
    clock = EventClock(300, 600)
    detector = TrendDetector(DetectorOptions(method=method, **options))
    events = []
    for key, platform, at, publisher, terms in sorted(items, key=lambda i: i[2]):
        if clock.admit(key, platform, at):
            for term in terms:
                detector.add(TermUse(term, "hashtag", platform, key, publisher, at))
        if (marker := clock.advance()) is not None:
            events += detector.advance(marker)
    events += detector.advance(clock.finish())
    return [e for e in events if e.scope == "all"], clock


def terms_of(events: list) -> set[str]:
    return {event.term for event in events}


def test_a_burst_of_a_new_term_trends_and_ends() -> None:
    events, _ = detect(background(8) + burst("newtag", T0 + 6 * HOUR, 6, 12, 6))
    assert terms_of(events) == {"newtag"}
    rising, ended = events
    assert (rising.status, ended.status) == ("rising", "ended")
    assert rising.identity == ended.identity
    assert rising.onset_at == T0 + 6 * HOUR
    # decided when an item at the bucket's end + the allowed lateness (600 s) arrived
    assert rising.detected_at == T0 + 6 * HOUR + 300 + 600
    assert ended.ended_at == T0 + 6 * HOUR + 6 * 300
    assert ended.volume == 72 and ended.publishers == 6


def test_detected_at_is_the_event_time_of_the_decision_whatever_the_batching() -> None:
    """A bucket closes only once an item at or after its end + the lateness arrives:
    that is the decision's event time, the same item by item or all at once."""
    items = sorted(background(8) + burst("newtag", T0 + 6 * HOUR, 6, 12, 6), key=lambda i: i[2])
    for lateness in (0, 120, 600):
        clock = EventClock(300, lateness)
        detector = TrendDetector(DetectorOptions())
        events, first_after = [], None
        for key, platform, at, publisher, terms in items:
            if clock.admit(key, platform, at):
                detector.add_item(key, platform, publisher, at, [(t, "hashtag") for t in terms])
            if (marker := clock.advance()) is not None:
                fresh = [e for e in detector.advance(marker) if e.term == "newtag"]
                if fresh and first_after is None:
                    first_after = at  # the item whose time closed the bucket
                events += fresh
        rising = next(e for e in events if e.status == "rising" and e.scope == "all")
        assert rising.detected_at == T0 + 6 * HOUR + 300 + lateness
        assert first_after is not None and first_after >= rising.detected_at
        assert first_after - rising.detected_at < 60  # the background's next item


def test_a_3x_rise_of_a_steady_term_too_small_for_one_bucket_trends_over_its_run() -> None:
    """3 items a bucket, then 12 (3.3x expected) for 6 buckets: z ≈ 3.8 per bucket,
    below `z_on`; summed over the rise, z ≈ 5.3 after two buckets (>= `z_run`):
    detected at the second bucket's end, with the onset at the first."""
    steady = [
        (key, p, at, pub, [*terms, "steady"] if int(key.split("-")[1]) % 14 == 0 else terms)
        for key, p, at, pub, terms in background(8)
    ]
    items = steady + burst("steady", T0 + 6 * HOUR, 6, 9, 9)
    events, _ = detect(items)
    rising = next(e for e in events if e.term == "steady" and e.status == "rising")
    assert rising.onset_at == T0 + 6 * HOUR
    assert rising.detected_at == T0 + 6 * HOUR + 2 * 300 + 600
    assert rising.score < 4.0  # this bucket alone would not have started it
    assert "steady" not in terms_of(detect(items, z_run=100.0)[0])


def test_a_platform_wide_surge_is_not_a_trend_for_signitrend_but_is_for_ratio() -> None:
    items = background(8, surge=range(72, 78))
    assert detect(items)[0] == []
    assert terms_of(detect(items, "ratio")[0]) >= {"word0", "other0"}


def test_seasonal_expects_the_hours_usual_traffic_so_a_surge_is_a_trend_for_it() -> None:
    """`seasonal` learns each hour of the day's traffic (day 1); a platform-wide surge
    on day 2 at the same hour is volume above that hour's history: its terms trend.
    SigniTrend's share of the bucket's actual traffic corrects the surge."""
    day2 = 24 * 12 + 6 * 12  # day 2, 06:00
    items = background(32, surge=range(day2, day2 + 6))
    assert terms_of(detect(items, "seasonal")[0]) >= {"word0", "other0"}
    assert detect(items)[0] == []
    assert detect(background(32), "seasonal")[0] == []  # no surge: nothing


def test_one_account_flooding_a_tag_is_not_a_trend() -> None:
    events, _ = detect(background(8) + burst("flood", T0 + 6 * HOUR, 6, 30, 1))
    assert events == []


def test_an_unknown_publisher_is_not_one_of_the_distinct_publishers_a_trend_needs() -> None:
    """Two accounts and items of unknown publisher ("") are two publishers, not three:
    the start rule counts them as the event reports them."""
    flood = burst("flood", T0 + 6 * HOUR, 6, 30, 3)
    flood = [(key, p, at, "" if who == "b2" else who, terms) for key, p, at, who, terms in flood]
    events, _ = detect(background(8) + flood)
    assert events == []
    known, _ = detect(background(8) + burst("flood", T0 + 6 * HOUR, 6, 30, 3))
    assert terms_of(known) == {"flood"}  # with a third known account it trends


def test_redelivered_and_refreshed_items_add_no_volume_and_late_items_are_counted() -> None:
    items = background(8) + burst("newtag", T0 + 6 * HOUR, 6, 12, 6)
    once, _ = detect(items)
    twice, clock = detect(items + [(k, p, at + 0.0, pub, t) for k, p, at, pub, t in items])
    assert [e.volume for e in twice] == [e.volume for e in once]
    assert clock.duplicates == len(items)
    late = [("x:late", "x", T0 + HOUR, "p", ["newtag"])]  # arrives after its bucket closed
    clock = EventClock(300, 600)
    for key, platform, at, _, _ in sorted(items, key=lambda i: i[2]) + late:
        clock.admit(key, platform, at)
    assert clock.late == 1


def test_a_detector_restored_from_a_snapshot_skips_markers_it_has_seen() -> None:
    detector = TrendDetector(DetectorOptions())
    clock = EventClock(300, 0)
    detector.add(TermUse("a", "hashtag", "x", "x:1", "p", T0))
    clock.admit("x:1", "x", T0)
    clock.admit("x:2", "x", T0 + 600)
    marker = clock.advance()
    assert marker is not None and [start for start, _ in marker.traffic] == [T0, T0 + 300]
    detector.advance(marker)
    restored = TrendDetector.restore(detector.snapshot())
    assert restored.advance(marker) == [] and restored.closed_until == T0 + 600


def test_bad_options_and_snapshots_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown trend method 'magic'"):
        DetectorOptions(method="magic")
    with pytest.raises(ValueError, match="bucket_s must be > 0"):
        EventClock(0, 10)
    with pytest.raises(ValueError, match="trend detector snapshot version 99"):
        TrendDetector.restore({"version": 99})


def test_a_refresh_after_its_bucket_closed_is_told_from_a_late_new_item() -> None:
    import json

    clock = EventClock(300, 600)
    clock.admit("x:1", "x", T0)
    clock.admit("x:3", "x", T0 + 300)
    clock.admit("x:2", "x", T0 + 3000)  # closes the first buckets
    assert clock.advance() is not None
    clock.admit("x:4", "x", T0 + 3300)  # closes another, no marker for it yet
    assert not clock.admit("x:1", "x", T0)  # a metric refresh of a counted item
    assert not clock.admit("x:9", "x", T0 + 10)  # a new item, too late
    assert (clock.refreshes, clock.late) == (1, 1)
    restored = EventClock.restore(json.loads(json.dumps(clock.snapshot())))
    assert not restored.admit("x:1", "x", T0) and restored.refreshes == 2
    assert not restored.admit("x:3", "x", T0 + 300) and restored.refreshes == 3
    assert restored.counters() == {"admitted": 4, "duplicates": 0, "late": 1, "refreshes": 3}


def test_a_snapshot_from_before_the_rise_variance_is_restored() -> None:
    """States saved with six values (no summed rise variance) restore and go on."""
    detector = TrendDetector(DetectorOptions())
    clock = EventClock(300, 600)
    for key, platform, at, publisher, terms in background(2):
        if clock.admit(key, platform, at):
            detector.add_item(key, platform, publisher, at, [(t, "hashtag") for t in terms])
        if (marker := clock.advance()) is not None:
            detector.advance(marker)
    snapshot = detector.snapshot()
    snapshot["states"] = [state[:-1] for state in snapshot["states"]]
    restored = TrendDetector.restore(snapshot)
    assert restored.snapshot() == detector.snapshot()


def test_a_trends_publishers_are_bounded_in_memory_and_counted_near_the_truth() -> None:
    """A long, broad trend keeps at most `PUBLISHERS_EXACT` publisher hashes (in its
    snapshot too): exact below that, estimated within a few percent above."""
    detector = TrendDetector(DetectorOptions(warmup_s=0))
    clock = EventClock(300, 600)
    events = []
    for n in range(6 * 1000):  # 1,000 new publishers a bucket for 6 buckets
        at = T0 + 6 * HOUR + n * 0.3
        if clock.admit(f"x:{n}", "x", at):
            detector.add(TermUse("broad", "hashtag", "x", f"x:{n}", f"p{n}", at))
        if (marker := clock.advance()) is not None:
            events += detector.advance(marker)
    restored = TrendDetector.restore(json.loads(json.dumps(detector.snapshot())))
    events += restored.advance(clock.finish())
    (rising,) = [e for e in events if e.scope == "all"]
    assert rising.publishers == 1000  # its first bucket's, exact
    publishers = restored._active[("all", "hashtag", "broad")].publishers
    assert len(publishers.hashes) == PUBLISHERS_EXACT
    assert abs(publishers.count() - 6000) <= 0.1 * 6000


def test_a_trends_publisher_count_does_not_depend_on_arrival_order() -> None:
    names = [f"p{n}" for n in range(3000)]
    one, other = DistinctCount(), DistinctCount()
    one.add_all(names)
    for chunk in range(0, 3000, 7):
        other.add_all(reversed(names[chunk : chunk + 7]))
    assert one.hashes == other.hashes and one.count() == other.count()
    small = DistinctCount()
    small.add_all(["a", "b", "", "a"])  # an unknown publisher is not one
    assert small.count() == 2


def test_a_snapshot_with_the_publishers_themselves_is_restored() -> None:
    """Snapshots from before the bounded count held an active trend's publishers."""
    detector = TrendDetector(DetectorOptions(warmup_s=0))
    for n in range(12):
        at = T0 + n * 20.0
        detector.add(TermUse("tag", "hashtag", "x", f"x:{n}", f"p{n % 5}", at))
    detector.advance(Watermark(300, T0 + 300, ((T0, (("x", 12),)),), lateness_s=600))
    snapshot = json.loads(json.dumps(detector.snapshot()))
    slot = 3 + list(_Trend.__slots__).index("publishers")
    for entry in snapshot["active"]:
        entry[slot] = ["", "p0", "p1", "p2", "p3", "p4"]
    restored = TrendDetector.restore(snapshot)
    assert restored._active[("all", "hashtag", "tag")].publishers.count() == 5
