"""Early forecasts: from an item's first observations, its views (interactions for items
without views) at 24 h and 7 d, with an interval, from its publisher's history of
similar items.

Everything is age-matched. At the age ``a`` of the item's latest observation, each
history item (same publisher, platform and media type, published earlier, with the
horizon observed) gives its growth to the horizon, ``r = log1p(v(H)) − log1p(v(a))``,
and its *shape* then, ``s = log1p(v(a)) − log1p(v(a/2))``: how much of its audience
came in the second half of its life so far — still climbing (a long-lived video) or
already flattening (a burst). The forecast takes the median growth of the `neighbours`
history items whose shape is closest to the item's (analogues), and the interval is
the item's forecast plus the quantiles of the history's own leave-one-out errors
(a jackknife interval: calibrated by construction when the future resembles the
history). With fewer than `MIN_HISTORY` such items of the publisher, the platform's
items of the same media type are used, and without a shape (no observation old enough)
the median growth of all of them (the baseline's method).

The naive baseline (`baseline_forecast`) is the publisher's median growth curve: the
median of ``r`` over the same history, its interval the quantiles of ``r``.

A horizon the item has already reached is *observed* (interpolated between its own
observations), not forecast; one before its first observation is unknown.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np

from shoot2top.warehouse.performance import ENGAGEMENT, Series

HORIZONS: dict[str, timedelta] = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
LEVEL = 0.8
MIN_HISTORY = 20
MAX_HISTORY = 400  # the publisher's most recent similar items
MIN_AGE = timedelta(minutes=5)  # younger than that, there is nothing to read yet
FORECAST, OBSERVED, UNKNOWN = "forecast", "observed", "unknown"
SHAPE, MEDIAN = "growth shape", "median growth"


@dataclass(frozen=True, slots=True)
class Forecast:
    platform: str
    item_id: str
    horizon: str  # 24h | 7d
    metric: str  # views | interactions
    status: str  # forecast | observed | unknown
    value: float | None
    low: float | None  # the `level` interval
    high: float | None
    level: float
    from_age_h: float | None  # the age of the observation it starts from
    current: float | None  # the metric then
    history: int  # similar items behind it
    method: str | None  # growth shape | median growth (with "platform" when pooled)
    note: str | None = None


def neighbours(count: int) -> int:
    """How many analogues: a fifth of the history, between 10 and 50."""
    return max(10, min(50, count // 5))


def forecast_item(
    item: Series,
    history: History | Sequence[Series],
    now: datetime,
    *,
    horizons: dict[str, timedelta] = HORIZONS,
    level: float = LEVEL,
    shape: bool = True,
) -> list[Forecast]:
    """The item's value at each horizon, from what was observed of it by `now`.
    ``shape=False`` is the naive baseline: the publisher's median growth curve."""
    if not isinstance(history, History):
        history = History(history)
    item = item.as_of(now)  # its metric, counters and figures as known then
    metric = item.score_metric
    shown = "interactions" if metric == ENGAGEMENT else metric
    seen = item.latest_known_at(metric, now)
    age = None if seen is None else seen - item.created_at
    # What was known by `now` (each counter's last value then), as the live report shows:
    # interpolating at `seen` would read a counter towards an observation after `now`.
    current = None if seen is None else item.latest(metric, until=now)
    out = []
    for label, horizon in horizons.items():
        base: dict[str, Any] = {
            "platform": item.platform, "item_id": item.item_id, "horizon": label,
            "metric": shown, "level": level, "current": current,
            "from_age_h": None if age is None else round(age.total_seconds() / 3600, 3),
        }  # fmt: skip
        if age is not None and age >= horizon:
            value = item.value_at_age(horizon, metric)
            if value is None:
                out.append(_unknown(base, "not observed then"))
            else:
                out.append(Forecast(**base, status=OBSERVED, value=value, low=value,
                                    high=value, history=0, method=None))  # fmt: skip
            continue
        if age is None or current is None or age < MIN_AGE:
            out.append(_unknown(base, "not observed yet"))
            continue
        found = _predict(item, history, metric, age, horizon, current, level, shape=shape)
        if found is None:
            out.append(_unknown(base, f"fewer than {MIN_HISTORY} similar items with {label} known"))
            continue
        value, low, high, count, method = found
        out.append(Forecast(**base, status=FORECAST, value=value, low=low, high=high,
                            history=count, method=method))  # fmt: skip
    return out


