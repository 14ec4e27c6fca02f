"""When to post: the hours of the week ranked by how a publisher's posts do when posted
then, on age-matched performance, shrunk toward the platform's pattern where the
publisher's own data is thin.

The outcome of a post is its age-matched log score (`catalog`), centred on the
publisher's mean, so a slot's value says how much better than the publisher's typical
post a post in that hour does (×1.5 = half as much again, at the same age). Per
publisher and for the whole platform, each hour-of-week slot in the publisher's time zone
gets a kernel-weighted mean: posts in the same hour and the neighbouring ones of the same
day count fully (a Gaussian of one hour's width), the same hours on the other days of the
week count `OTHER_DAYS_WEIGHT` — so a daily habit is found from a few weeks of data and a
weekday-only one still stands out. The publisher's slot mean is then shrunk toward the
platform's (empirical Bayes): with ``n`` effective posts behind it, its own data weighs
``n / (n + k)``, ``k = noise variance / τ²``, where τ² is how far publishers' slot effects
stand from the platform's beyond their noise (method of moments): the larger of the
platform's publishers' pooled figure and this publisher's own, so a publisher whose hours
clearly differ is trusted sooner. ``k`` is returned (`Timing.half_weight_items`): a slot
with more effective posts than that follows the publisher's own pattern more than the
platform's. Intervals are the posterior's and include the platform pattern's own
uncertainty.

Anchors: Sprout Social's Optimal Send Times aggregate each profile's own engagement
history into send-time scores and fall back to the network's aggregated pattern in the
profile's time zone when a profile's history is too thin; Spasojevic et al., "When-To-Post
on Social Networks" (KDD 2015), build personalised weekly schedules from the reactions to
each user's posts within 24 h, in the user's time zone, and measure the gain of posts
that fell in recommended times.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from shoot2top.recommend.catalog import Catalog, Item, RecommendError
from shoot2top.recommend.stats import z_value

HOURS_PER_WEEK = 168
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BANDWIDTH_H = 1.0  # the Gaussian kernel's width over hours of the same day
KERNEL_REACH_H = 3  # hours beyond which the kernel is cut
OTHER_DAYS_WEIGHT = 0.3  # the same hours on the other days of the week
MIN_PRIOR_VAR = 1e-3  # a floor on the between-publisher variance (k stays finite)


@dataclass(frozen=True, slots=True)
class Slot:
    """One hour of the week for one publisher, in its time zone."""

    rank: int
    slot: int  # hour of the week: 0 = Monday 00:00-01:00 local time
    day: str
    hour: int
    expected: float  # × the publisher's typical age-matched performance
    low: float  # interval on `expected`
    high: float
    items: int  # the publisher's scored posts in exactly this hour
    support: float  # effective posts behind the publisher's own estimate (kernel-weighted)
    own_weight: float  # the publisher's own data's share of `expected` (the rest: platform)
    platform: float  # the other publishers' pattern here (the prior), × typical


@dataclass(frozen=True)
class Timing:
    """The ranked slots and what they rest on."""

    platform: str
    publisher_id: str
    zone: str
    slots: list[Slot]  # best first
    items: int  # the publisher's scored posts
    platform_items: int  # the platform's scored posts (all publishers)
    half_weight_items: float  # k: effective posts per slot at which own data weighs half
    noise_sd: float  # spread of single posts' log scores around their slot's value
    between_sd: float  # spread of publishers' slot effects around the platform's

    def top(self, count: int) -> set[int]:
        return {slot.slot for slot in self.slots[:count]}


def zone_named(name: str | None) -> tzinfo:
    """An IANA time zone (UTC when none is given); `RecommendError` for an unknown name."""
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RecommendError(
            f"time zone {name!r} is not an IANA name such as Europe/Paris"
        ) from None


def hour_of_week(moment: datetime, zone: tzinfo = UTC) -> int:
    local = moment.astimezone(zone)
    return local.weekday() * 24 + local.hour


def slot_label(slot: int) -> str:
    return f"{DAYS[slot // 24]} {slot % 24:02d}:00"


def kernel() -> np.ndarray:
    """168 × 168 weights: how much a post in hour t says about hour s."""
    hours = np.arange(HOURS_PER_WEEK)
    week_distance = np.abs(hours[:, None] - hours[None, :])
    week_distance = np.minimum(week_distance, HOURS_PER_WEEK - week_distance)
    hour_distance = week_distance % 24
    hour_distance = np.minimum(hour_distance, 24 - hour_distance)
    weights = np.exp(-(hour_distance**2) / (2 * BANDWIDTH_H**2))
    weights[hour_distance > KERNEL_REACH_H] = 0.0
    same_day = week_distance <= 12
    return np.where(same_day, weights, OTHER_DAYS_WEIGHT * weights)


_KERNEL = kernel()


@dataclass
class _Smoothed:
    mean: np.ndarray  # kernel-weighted mean of centred log scores per slot (0 where none)
    weight: np.ndarray  # sum of weights
    effective: np.ndarray  # Kish effective sample size: (sum w)^2 / sum w^2
    counts: np.ndarray  # posts in exactly each slot


def _tally(slots: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(posts, sum of centred log scores) per slot."""
    counts = np.bincount(slots, minlength=HOURS_PER_WEEK).astype(float)
    return counts, np.bincount(slots, weights=values, minlength=HOURS_PER_WEEK)


def _smooth(counts: np.ndarray, sums: np.ndarray) -> _Smoothed:
    weight = _KERNEL @ counts
    squares = (_KERNEL**2) @ counts
    mean = np.divide(_KERNEL @ sums, weight, out=np.zeros(HOURS_PER_WEEK), where=weight > 0)
    effective = np.divide(weight**2, squares, out=np.zeros(HOURS_PER_WEEK), where=squares > 0)
    return _Smoothed(mean, weight, effective, counts)


