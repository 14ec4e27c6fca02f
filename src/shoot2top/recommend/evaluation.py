"""Out-of-time evaluation of the recommendations on a world with planted truth
(`synthetic`): fit on the earlier weeks, test on the last, against naive baselines, with
bootstrap intervals. Everything goes through the same library functions as the CLI.
`bench/recommend.py` runs it on a warehouse loaded from the generated items."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from shoot2top.recommend.catalog import Catalog, Item
from shoot2top.recommend.crosspromote import crosspromote
from shoot2top.recommend.forecast import HORIZONS, History, forecast_item
from shoot2top.recommend.stats import bootstrap_interval
from shoot2top.recommend.synthetic import World
from shoot2top.recommend.terms import recommend_terms
from shoot2top.recommend.timing import HOURS_PER_WEEK, hour_of_week, recommend_timing
from shoot2top.recommend.trends import ActiveTrend

TOP_SLOTS = 24  # recommended hours of the week: the best seventh
BOOTSTRAP_ROUNDS = 1000
LEVEL = 0.9  # of the bootstrap intervals

Row = tuple[bool, bool, float]  # (in ours, in the baseline's, centred log score)


def _uplift(strata: Sequence[Sequence[Row]], which: int) -> float | None:
    """Pooled within-publisher difference of mean log score, in recommended vs not:
    each publisher weighs n_in·n_out/(n_in+n_out), the precision of its difference."""
    total, weights = 0.0, 0.0
    for rows in strata:
        inside = [row[2] for row in rows if row[which]]
        outside = [row[2] for row in rows if not row[which]]
        if not inside or not outside:
            continue
        weight = len(inside) * len(outside) / (len(inside) + len(outside))
        total += weight * (statistics.fmean(inside) - statistics.fmean(outside))
        weights += weight
    return total / weights if weights else None


def _compare(strata: list[list[Row]], *, seed: int) -> dict[str, Any]:
    """Ours vs the baseline: uplifts as ×−1 (0.5 = half as much again), their intervals,
    and the interval of the difference of log uplifts (paired: same resamples)."""
    ours, base = _uplift(strata, 0), _uplift(strata, 1)

    def diff(sample: list[list[Row]]) -> float | None:
        a, b = _uplift(sample, 0), _uplift(sample, 1)
        return None if a is None or b is None else a - b

    ci = bootstrap_interval(strata, lambda s: _uplift(s, 0), level=LEVEL,
                            rounds=BOOTSTRAP_ROUNDS, seed=seed)  # fmt: skip
    base_ci = bootstrap_interval(strata, lambda s: _uplift(s, 1), level=LEVEL,
                                 rounds=BOOTSTRAP_ROUNDS, seed=seed)  # fmt: skip
    diff_ci = bootstrap_interval(strata, diff, level=LEVEL, rounds=BOOTSTRAP_ROUNDS, seed=seed)
    return {
        "uplift": _times(ours),
        "uplift_ci": _times_pair(ci),
        "baseline_uplift": _times(base),
        "baseline_uplift_ci": _times_pair(base_ci),
        "log_uplift_vs_baseline": _round(None if ours is None or base is None else ours - base),
        "log_uplift_vs_baseline_ci": _round_pair(diff_ci),
        "test_items": sum(len(rows) for rows in strata),
    }


def _test_scores(catalog: Catalog, world: World, platform: str, publisher: str) -> list[Item]:
    end = world.test_start + timedelta(days=7)
    return [
        item
        for item in catalog.publisher_items(platform, publisher)
        if world.test_start <= item.created_at < end and catalog.score(item)
    ]


def _centred(catalog: Catalog, items: list[Item]) -> list[float]:
    values = []
    for item in items:
        score = catalog.score(item)
        if score is None:  # the items come from _test_scores, which keeps scored ones
            raise ValueError(f"item {item.key} has no score")
        values.append(score.log_ratio)
    mean = statistics.fmean(values) if values else 0.0
    return [value - mean for value in values]


# ----------------------------------------------------------------------------- timing


def global_hour_of_week(catalog: Catalog, platform: str, zone: Any) -> list[int]:
    """The naive baseline: hours of the week ranked by the raw mean (publisher-centred)
    log score of every post on the platform, no smoothing, no personalisation."""
    sums, counts = np.zeros(HOURS_PER_WEEK), np.zeros(HOURS_PER_WEEK)
    by_publisher: dict[Any, list[tuple[Item, float]]] = defaultdict(list)
    for item, value in catalog.scored(catalog.platform_items(platform)):
        by_publisher[item.publisher].append((item, value))
    for pairs in by_publisher.values():
        mean = statistics.fmean(value for _, value in pairs)
        for item, value in pairs:
            slot = hour_of_week(item.created_at, zone)
            sums[slot] += value - mean
            counts[slot] += 1
    means = np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
    return sorted(range(HOURS_PER_WEEK), key=lambda s: (-means[s], s))


def evaluate_timing(train: Catalog, full: Catalog, world: World, *, seed: int = 1) -> dict:
    strata: list[list[Row]] = []
    found, planted, recommended, halves = 0, 0, 0, []
    for (platform, publisher), truth in sorted(world.publishers.items()):
        zone = ZoneInfo(truth.zone)
        timing = recommend_timing(train, platform, publisher, zone=zone)
        ours = timing.top(TOP_SLOTS)
        base = set(global_hour_of_week(train, platform, zone)[:TOP_SLOTS])
        halves.append(timing.half_weight_items)
        found += len(ours & truth.good_slots)
        planted += len(truth.good_slots)
        recommended += len(ours)
        items = _test_scores(full, world, platform, publisher)
        strata.append([
            (slot in ours, slot in base, value)
            for item, value in zip(items, _centred(full, items), strict=True)
            if (slot := hour_of_week(item.created_at, zone)) is not None
        ])  # fmt: skip
    result = _compare(strata, seed=seed)
    result["planted_slot_recall"] = round(found / planted, 3)
    result["planted_slot_precision"] = round(found / recommended, 3)
    result["half_weight_items"] = round(statistics.median(halves), 1)
    return result


# ----------------------------------------------------------------------------- terms


def evaluate_terms(train: Catalog, full: Catalog, world: World, *, seed: int = 2) -> dict:
    """Recovery of the planted hashtag lifts (precision and recall of the helps/hurts
    verdicts), and the test-week uplift of posts that use a term the product says helps.

    The naive baseline tests each term on its own (the raw difference of mean log score
    with and without it, a 90% Welch interval; no adjustment for the terms it comes
    with, no shrinkage, no multiplicity control). A stricter comparison gives the raw
    ranking as many terms as ours recommends (`topk_*`)."""
    tallies = {"ours": [0, 0], "naive": [0, 0]}  # [true verdicts, verdicts]
    planted = 0
    per_publisher: list[tuple[int, int, int, int, int]] = []
    strata: list[list[Row]] = []
    topk_strata: list[list[Row]] = []
    for (platform, publisher), truth in sorted(world.publishers.items()):
        planted_terms = {
            ("hashtag", tag, "helps" if lift > 1 else "hurts")
            for tag, lift in truth.term_lifts.items()
        }
        planted += len(planted_terms)
        before = (*tallies["ours"], *tallies["naive"])
        ours: dict[str, set[tuple[str, str]]] = {"helps": set(), "hurts": set()}
        for row in recommend_terms(train, platform, publisher).terms:
            if row.verdict in ours:
                members = {(row.kind, row.term.lstrip("#")), *row.group}
                ours[row.verdict] |= members
                tallies["ours"][1] += 1
                tallies["ours"][0] += any(
                    (kind, term, row.verdict) in planted_terms for kind, term in members
                )
        naive = _naive_verdicts(train, platform, publisher)
        for verdict, terms in naive.items():
            tallies["naive"][1] += len(terms)
            tallies["naive"][0] += sum((k, t, verdict) in planted_terms for k, t in terms)
        after = (*tallies["ours"], *tallies["naive"])
        ours_true, ours_all, naive_true, naive_all = (
            b - a for a, b in zip(before, after, strict=True)
        )
        per_publisher.append((ours_true, ours_all, naive_true, naive_all, len(planted_terms)))
        ranked = _raw_ranking(train, platform, publisher)[: max(1, len(ours["helps"]))]
        items = _test_scores(full, world, platform, publisher)
        centred = _centred(full, items)
        strata.append([
            (_uses(item, ours["helps"]), _uses(item, naive["helps"]), value)
            for item, value in zip(items, centred, strict=True)
        ])  # fmt: skip
        topk_strata.append([
            (_uses(item, ours["helps"]), _uses(item, set(ranked)), value)
            for item, value in zip(items, centred, strict=True)
        ])  # fmt: skip
    out = _compare(strata, seed=seed)
    topk = _compare(topk_strata, seed=seed)
    out["topk_baseline_uplift"] = topk["baseline_uplift"]
    out["topk_baseline_uplift_ci"] = topk["baseline_uplift_ci"]
    out["log_uplift_vs_topk_ci"] = topk["log_uplift_vs_baseline_ci"]
    for name, (true, total) in tallies.items():
        prefix = "" if name == "ours" else "baseline_"
        out[f"{prefix}precision"] = round(true / total, 3) if total else None
        out[f"{prefix}recall"] = round(true / planted, 3)
        out[f"{prefix}verdicts"] = total
    out["planted"] = planted
    out["f1"], out["baseline_f1"] = _f1(per_publisher, 0), _f1(per_publisher, 2)
    out["f1_gain_ci"] = _round_pair(
        bootstrap_interval(
            [per_publisher], lambda s: _f1(s[0], 0) - _f1(s[0], 2), level=LEVEL, seed=seed
        )
    )
    return out


def _f1(rows: Sequence[tuple[int, int, int, int, int]], offset: int) -> float:
    """F1 of the verdicts pooled over publishers: rows hold (true, verdicts) of ours at
    offset 0 and the baseline's at 2, and the planted count last."""
    true = sum(row[offset] for row in rows)
    made = sum(row[offset + 1] for row in rows)
    planted = sum(row[4] for row in rows)
    if not true:
        return 0.0
    precision, recall = true / made, true / planted
    return round(2 * precision * recall / (precision + recall), 3)


