from datetime import UTC, datetime, timedelta

import pytest

from shoot2top.warehouse.performance import (
    Point,
    Series,
    current_velocity,
    make_series,
    overperformance,
    peak_velocity,
    trimmed_mean,
)

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def h(hours):
    return T0 + timedelta(hours=hours)


def series(*points: Point, created: datetime = T0) -> Series:
    return Series("x", "1", "p", "P", "video", "t", created, make_series(created, points))


ITEM = series(
    Point(h(2), views=200, likes=20), Point(h(1), views=100, likes=10), Point(h(4), views=300)
)


def test_series_sort_and_start_at_zero_when_first_seen_young():
    assert [(p.at, p.views) for p in ITEM.points] == [(h(1), 100), (h(2), 200), (h(4), 300)]
    assert ITEM.curve("views") == [(T0, 0.0), (h(1), 100), (h(2), 200), (h(4), 300)]


def test_values_are_interpolated_and_unknown_after_the_last_known_value():
    assert ITEM.value_at(h(0.5), "views") == 50
    assert ITEM.value_at(h(3), "views") == 250
    assert ITEM.value_at(h(4), "views") == 300
    assert ITEM.value_at(h(5), "views") is None
    assert ITEM.value_at(h(3), "engagement") is None  # likes unknown after 2 h


def test_velocities():
    assert peak_velocity(ITEM) == 100
    assert current_velocity(ITEM, h(3)) == 100
    assert current_velocity(ITEM, h(10)) == 50
    assert current_velocity(series(Point(h(3), views=1)), h(3)) is None


def test_observations_before_publication_are_ignored():
    assert make_series(T0, [Point(h(-1), views=5)]) == []


@pytest.mark.parametrize(
    ("values", "mean"),
    [([], None), ([5], 5), ([1, 2, 3, 100], 2.5), ([1, 2, 3, 4, 5, 6, 7, 1000], 4.5)],
)
def test_trimmed_mean_drops_a_quarter_at_each_end(values, mean):
    assert trimmed_mean(values) == mean


@pytest.mark.parametrize(
    ("actual", "expected", "score"),
    [
        (300, 100, 3.0),
        (100, 100, 1.0),
        (50, 100, -2.0),
        (0, 100, -100.0),
        (10, 0, None),
        (None, 5, None),
        (0, 0.5, 1.0),  # under one view counts as one: never a score between -1 and 1
        (3, 0.5, 3.0),
        (0.2, 4, -4.0),
    ],
)
def test_crowdtangle_overperformance(actual, expected, score):
    assert overperformance(actual, expected) == score


def test_as_of_keeps_only_what_was_observed_by_then():
    then = ITEM.as_of(h(3))
    assert [p.at for p in then.points] == [h(1), h(2)]
    assert then.value_at(h(3), "views") is None  # no longer read towards h(4)
    assert ITEM.value_at(h(3), "views") == 250
    assert ITEM.as_of(h(4)) is ITEM


def test_an_observation_missing_a_counter_reports_engagement_unknown():
    item = series(Point(h(1), likes=10, shares=2), Point(h(2), likes=20))  # shares missed
    assert item.reported(item.points[0], "engagement") == 12
    assert item.reported(item.points[1], "engagement") is None  # not 20: shares unknown
    assert item.reported(item.points[1], "views") is None  # no view counter at all
    assert ITEM.reported(ITEM.points[0], "views") == 100
