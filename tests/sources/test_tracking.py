import pytest

from shoot2top.config import TrackingOptions
from shoot2top.sources.tracking import RefreshStep, RefreshTracker

HOUR = 3600.0
SCHEDULE = [RefreshStep(HOUR, 300), RefreshStep(6 * HOUR, 900), RefreshStep(48 * HOUR, HOUR)]


def test_young_items_are_refreshed_often_and_old_ones_rarely():
    tracker = RefreshTracker(SCHEDULE)
    assert tracker.track("young", published_at=0, now=60)
    assert tracker.track("older", published_at=0, now=2 * HOUR)
    assert tracker.due(now=60 + 299, limit=10) == []
    assert tracker.due(now=60 + 300, limit=10) == ["young"]
    assert tracker.due(now=2 * HOUR + 900, limit=10) == ["older"]


def test_a_refreshed_item_is_rescheduled_by_its_new_age():
    tracker = RefreshTracker(SCHEDULE)
    tracker.track("a", published_at=0, now=0)
    now = 0.0
    intervals = []
    while (due := tracker.next_due()) is not None:
        if tracker.due(due, limit=10) != ["a"]:
            break  # past the window: dropped instead of refreshed
        intervals.append(due - now)
        now = due
        tracker.refreshed("a", now)
    assert intervals[:12] == [300] * 12  # the first hour
    assert set(intervals[12:32]) == {900}  # to 6 hours
    assert set(intervals[32:]) == {HOUR}  # to 48 hours, then dropped
    assert "a" not in tracker and now == 47 * HOUR


def test_items_past_the_window_are_dropped_and_not_tracked():
    tracker = RefreshTracker(SCHEDULE)
    assert not tracker.track("ancient", published_at=0, now=49 * HOUR)
    tracker.track("a", published_at=0, now=47.5 * HOUR)
    assert tracker.due(now=49 * HOUR, limit=10) == [] and len(tracker) == 0


def test_a_duplicate_delivery_is_recognised():
    tracker = RefreshTracker(SCHEDULE)
    assert tracker.track("a", published_at=0, now=0)
    assert not tracker.track("a", published_at=0, now=10)


def test_due_is_bounded_and_most_overdue_first():
    tracker = RefreshTracker(SCHEDULE)
    for index in range(5):
        tracker.track(f"i{index}", published_at=0, now=index)
    assert tracker.due(now=HOUR / 2, limit=3) == ["i0", "i1", "i2"]
    assert tracker.due(now=HOUR / 2, limit=3) == ["i3", "i4"]


def test_state_survives_a_restart_and_in_flight_refreshes_are_due_again():
    tracker = RefreshTracker(SCHEDULE)
    tracker.track("a", published_at=0, now=0)
    tracker.track("b", published_at=0, now=100)
    assert tracker.due(now=300, limit=1) == ["a"]  # taken, then the process dies
    state = tracker.snapshot()
    restored = RefreshTracker(SCHEDULE)
    restored.restore(state, now=350)
    assert sorted(restored.due(now=400, limit=10)) == ["a", "b"]


def test_capacity_evicts_the_item_tracked_longest_ago():
    tracker = RefreshTracker(SCHEDULE, max_items=2)
    for name in ("a", "b", "c"):
        tracker.track(name, published_at=0, now=0)
    assert "a" not in tracker and "b" in tracker and "c" in tracker


def test_a_schedule_must_grow():
    with pytest.raises(ValueError, match="must increase"):
        RefreshTracker([RefreshStep(HOUR, 60), RefreshStep(HOUR, 120)])
    with pytest.raises(ValueError, match="> 0"):
        RefreshTracker([RefreshStep(HOUR, 0)])


def test_a_tracker_follows_its_configured_schedule():
    from shoot2top.config import TrackingOptions

    tracker = RefreshTracker.from_options(TrackingOptions(max_items=7))
    assert tracker.schedule == SCHEDULE  # the default: 5 min to 1 h, 15 min to 6 h, hourly
    assert tracker.max_items == 7 and tracker.window_s == 48 * HOUR
    assert RefreshTracker.from_options(TrackingOptions(schedule=[])).window_s == 0


def test_the_one_default_schedule_is_the_configs_and_the_documented_one():
    """Every 5 min for 1 h, every 15 min to 6 h, hourly to 48 h (docs/sources.md); the
    tracker takes its schedule from the config and has no default of its own."""
    default = TrackingOptions().steps_s()
    assert default == [(HOUR, 300), (6 * HOUR, 900), (48 * HOUR, HOUR)]
    assert RefreshTracker.from_options(TrackingOptions()).schedule == default
    with pytest.raises(TypeError):
        RefreshTracker()  # type: ignore[call-arg]