def _publisher_terms(
    catalog: Catalog, platform: str, publisher: str
) -> tuple[dict[tuple[str, str], list[float]], list[float]]:
    """Per term, the publisher-centred log scores of the posts that carry it; and all."""
    scored = catalog.scored(catalog.publisher_items(platform, publisher))
    mean = statistics.fmean(value for _, value in scored)
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for item, value in scored:
        for tag in item.hashtags:
            values[("hashtag", tag)].append(value - mean)
        for word in item.keywords:
            values[("keyword", word)].append(value - mean)
    return values, [value - mean for _, value in scored]


def _naive_verdicts(
    catalog: Catalog, platform: str, publisher: str, min_support: int = 5
) -> dict[str, set[tuple[str, str]]]:
    """Each term tested alone: helps (hurts) when the 90% Welch interval of the raw
    difference with/without it lies above (below) zero."""
    values, everything = _publisher_terms(catalog, platform, publisher)
    total, count = sum(everything), len(everything)
    square = sum(v * v for v in everything)
    out: dict[str, set[tuple[str, str]]] = {"helps": set(), "hurts": set()}
    for term, carrying in values.items():
        n = len(carrying)
        if n < min_support or count - n < 2:
            continue
        rest_sum, rest_square = total - sum(carrying), square - sum(v * v for v in carrying)
        rest_mean = rest_sum / (count - n)
        rest_var = (
            max(rest_square / (count - n) - rest_mean**2, 0.0) * (count - n) / (count - n - 1)
        )
        diff = statistics.fmean(carrying) - rest_mean
        se = math.sqrt(statistics.variance(carrying) / n + rest_var / (count - n))
        if diff - 1.645 * se > 0:
            out["helps"].add(term)
        elif diff + 1.645 * se < 0:
            out["hurts"].add(term)
    return out