def _unknown(fields: dict[str, Any], note: str) -> Forecast:
    return Forecast(
        **fields, status=UNKNOWN, value=None, low=None, high=None, history=0, method=None,
        note=note,
    )  # fmt: skip


def value_at_age(item: Series, age: timedelta, metric: str) -> float | None:
    """The metric `age` after publication, read between the two observations around it
    on a power law (a straight line in log-log), which follows an early, concave growth
    curve far closer than a straight line does: a history item's value at an age it was
    not observed at is then read as close as an item's own observation (a straight chord
    reads below the curve, which would make history items look slower than the item
    forecast from them). From publication (zero) to the first observation, linear."""
    names = item.counters(metric)
    if not names:
        return None
    moment = item.created_at + age
    total = 0.0
    for name in names:
        value = _power_interpolate(item.curve(name), moment, item.created_at)
        if value is None:
            return None
        total += value
    return total


def _power_interpolate(
    curve: Sequence[tuple[datetime, float]], moment: datetime, created: datetime
) -> float | None:
    if not curve or moment < curve[0][0] or moment > curve[-1][0]:
        return None
    for (before_at, low), (after_at, high) in pairwise(curve):
        if before_at <= moment <= after_at:
            t0, t1 = (before_at - created).total_seconds(), (after_at - created).total_seconds()
            t = (moment - created).total_seconds()
            if t0 > 0 and low > 0 and high > 0 and t1 > t0:
                return low * (high / low) ** (math.log(t / t0) / math.log(t1 / t0))
            share = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            return low + (high - low) * share
    return curve[0][1]


class History:
    """Past items indexed for forecasting: per platform and media type, oldest first.

    What a forecast reads of them (values at the item's age, to the minute, and at the
    horizon) is computed once per pool, age and horizon, and reused for every item
    forecast from the same place in the pool (a report's items, an evaluation's test
    week)."""

    def __init__(self, series: Sequence[Series]) -> None:
        pools: dict[tuple[str, str | None], list[Series]] = defaultdict(list)
        for one in series:
            pools[(one.platform, one.media_type)].append(one)
        for pool in pools.values():
            pool.sort(key=lambda one: (one.created_at, one.item_id))
        self._pools = dict(pools)
        self._created = {key: [one.created_at for one in pool] for key, pool in pools.items()}
        self._cache: dict[tuple[Any, ...], Any] = {}

    def rows(
        self, item: Series, metric: str, age: timedelta, horizon: timedelta
    ) -> tuple[list[tuple[float, float, float | None]], bool]:
        """(log1p v(a), log1p v(H), log1p v(a/2) or None) of the publisher's earlier
        items of the same platform and media type (else the platform's), the newest
        `MAX_HISTORY` with both values known; and whether the platform's were used."""
        key = (item.platform, item.media_type)
        pool = self._pools.get(key, [])
        before = bisect_left(self._created.get(key, []), item.created_at)
        minute = timedelta(minutes=round(age.total_seconds() / 60))
        for pooled in (False, True):
            who = None if pooled else item.publisher_id
            cached = (key, who, before, metric, minute, horizon)
            rows = self._cache.get(cached)
            if rows is None:
                rows = self._read(pool[:before], who, metric, minute, horizon)
                self._cache[cached] = rows
            if len(rows) >= MIN_HISTORY:
                return rows, pooled
        return [], True

    @staticmethod
    def _read(
        pool: Sequence[Series],
        publisher: str | None,
        metric: str,
        age: timedelta,
        horizon: timedelta,
    ) -> list[tuple[float, float, float | None]]:
        rows = []
        for other in reversed(pool):
            if other.score_metric != metric or (publisher and other.publisher_id != publisher):
                continue
            start = value_at_age(other, age, metric)
            end = value_at_age(other, horizon, metric)
            if start is None or end is None:
                continue
            half = value_at_age(other, age / 2, metric)
            rows.append((math.log1p(start), math.log1p(end),
                         None if half is None else math.log1p(half)))  # fmt: skip
            if len(rows) >= MAX_HISTORY:
                break
        return rows

    def errors(self, rows: list[Any], shapes: np.ndarray, growths: np.ndarray, k: int) -> Any:
        """The leave-one-out errors of the shape forecast over these rows (cached)."""
        cached = ("errors", id(rows), k)
        found = self._cache.get(cached)
        if found is None:
            found = growths - _leave_one_out(shapes, growths, k)
            self._cache[cached] = found
        return found


