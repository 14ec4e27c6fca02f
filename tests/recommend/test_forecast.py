"""Early forecasts: the growth shape tells a burst from a slow burner where the median
growth curve cannot; intervals come from the history's own errors; horizons already
reached are observed, and what cannot be forecast is unknown."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from curves import MONDAY, series
from shoot2top.recommend.forecast import (
    FORECAST,
    MIN_HISTORY,
    OBSERVED,
    UNKNOWN,
    add_forecasts,
    forecast_item,
    value_at_age,
)
from shoot2top.warehouse.performance import Point, Series

HOUR = timedelta(hours=1)


def history(count: int = 120, seed: int = 1, publisher: str = "p1") -> list:
    """Half bursts (τ 1 h), half slow burners (τ 12 h), reach lognormal."""
    rng = random.Random(seed)
    return [
        series(f"{publisher}-h{n}", MONDAY + n * HOUR, 10_000 * math.exp(rng.gauss(0, 1)),
               tau_h=1.0 if n % 2 else 12.0, publisher=publisher)
        for n in range(count)
    ]  # fmt: skip


def truth(final: float, tau_h: float, hours: float) -> float:
    return final * (1 - math.exp(-hours / tau_h))


@pytest.mark.parametrize("tau_h", [1.0, 12.0])
def test_the_shape_of_the_first_hour_tells_bursts_from_slow_burners(tau_h: float) -> None:
    past = history()
    created = MONDAY + timedelta(days=10)
    new = series("new", created, 50_000, tau_h=tau_h)
    ours = {f.horizon: f for f in forecast_item(new, past, created + HOUR)}
    naive = {f.horizon: f for f in forecast_item(new, past, created + HOUR, shape=False)}
    for label, hours in (("24h", 24), ("7d", 168)):
        actual = truth(50_000, tau_h, hours)
        mine, theirs = ours[label], naive[label]
        assert mine.status == FORECAST and mine.method == "growth shape"
        assert theirs.method == "median growth"
        assert mine.low <= mine.value <= mine.high
        assert abs(mine.value - actual) / actual < 0.05
        assert abs(theirs.value - actual) / actual > 0.3  # the median curve is far off
        assert mine.from_age_h == 1.0 and mine.current == new.value_at_age(HOUR)
        assert mine.history == 120 and mine.level == 0.8


def test_a_reached_horizon_is_observed_and_a_young_item_unknown() -> None:
    past = history()
    created = MONDAY + timedelta(days=10)
    new = series("new", created, 50_000, tau_h=6)
    done = {f.horizon: f for f in forecast_item(new, past, created + timedelta(days=2))}
    assert done["24h"].status == OBSERVED
    assert done["24h"].value == done["24h"].low == new.value_at_age(24 * HOUR)
    assert done["7d"].status == FORECAST
    unborn = forecast_item(new, past, created + timedelta(minutes=2))
    assert {f.status for f in unborn} == {UNKNOWN}
    assert unborn[0].note == "not observed yet"


def test_too_little_history_is_unknown_and_other_publishers_fill_in() -> None:
    created = MONDAY + timedelta(days=10)
    new = series("new", created, 50_000, tau_h=1.0)
    mine = history(MIN_HISTORY - 1)
    lonely = forecast_item(new, mine, created + HOUR)
    assert lonely[0].status == UNKNOWN
    assert lonely[0].note == f"fewer than {MIN_HISTORY} similar items with 24h known"
    pooled = forecast_item(new, [*mine, *history(60, publisher="p2")], created + HOUR)
    assert pooled[0].status == FORECAST and pooled[0].method == "growth shape (platform)"
    # only earlier items of the same platform and media type count
    later = [series(f"l{n}", created + timedelta(days=1, hours=n), 1e4) for n in range(40)]
    photos = [series(f"ph{n}", MONDAY + n * HOUR, 1e4, media="photo") for n in range(40)]
    assert forecast_item(new, [*later, *photos], created + HOUR)[0].status == UNKNOWN


def test_interactions_are_forecast_for_items_without_views() -> None:
    past = [
        series(f"f{n}", MONDAY + n * HOUR, 500, platform="facebook", interactions=True)
        for n in range(40)
    ]
    created = MONDAY + timedelta(days=10)
    new = series("new", created, 800, platform="facebook", interactions=True)
    found = forecast_item(new, past, created + HOUR)[0]
    assert found.metric == "interactions" and found.status == FORECAST
    assert found.value == pytest.approx(truth(800, 6, 24), rel=0.05)


@pytest.mark.slow
def test_intervals_cover_about_the_level_on_fresh_items() -> None:
    rng = random.Random(4)

    def noisy(item_id: str, created: object) -> tuple:
        tau = math.exp(rng.gauss(math.log(3), 0.5))
        final = 10_000 * math.exp(rng.gauss(0, 1)) * (1 + (rng.random() < 0.3) * rng.random())
        return series(item_id, created, final, tau_h=tau), final, tau  # type: ignore[arg-type]

    past = [noisy(f"h{n}", MONDAY + n * HOUR)[0] for n in range(300)]
    inside = total = 0
    for n in range(200):
        created = MONDAY + timedelta(days=20, hours=n)
        new, _, _ = noisy(f"n{n}", created)
        found = forecast_item(new, past, created + HOUR)[0]
        actual = new.value_at_age(24 * HOUR)
        inside += found.low <= actual <= found.high
        total += 1
    assert 0.7 <= inside / total <= 0.9


def test_history_values_between_observations_follow_the_curve() -> None:
    one = series("a", MONDAY, 10_000, tau_h=1.0, ages_h=(1 / 6, 1, 24))
    exact = truth(10_000, 1.0, 0.5)
    power = value_at_age(one, timedelta(minutes=30), "views")
    linear = one.value_at_age(timedelta(minutes=30))
    assert linear < power < exact  # a straight chord reads low; a power law much less so
    assert abs(power - exact) < 0.75 * abs(linear - exact)


def test_report_live_rows_get_a_24h_forecast() -> None:
    past = history()
    created = MONDAY + timedelta(days=10)
    new = series("new", created, 50_000, tau_h=1.0)
    rows = [{"platform": "youtube", "item_id": "new"}, {"platform": "x", "item_id": "gone"}]
    add_forecasts(rows, [*past, new], created + HOUR)
    assert rows[0]["forecast_24h_low"] <= rows[0]["forecast_24h"] <= rows[0]["forecast_24h_high"]
    assert rows[1]["forecast_24h"] is None and rows[1]["forecast_24h_low"] is None


def _page_post(observed: list[Point]) -> Series:
    """A Facebook Page photo (interactions, no views) published at CREATED."""
    return Series("facebook", "x", "p1", None, "photo", None, CREATED, observed)


CREATED = MONDAY + timedelta(days=10)


def test_the_current_figure_reads_nothing_observed_after_now() -> None:
    """Interactions reported at different times: the figure a forecast starts from is
    what was known by `now`, not one interpolated towards a later observation."""
    now = CREATED + HOUR
    points = [
        Point(CREATED + timedelta(minutes=30), likes=100),
        Point(CREATED + timedelta(minutes=50), shares=10),
        Point(CREATED + 3 * HOUR, likes=10_000, shares=500),  # after `now`
    ]
    full = forecast_item(_page_post(points), [], now)[0]
    known = forecast_item(_page_post(points[:2]), [], now)[0]
    assert full.current == known.current == 110
    assert full.from_age_h == known.from_age_h


def test_a_counter_first_reported_after_now_changes_nothing() -> None:
    """Views a platform starts reporting after `now` neither change what the item is
    forecast on nor hide the interactions known by then."""
    now = CREATED + HOUR
    points = [
        Point(CREATED + timedelta(minutes=30), likes=100),
        Point(CREATED + timedelta(minutes=50), likes=150),
        Point(CREATED + 3 * HOUR, views=90_000, likes=400),  # after `now`
    ]
    full = forecast_item(_page_post(points), [], now)
    assert full == forecast_item(_page_post(points[:2]), [], now)
    assert full[0].metric == "interactions" and full[0].current == 150