def _centred_by_publisher(
    scored: list[tuple[Item, float]], zone: tzinfo
) -> dict[tuple[str, str | None], tuple[np.ndarray, np.ndarray]]:
    """Per publisher: (slots, log scores minus the publisher's mean)."""
    grouped: dict[tuple[str, str | None], list[tuple[int, float]]] = defaultdict(list)
    for item, value in scored:
        grouped[item.publisher].append((hour_of_week(item.created_at, zone), value))
    out = {}
    for publisher, pairs in grouped.items():
        slots = np.array([slot for slot, _ in pairs], dtype=int)
        values = np.array([value for _, value in pairs])
        out[publisher] = (slots, values - values.mean())
    return out


def recommend_timing(
    catalog: Catalog,
    platform: str,
    publisher_id: str,
    *,
    zone: tzinfo = UTC,
    level: float = 0.9,
) -> Timing:
    """All 168 hour-of-week slots for a publisher, best first (see the module doc)."""
    scored = catalog.scored(catalog.platform_items(platform))
    if not scored:
        raise RecommendError(
            f"no {platform} item has an age-matched score yet (an item is scored "
            f"{catalog.score_age.total_seconds() / 3600:g} h after publication, against "
            "earlier items of its publisher)"
        )
    by_publisher = _centred_by_publisher(scored, zone)
    all_values = np.concatenate([values for _, values in by_publisher.values()])
    noise_var = max(float(np.var(all_values)), 1e-6)
    tallies = {key: _tally(*pair) for key, pair in by_publisher.items()}
    total = (sum(c for c, _ in tallies.values()), sum(s for _, s in tallies.values()))
    empty = (np.zeros(HOURS_PER_WEEK), np.zeros(HOURS_PER_WEEK))

    def prior_of(key: tuple[str, str | None]) -> tuple[np.ndarray, np.ndarray]:
        """The platform's pattern from the other publishers (a publisher's own posts are
        not its own prior), and its posterior variance."""
        counts, sums = tallies.get(key, empty)
        return _shrunk_platform_pattern(_smooth(total[0] - counts, total[1] - sums), noise_var)

    pairs = [(_smooth(*tally), prior_of(key)[0]) for key, tally in tallies.items()]
    pooled_var = _between_publisher_variance(pairs, noise_var)
    mine = _smooth(*tallies.get((platform, publisher_id), empty))
    platform_pattern, platform_var = prior_of((platform, publisher_id))
    own_var = _between_publisher_variance([(mine, platform_pattern)], noise_var)
    prior_var = max(own_var, pooled_var)
    k = noise_var / prior_var
    weight = mine.effective / (mine.effective + k)
    mean = weight * mine.mean + (1 - weight) * platform_pattern
    # The publisher's own deviation from the platform, and the platform's pattern itself,
    # are both estimates: the interval carries both.
    sd = np.sqrt(
        1.0 / (mine.effective / noise_var + 1.0 / prior_var) + (1 - weight) ** 2 * platform_var
    )
    z = z_value(level)
    order = sorted(range(HOURS_PER_WEEK), key=lambda s: (-mean[s], s))
    slots = [
        Slot(
            rank=rank,
            slot=s,
            day=DAYS[s // 24],
            hour=s % 24,
            expected=float(np.exp(mean[s])),
            low=float(np.exp(mean[s] - z * sd[s])),
            high=float(np.exp(mean[s] + z * sd[s])),
            items=int(mine.counts[s]),
            support=float(mine.effective[s]),
            own_weight=float(weight[s]),
            platform=float(np.exp(platform_pattern[s])),
        )
        for rank, s in enumerate(order, start=1)
    ]
    return Timing(
        platform=platform,
        publisher_id=publisher_id,
        zone=str(zone),
        slots=slots,
        items=int(mine.counts.sum()),
        platform_items=len(scored),
        half_weight_items=float(k),
        noise_sd=float(np.sqrt(noise_var)),
        between_sd=float(np.sqrt(prior_var)),
    )


def _shrunk_platform_pattern(pooled: _Smoothed, noise_var: float) -> tuple[np.ndarray, np.ndarray]:
    """The platform's slot means, shrunk toward zero (no time effect) where thin, and
    their posterior variances."""
    excess = pooled.mean**2 - noise_var / np.maximum(pooled.effective, 1e-9)
    informative = pooled.effective > 0
    if not informative.any():
        return np.zeros(HOURS_PER_WEEK), np.full(HOURS_PER_WEEK, MIN_PRIOR_VAR)
    prior_var = max(float(np.mean(excess[informative])), MIN_PRIOR_VAR)
    weight = pooled.effective / (pooled.effective + noise_var / prior_var)
    return weight * pooled.mean, 1.0 / (pooled.effective / noise_var + 1.0 / prior_var)


def _between_publisher_variance(
    pairs: list[tuple[_Smoothed, np.ndarray]], noise_var: float
) -> float:
    """Method of moments: how far publishers' slot effects stand from the platform's
    (their prior), beyond what their sampling noise explains."""
    excess: list[float] = []
    weights: list[float] = []
    for smoothed, prior in pairs:
        informative = smoothed.effective >= 1.0
        gap = (smoothed.mean - prior)[informative]
        noise = noise_var / smoothed.effective[informative]
        excess.extend(gap**2 - noise)
        weights.extend(smoothed.effective[informative])
    if not excess:
        return MIN_PRIOR_VAR
    return max(float(np.average(excess, weights=weights)), MIN_PRIOR_VAR)
