"""When to post: a planted window is found, thin publishers follow the platform, the time
zone moves the slots, intervals carry the uncertainty."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from curves import MONDAY, catalog, item, posting_times, series
from shoot2top.recommend.catalog import RecommendError
from shoot2top.recommend.timing import (
    HOURS_PER_WEEK,
    hour_of_week,
    kernel,
    recommend_timing,
    slot_label,
    zone_named,
)

TUESDAY_EVENING = {24 + 18, 24 + 19}  # Tue 18:00-20:00
WEEKDAY_EVENINGS = {day * 24 + hour for day in range(5) for hour in (18, 19)}


def world(
    *,
    windows: dict[str, set[int]],
    per_day: dict[str, int],
    zone: ZoneInfo | None = None,
    days: int = 21,
    seed: int = 5,
) -> list:
    """Publishers posting at random times; a post in one of its window's hours (in
    `zone`) reaches ×3. Reach is otherwise lognormal (σ 0.8)."""
    rng = random.Random(seed)
    items = []
    for publisher, count in per_day.items():
        for n, created in enumerate(posting_times(rng, MONDAY, days, count)):
            factor = 3.0 if hour_of_week(created, zone or UTC) in windows.get(publisher, ()) else 1
            final = 10_000 * factor * math.exp(rng.gauss(0, 0.8))
            items.append(item(series(f"{publisher}-{n}", created, final, publisher=publisher)))
    return items


def test_the_planted_window_ranks_first() -> None:
    items = world(windows={"p1": WEEKDAY_EVENINGS}, per_day={"p1": 12, "p2": 12, "p3": 12})
    result = recommend_timing(catalog(items), "youtube", "p1")
    top = result.slots[:10]
    assert len({slot.slot for slot in top} & WEEKDAY_EVENINGS) >= 7
    assert all(17 <= slot.hour <= 20 for slot in top)  # smoothing reaches an hour around
    assert len(result.slots) == HOURS_PER_WEEK
    assert [slot.rank for slot in result.slots] == list(range(1, HOURS_PER_WEEK + 1))
    best = result.slots[0]
    assert best.expected > 1.5 and best.low > 1.0  # clearly better than a typical post
    assert best.items > 0 and best.support >= best.items
    # another publisher has no such window: its weekday evenings are nothing special
    other = recommend_timing(catalog(items), "youtube", "p2")
    assert len(WEEKDAY_EVENINGS & other.top(10)) <= 2


def test_a_window_on_one_day_only_is_found_too() -> None:
    items = world(windows={"p1": TUESDAY_EVENING}, per_day={"p1": 12, "p2": 12, "p3": 12})
    result = recommend_timing(catalog(items), "youtube", "p1")
    assert {slot.slot for slot in result.slots[:2]} == TUESDAY_EVENING
    # the other days' evenings borrow a little from Tuesday's, not the reverse
    assert result.top(2) != {slot + 24 for slot in TUESDAY_EVENING}


def test_a_thin_publisher_follows_the_platform_pattern() -> None:
    everyone = {"p1": WEEKDAY_EVENINGS, "p2": WEEKDAY_EVENINGS, "p3": WEEKDAY_EVENINGS}
    items = world(windows=everyone, per_day={"p1": 12, "p2": 12, "p3": 12})
    # p4 posts twice a day with no window of its own: too little to overrule the platform
    items += world(windows={}, per_day={"p4": 2}, seed=9)
    result = recommend_timing(catalog(items), "youtube", "p4")
    assert result.items < 60
    assert max(slot.own_weight for slot in result.slots) < 0.5
    assert len(result.top(10) & WEEKDAY_EVENINGS) >= 7
    for slot in result.slots[:10]:
        assert slot.expected == pytest.approx(slot.platform, rel=0.1)
    rich = recommend_timing(catalog(items), "youtube", "p1")
    assert max(s.own_weight for s in rich.slots) > max(s.own_weight for s in result.slots)


@pytest.mark.slow
def test_own_pattern_dominates_when_it_has_the_data() -> None:
    # p1's window is weekday evenings; everyone else's is weekend mornings
    mornings = {day * 24 + hour for day in (5, 6) for hour in (9, 10)}
    items = world(
        windows={"p1": WEEKDAY_EVENINGS, "p2": mornings, "p3": mornings},
        per_day={"p1": 60, "p2": 12, "p3": 12},
    )
    result = recommend_timing(catalog(items), "youtube", "p1")
    assert len(result.top(10) & WEEKDAY_EVENINGS) >= 8
    assert not result.top(20) & mornings
    evening = next(slot for slot in result.slots if slot.slot == 24 + 18)
    assert evening.own_weight > 0.5
    assert evening.support > result.half_weight_items
    assert evening.expected > 1.2 * evening.platform


def test_slots_are_in_the_publisher_time_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    items = world(windows={"p1": WEEKDAY_EVENINGS}, per_day={"p1": 12, "p2": 12}, zone=tokyo)
    local = recommend_timing(catalog(items), "youtube", "p1", zone=tokyo)
    assert local.zone == "Asia/Tokyo"
    assert len(local.top(10) & WEEKDAY_EVENINGS) >= 7
    in_utc = recommend_timing(catalog(items), "youtube", "p1")
    assert all(8 <= slot.hour <= 11 for slot in in_utc.slots[:10])  # 18:00 JST = 09:00 UTC


def test_intervals_widen_where_there_is_less_data() -> None:
    items = world(windows={}, per_day={"p1": 12, "p2": 12})
    result = recommend_timing(catalog(items), "youtube", "p1", level=0.9)
    wide = recommend_timing(catalog(items), "youtube", "p1", level=0.99)
    for slot, wider in zip(result.slots, wide.slots, strict=True):
        assert slot.low < slot.expected < slot.high
        assert wider.low < slot.low and wider.high > slot.high


def test_no_scored_items_is_a_clear_error() -> None:
    young = [item(series("a", MONDAY, 100, ages_h=(1, 2)))]
    with pytest.raises(RecommendError, match="no youtube item has an age-matched score"):
        recommend_timing(catalog(young), "youtube", "p1")


def test_kernel_pools_neighbouring_hours_and_the_same_hour_on_other_days() -> None:
    weights = kernel()
    assert weights[30, 30] == 1.0
    assert weights[30, 31] == pytest.approx(math.exp(-0.5))
    assert weights[30, 30 + 24] == pytest.approx(0.3)  # Tuesday 06:00 vs Wednesday 06:00
    assert weights[30, 30 + 5] == 0.0
    assert weights[0, 167] == pytest.approx(math.exp(-0.5))  # Monday 00:00 and Sunday 23:00


def test_zone_names_and_labels() -> None:
    assert zone_named(None) is UTC and zone_named("utc") is UTC
    assert str(zone_named("Europe/Paris")) == "Europe/Paris"
    with pytest.raises(RecommendError, match="'Mars/Base' is not an IANA name"):
        zone_named("Mars/Base")
    assert slot_label(24 + 18) == "Tue 18:00"
    sunday_night = datetime(2026, 10, 11, 23, 30, tzinfo=UTC)
    assert hour_of_week(sunday_night) == 167
    assert hour_of_week(sunday_night, ZoneInfo("Asia/Tokyo")) == 8  # Monday 08:30 in Tokyo
    assert hour_of_week(MONDAY + timedelta(hours=1)) == 1
