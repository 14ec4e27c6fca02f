from datetime import UTC, datetime, timedelta

import pytest

from shoot2top.warehouse.performance import (
    current_velocity,
    make_series,
    overperformance,
    peak_velocity,
    trimmed_mean,
    value_at,
)

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def h(hours):
    return T0 + timedelta(hours=hours)


POINTS = make_series(T0, [(h(2), 200, 20), (h(1), 100, 10), (h(4), 300, None)])


def test_series_start_at_zero_and_sort():
    assert [(p.at, p.views) for p in POINTS] == [(T0, 0), (h(1), 100), (h(2), 200), (h(4), 300)]


def test_values_are_interpolated_and_unknown_after_the_last_observation():
    assert value_at(POINTS, h(0.5), "views") == 50
    assert value_at(POINTS, h(3), "views") == 250
    assert value_at(POINTS, h(4), "views") == 300
    assert value_at(POINTS, h(5), "views") is None
    assert value_at(POINTS, h(3), "engagement") is None  # missing at the 4 h observation


def test_velocities():
    assert peak_velocity(POINTS) == 100
    assert current_velocity(POINTS, h(3)) == 100
    assert current_velocity(POINTS, h(10)) == 50
    assert current_velocity(POINTS[:1], h(1)) is None


def test_observations_before_publication_are_ignored():
    assert len(make_series(T0, [(h(-1), 5, 0)])) == 1


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