def _predict(
    item: Series,
    history: History,
    metric: str,
    age: timedelta,
    horizon: timedelta,
    current: float,
    level: float,
    *,
    shape: bool,
) -> tuple[float, float, float, int, str] | None:
    rows, pooled = history.rows(item, metric, age, horizon)
    if not rows:
        return None
    start = math.log1p(current)
    tail = (1 - level) / 2
    half = value_at_age(item, age / 2, metric)
    shaped = [(begin - mid, end - begin) for begin, end, mid in rows if mid is not None]
    where = " (platform)" if pooled else ""
    if shape and half is not None and len(shaped) >= MIN_HISTORY:
        shapes = np.array([s for s, _ in shaped])
        growths = np.array([g for _, g in shaped])
        k = neighbours(len(shapes))
        mine = start - math.log1p(half)
        nearest = np.argsort(np.abs(shapes - mine), kind="stable")[:k]
        predicted = float(np.median(growths[nearest]))
        errors = history.errors(rows, shapes, growths, k)
        low_error, high_error = np.quantile(errors, [tail, 1 - tail])
        low, high = predicted + low_error, predicted + high_error
        method, count = SHAPE + where, len(shaped)
    else:
        growth = np.array([end - begin for begin, end, _ in rows])
        predicted = float(np.median(growth))
        low, high = (float(q) for q in np.quantile(growth, [tail, 1 - tail]))
        method, count = MEDIAN + where, len(rows)
    # Counters never fall: the forecast is at least what is already there.
    value, low_value, high_value = (
        max(current, math.expm1(start + g)) for g in (predicted, low, high)
    )
    return value, low_value, high_value, count, method


def _leave_one_out(shapes: np.ndarray, growths: np.ndarray, k: int) -> np.ndarray:
    """Each history item's forecast from the others' (its `k` nearest shapes)."""
    distance = np.abs(shapes[:, None] - shapes[None, :])
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :k]
    return np.median(growths[nearest], axis=1)


def add_forecasts(
    rows: list[dict[str, Any]], series: Sequence[Series], now: datetime, horizon: str = "24h"
) -> list[dict[str, Any]]:
    """Rows of `report live` with `forecast_<horizon>` and its interval, from the same
    series (the history is whatever was observed by `now`)."""
    by_key = {(one.platform, one.item_id): one for one in series}
    history = History(series)
    for row in rows:
        item = by_key.get((row["platform"], row["item_id"]))
        found = (
            forecast_item(item, history, now, horizons={horizon: HORIZONS[horizon]})[0]
            if item is not None
            else None
        )
        value = found.value if found else None
        row[f"forecast_{horizon}"] = None if value is None else round(value, 1)
        row[f"forecast_{horizon}_low"] = (
            None if not found or found.low is None else round(found.low, 1)
        )
        row[f"forecast_{horizon}_high"] = (
            None if not found or found.high is None else round(found.high, 1)
        )
    return rows
