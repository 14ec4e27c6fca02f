"""How an item performs over time: its metric series and what the reports derive from it.

A series starts at the item's publication with zero views and engagement, then has one
point per observation. Values between observations are interpolated linearly; after the
last observation they are unknown. The benchmark is CrowdTangle's: the trimmed mean of
the publisher's own recent items of the same type at the same age.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

HOUR = timedelta(hours=1)
REPORT_AGES: dict[str, timedelta] = {
    "1h": HOUR,
    "6h": 6 * HOUR,
    "24h": 24 * HOUR,
    "7d": 7 * 24 * HOUR,
}
BENCHMARK_ITEMS = 100
BENCHMARK_TRIM = 0.25  # drop the top and bottom quarter before averaging


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    views: float | None
    engagement: float | None


@dataclass
class Series:
    """One item's identity and performance time series."""

    platform: str
    item_id: str
    publisher_id: str | None
    publisher_name: str | None
    media_type: str | None
    title: str | None
    created_at: datetime
    points: list[Point]

    @property
    def last_observed(self) -> datetime:
        return self.points[-1].at

    def value_at_age(self, age: timedelta, metric: str = "views") -> float | None:
        """The metric (``views`` or ``engagement``) `age` after publication."""
        return value_at(self.points, self.created_at + age, metric)

    @property
    def score_metric(self) -> str:
        """What the item is scored on: views where its platform counts them, else its
        interactions (Facebook Page posts have no views; CrowdTangle scores them so)."""
        observed = self.points[1:]  # the first point is publication, at zero
        return "views" if any(point.views is not None for point in observed) else "engagement"

    def latest(self, field: str, until: datetime | None = None) -> float | None:
        """The last observed value of a metric (at or before `until`)."""
        for point in reversed(self.points):
            if until is None or point.at <= until:
                return getattr(point, field)
        return None


def make_series(
    created_at: datetime, observations: Iterable[tuple[datetime, float | None, float | None]]
) -> list[Point]:
    """Points from publication (zero) through every observation, in time order."""
    points = [Point(created_at, 0, 0)]
    for at, views, engagement in sorted(observations, key=lambda row: row[0]):
        if at < created_at:
            continue  # clock skew: an observation cannot precede publication
        if at == points[-1].at:
            points[-1] = Point(at, views, engagement)
        else:
            points.append(Point(at, views, engagement))
    return points


def value_at(points: Sequence[Point], moment: datetime, field: str) -> float | None:
    """A metric at `moment`, interpolated between the observations around it."""
    if not points or moment < points[0].at or moment > points[-1].at:
        return None
    for before, after in pairwise(points):
        if before.at <= moment <= after.at:
            low, high = getattr(before, field), getattr(after, field)
            if low is None or high is None:
                return None
            span = (after.at - before.at).total_seconds()
            share = (moment - before.at).total_seconds() / span
            return low + (high - low) * share
    return getattr(points[0], field)  # a single point, exactly at `moment`


def velocities(points: Sequence[Point]) -> list[float]:
    """Views per hour between consecutive observations."""
    rates = []
    for before, after in pairwise(points):
        if before.views is None or after.views is None:
            continue
        hours = (after.at - before.at).total_seconds() / 3600
        if hours > 0:
            rates.append((after.views - before.views) / hours)
    return rates


def peak_velocity(points: Sequence[Point]) -> float | None:
    rates = velocities(points)
    return max(rates) if rates else None


def current_velocity(points: Sequence[Point], now: datetime) -> float | None:
    """Views per hour over the last interval observed at or before `now`."""
    seen = [point for point in points if point.at <= now]
    rates = velocities(seen[-2:])
    return rates[-1] if rates else None


def trimmed_mean(values: Sequence[float], trim: float = BENCHMARK_TRIM) -> float | None:
    """The mean after dropping the `trim` share of values at each end."""
    if not values:
        return None
    ordered = sorted(values)
    cut = math.floor(len(ordered) * trim)
    kept = ordered[cut : len(ordered) - cut] or ordered
    return sum(kept) / len(kept)


def overperformance(actual: float | None, expected: float | None) -> float | None:
    """CrowdTangle's score: actual/expected at or above the benchmark, −expected/actual
    below it, so a score is never between −1 and 1. Fewer than one view (or interaction)
    counts as one, actual and expected alike. None without a benchmark."""
    if actual is None or expected is None or expected <= 0:
        return None
    actual, expected = max(actual, 1.0), max(expected, 1.0)
    if actual >= expected:
        return actual / expected
    return -expected / actual


def benchmark(
    peers: Iterable[Series], age: timedelta, trim: float = BENCHMARK_TRIM, metric: str = "views"
) -> float | None:
    """Trimmed mean of the peers' `metric` at `age` (peers with no data that old are
    skipped)."""
    values = [value for peer in peers if (value := peer.value_at_age(age, metric)) is not None]
    return trimmed_mean(values, trim)
