"""How an item performs over time: its metric series and what the reports derive from it.

A series holds the item's observations; each counter (views, likes, shares, comments,
quotes) is read from the observations that reported it — a counter a platform did not
give is unknown there, never zero. Between two known values a counter is interpolated
linearly; after its last known value it is unknown. Before its first one it is unknown
too, unless the item was first seen young (`PUBLICATION_ANCHOR`): then the counter is
taken to start at zero at publication. Engagement (interactions) is the sum of the
interactions the item's platform reports, each interpolated on its own. The benchmark is
CrowdTangle's: the trimmed mean of the publisher's own recent items of the same type at
the same age.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
# A counter starts at zero at publication only when its first known value was observed
# at most this long after it: an hour is the shortest report age, so a report's figures
# at 1 h and later always lie between real observations, and an item first seen days
# later never gets invented early views.
PUBLICATION_ANCHOR = HOUR
INTERACTIONS = ("likes", "shares", "comments", "quotes")
COUNTERS = ("views", *INTERACTIONS)
VIEWS, ENGAGEMENT = "views", "engagement"

Curve = list[tuple[datetime, float]]  # the known values of one counter, in time order


@dataclass(frozen=True, slots=True)
class Point:
    """One observation: each counter, None where the platform did not report it."""

    at: datetime
    views: float | None = None
    likes: float | None = None
    shares: float | None = None
    comments: float | None = None
    quotes: float | None = None


@dataclass
class Series:
    """One item's identity and its observations (no point is invented)."""

    platform: str
    item_id: str
    publisher_id: str | None
    publisher_name: str | None
    media_type: str | None
    title: str | None
    created_at: datetime
    points: list[Point]
    _curves: dict[str, Curve] = field(default_factory=dict, repr=False, compare=False)

    @property
    def last_observed(self) -> datetime:
        return self.points[-1].at

    def as_of(self, moment: datetime) -> Series:
        """The item as it was known at `moment`: its observations up to then (itself when
        it has none later), so nothing computed from it can read the future."""
        if not self.points or self.points[-1].at <= moment:
            return self
        known = [point for point in self.points if point.at <= moment]
        return Series(self.platform, self.item_id, self.publisher_id, self.publisher_name,
                      self.media_type, self.title, self.created_at, known)  # fmt: skip

    def curve(self, counter: str) -> Curve:
        """The known values of a counter, from zero at publication when first seen young."""
        found = self._curves.get(counter)
        if found is None:
            found = [
                (p.at, value) for p in self.points if (value := getattr(p, counter)) is not None
            ]
            if found and self.created_at < found[0][0] <= self.created_at + PUBLICATION_ANCHOR:
                found.insert(0, (self.created_at, 0.0))
            self._curves[counter] = found
        return found

    def counters(self, metric: str) -> tuple[str, ...]:
        """The counters a metric adds up: views, or the interactions this item reports."""
        if metric == VIEWS:
            return (VIEWS,)
        return tuple(name for name in INTERACTIONS if self.curve(name))

    def value_at(self, moment: datetime, metric: str = VIEWS) -> float | None:
        """The metric at `moment`, interpolated; None where any of its counters is unknown."""
        names = self.counters(metric)
        total = 0.0
        for name in names:
            value = interpolate(self.curve(name), moment)
            if value is None:
                return None
            total += value
        return total if names else None

    def reported(self, point: Point, metric: str = VIEWS) -> float | None:
        """The metric as one observation reported it: None where it lacks one of the
        counters the metric adds up (a missed field is unknown, not zero)."""
        names = self.counters(metric)
        values = [getattr(point, name) for name in names]
        return None if not names or None in values else sum(values)

    def value_at_age(self, age: timedelta, metric: str = VIEWS) -> float | None:
        """The metric (``views`` or ``engagement``) `age` after publication."""
        return self.value_at(self.created_at + age, metric)

    def latest(self, metric: str, until: datetime | None = None) -> float | None:
        """The last known value of a metric (at or before `until`): for engagement, the
        sum of each interaction's last known value; None if one is not known yet."""
        names = self.counters(metric)
        total = 0.0
        for name in names:
            known = [value for at, value in self.curve(name) if until is None or at <= until]
            if not known:
                return None
            total += known[-1]
        return total if names else None

    def latest_known_at(self, metric: str, until: datetime) -> datetime | None:
        """When the metric was last observed at or before `until` (its newest counter)."""
        times = [
            curve[-1][0]
            for name in self.counters(metric)
            if (curve := [point for point in self.curve(name) if point[0] <= until])
        ]
        return max(times) if times else None

    @property
    def score_metric(self) -> str:
        """What the item is scored on: views where its platform counts them, else its
        interactions (Facebook Page posts have no views; CrowdTangle scores them so)."""
        return VIEWS if self.curve(VIEWS) else ENGAGEMENT


def make_series(created_at: datetime, observations: Iterable[Point]) -> list[Point]:
    """The observations in time order, one per instant (the last wins), none before
    publication (clock skew: an observation cannot precede it)."""
    by_time: dict[datetime, Point] = {}
    for point in observations:
        if point.at >= created_at:
            by_time[point.at] = point
    return [by_time[at] for at in sorted(by_time)]


def interpolate(curve: Sequence[tuple[datetime, float]], moment: datetime) -> float | None:
    """A counter at `moment` on the straight lines between its known values; None
    before the first and after the last."""
    if not curve or moment < curve[0][0] or moment > curve[-1][0]:
        return None
    for (before_at, low), (after_at, high) in pairwise(curve):
        if before_at <= moment <= after_at:
            share = (moment - before_at).total_seconds() / (after_at - before_at).total_seconds()
            return low + (high - low) * share
    return curve[0][1]  # a single known value, exactly at `moment`


def velocities(curve: Sequence[tuple[datetime, float]]) -> list[float]:
    """Units per hour between consecutive known values."""
    rates = []
    for (before_at, low), (after_at, high) in pairwise(curve):
        hours = (after_at - before_at).total_seconds() / 3600
        if hours > 0:
            rates.append((high - low) / hours)
    return rates


def peak_velocity(item: Series) -> float | None:
    """The fastest views per hour between two known values."""
    rates = velocities(item.curve(VIEWS))
    return max(rates) if rates else None


def current_velocity(item: Series, now: datetime) -> float | None:
    """Views per hour over the last interval between known views at or before `now`."""
    seen = [point for point in item.curve(VIEWS) if point[0] <= now]
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
    peers: Iterable[Series], age: timedelta, trim: float = BENCHMARK_TRIM, metric: str = VIEWS
) -> float | None:
    """Trimmed mean of the peers' `metric` at `age`; peers for which it is unknown at that
    age (too young, first seen later, no such counter) are left out."""
    values = [value for peer in peers if (value := peer.value_at_age(age, metric)) is not None]
    return trimmed_mean(values, trim)