def _raw_ranking(
    catalog: Catalog, platform: str, publisher: str, min_support: int = 5
) -> list[tuple[str, str]]:
    """The publisher's terms by raw mean log score of the posts carrying them."""
    values, _ = _publisher_terms(catalog, platform, publisher)
    ranked = [(statistics.fmean(v), term) for term, v in values.items() if len(v) >= min_support]
    return [term for _, term in sorted(ranked, key=lambda pair: (-pair[0], pair[1]))]


def _uses(item: Item, terms: set[tuple[str, str]]) -> bool:
    return any(("hashtag", tag) in terms for tag in item.hashtags) or any(
        ("keyword", word) in terms for word in item.keywords
    )


# ----------------------------------------------------------------------------- cross-promotion

LOOK = 5


def evaluate_crosspromote(
    catalog_at: Callable[[datetime], Catalog], world: World, *, seed: int = 3
) -> dict:
    """Precision@5 of each (trend, publisher)'s recommendations against its planted
    back-catalog matches, two hours after the trend's onset; baselines: the publisher's
    best videos (popularity) and exact term matches ranked by performance."""
    pairs: list[tuple[float, float, float]] = []
    for trend in world.trends:
        now = trend.onset + timedelta(hours=2)
        catalog = catalog_at(now)
        active = [ActiveTrend(trend.term, trend.kind, score=10.0, onset_at=trend.onset)]
        for (term, platform, publisher), planted in sorted(world.matches.items()):
            if term != trend.term:
                continue
            rows = crosspromote(catalog, platform, publisher, active, now=now, per_trend=LOOK)
            ours = [row.item_id for row in rows][:LOOK]
            candidates = [
                item for item in catalog.publisher_items(platform, publisher)
                if item.is_video and item.created_at < trend.onset
            ]  # fmt: skip
            best = sorted(candidates, key=lambda item: -_performance(catalog, item))
            popular = [item.series.item_id for item in best[:LOOK]]
            exact = [
                item.series.item_id for item in best
                if trend.term in item.hashtags or trend.term in item.keywords
            ][:LOOK]  # fmt: skip
            precision = [
                sum(1 for item_id in chosen if item_id in planted) / LOOK
                for chosen in (ours, popular, exact)
            ]
            pairs.append((precision[0], precision[1], precision[2]))

    def mean(index: int) -> Callable[[list[list[Any]]], float]:
        return lambda sample: statistics.fmean(row[index] for row in sample[0])

    def gap(sample: list[list[Any]]) -> float:
        return statistics.fmean(row[0] - max(row[1], row[2]) for row in sample[0])

    return {
        "precision_at_5": round(mean(0)([pairs]), 3),
        "precision_at_5_ci": _round_pair(bootstrap_interval([pairs], mean(0), seed=seed)),
        "baseline_popular_precision_at_5": round(mean(1)([pairs]), 3),
        "baseline_exact_precision_at_5": round(mean(2)([pairs]), 3),
        "gain_over_best_baseline_ci": _round_pair(bootstrap_interval([pairs], gap, seed=seed)),
        "pairs": len(pairs),
    }


def _performance(catalog: Catalog, item: Item) -> float:
    score = catalog.score(item)
    return score.log_ratio if score else -math.inf


# ----------------------------------------------------------------------------- forecast


def evaluate_forecast(
    train: Catalog, full: Catalog, world: World, *, first: timedelta = timedelta(hours=1),
    seed: int = 4,
) -> dict:  # fmt: skip
    """Each test-week item forecast from its first hour, with the training weeks as
    history, against the exact outcomes; baseline: the publisher's median growth curve."""
    history = History([item.series for item in train.items])
    end = world.test_start + timedelta(days=7)
    rows: dict[str, list[tuple[float, float, bool, bool]]] = {label: [] for label in HORIZONS}
    for item in full.items:
        if not world.test_start <= item.created_at < end:
            continue
        outcome = world.outcomes.get(item.key)
        if outcome is None or item.series.score_metric != outcome.metric:
            continue
        now = item.created_at + first
        ours = {f.horizon: f for f in forecast_item(item.series, history, now)}
        base = {f.horizon: f for f in forecast_item(item.series, history, now, shape=False)}
        for label in HORIZONS:
            actual = outcome.at_24h if label == "24h" else outcome.at_7d
            mine, theirs = ours.get(label), base.get(label)
            if actual <= 0 or mine is None or theirs is None:
                continue
            if mine.value is None or theirs.value is None:
                continue
            rows[label].append((
                abs(mine.value - actual) / actual,
                abs(theirs.value - actual) / actual,
                mine.low is not None and mine.low <= actual <= (mine.high or 0),
                theirs.low is not None and theirs.low <= actual <= (theirs.high or 0),
            ))  # fmt: skip
    out: dict[str, Any] = {}
    for label, errors in rows.items():

        def mdape(sample: list[list[Any]], index: int) -> float:
            return statistics.median(row[index] for row in sample[0])

        out[f"mape_{label}"] = _round(mdape([errors], 0))
        out[f"baseline_mape_{label}"] = _round(mdape([errors], 1))
        out[f"mape_{label}_ci"] = _round_pair(
            bootstrap_interval([errors], lambda s: mdape(s, 0), seed=seed)
        )
        out[f"mape_gain_{label}_ci"] = _round_pair(
            bootstrap_interval([errors], lambda s: mdape(s, 1) - mdape(s, 0), seed=seed)
        )
        out[f"coverage_80_{label}"] = _round(statistics.fmean(row[2] for row in errors))
        out[f"baseline_coverage_80_{label}"] = _round(statistics.fmean(row[3] for row in errors))
        out[f"items_{label}"] = len(errors)
    both = rows["24h"] + rows["7d"]
    out["coverage_80"] = _round(statistics.fmean(row[2] for row in both))
    out["coverage_80_ci"] = _round_pair(
        bootstrap_interval([both], lambda s: statistics.fmean(r[2] for r in s[0]), seed=seed)
    )
    return out


# ----------------------------------------------------------------------------- helpers


def _times(log_value: float | None) -> float | None:
    return None if log_value is None else round(math.exp(log_value) - 1, 3)


def _times_pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [round(math.exp(value) - 1, 3) for value in pair]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _round_pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [round(value, 3) for value in pair]
