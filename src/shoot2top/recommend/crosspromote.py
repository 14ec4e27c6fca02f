"""What to cross-promote: for each trend active now, the publisher's existing videos that
match it, ranked by relevance and by how well each did, with the reason.

A video published before the trend began (its back catalog) matches a trend by:

- **the term itself**: it carries the trending hashtag or keyword (relevance 1), or its
  text holds the term written another way (``derby day``, ``Derby-Day`` for
  ``#derbyday``: `textsim.containment`, relevance = the share of the term found);
- **what the trend is about**: its text resembles the posts that carry the trend now
  (any publisher, any language), by character n-gram TF-IDF cosine (`textsim`), which
  needs no word segmentation and so works in every script. A cosine of `FULL_SIMILARITY`
  or more counts as fully relevant.

Relevance is the strongest of the three; videos below `MIN_RELEVANCE` are not shown.
Among relevant videos, better performers rank higher: the order is relevance ×
(``1 − PERFORMANCE_WEIGHT`` + ``PERFORMANCE_WEIGHT`` × the video's percentile of
age-matched performance among the publisher's videos; unknown = the middle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shoot2top.recommend.catalog import Catalog, Item
from shoot2top.recommend.textsim import (
    Vectorizer,
    centroid,
    containment,
    contrast,
    cosine,
    grams,
)
from shoot2top.recommend.trends import ActiveTrend

MIN_RELEVANCE = 0.5
FULL_SIMILARITY = 0.3
PERFORMANCE_WEIGHT = 0.2
CONTEXT_WINDOW = timedelta(hours=24)  # trend posts read when the trend gives no onset
CONTEXT_ITEMS = 300
BACKGROUND_ITEMS = 1000
PER_TREND = 5


@dataclass(frozen=True, slots=True)
class Promotion:
    trend: str  # "#derbyday", "hailstorm"
    rank: int
    platform: str
    item_id: str
    title: str | None
    published: datetime
    relevance: float  # 0..1
    matched: tuple[str, ...]  # terms it shares with the trend, as written in it
    similarity: float  # cosine to the trend's posts
    performance: float | None  # its age-matched score (×benchmark above, −× below)
    reason: str


def crosspromote(
    catalog: Catalog,
    platform: str,
    publisher_id: str,
    trends: Sequence[ActiveTrend],
    *,
    now: datetime,
    per_trend: int = PER_TREND,
    min_relevance: float = MIN_RELEVANCE,
    videos_only: bool = True,
) -> list[Promotion]:
    """Up to `per_trend` videos of the publisher per trend that applies to its platform."""
    own = [
        item
        for item in catalog.publisher_items(platform, publisher_id)
        if item.created_at <= now and (item.is_video or not videos_only)
    ]
    percentile = _performance_percentiles(catalog, own)
    counts = {item.key: grams(item.text) for item in own}
    promotions: list[Promotion] = []
    for trend in trends:
        if not trend.applies_to(platform):
            continue
        begun = trend.onset_at or trend.detected_at or now - CONTEXT_WINDOW
        candidates = [item for item in own if item.created_at < begun]
        context = _trend_posts(catalog, trend, begun, now)
        context_counts = [grams(item.text) for item in context]
        background = [grams(item.text) for item in _background(catalog, trend, begun)]
        vectorizer = Vectorizer([*counts.values(), *context_counts, *background])
        about = contrast(
            centroid(vectorizer.vector(c) for c in context_counts),
            centroid(vectorizer.vector(c) for c in background),
        )
        ranked = []
        for item in candidates:
            exact = _shares(item, trend)
            contained = 1.0 if exact else containment(trend.term, item.text, vectorizer)
            similarity = cosine(vectorizer.vector(counts[item.key]), about) if about else 0.0
            relevance = max(contained, min(1.0, similarity / FULL_SIMILARITY))
            if relevance < min_relevance:
                continue
            order = relevance * (
                1 - PERFORMANCE_WEIGHT + PERFORMANCE_WEIGHT * percentile.get(item.key, 0.5)
            )
            ranked.append((order, item, relevance, exact, contained, similarity))
        ranked.sort(key=lambda entry: (-entry[0], entry[1].key))
        for rank, (_, item, relevance, exact, contained, similarity) in enumerate(
            ranked[:per_trend], start=1
        ):
            score = catalog.score(item)
            performance = score.score if score else None
            promotions.append(
                Promotion(
                    trend.label, rank, item.series.platform, item.series.item_id,
                    item.series.title, item.created_at, round(relevance, 3), exact,
                    round(similarity, 3), None if performance is None else round(performance, 2),
                    _reason(trend, exact, contained, similarity, len(context), performance),
                )
            )  # fmt: skip
    return promotions


def _shares(item: Item, trend: ActiveTrend) -> tuple[str, ...]:
    """The trend's term as the item carries it: as a hashtag and/or as a keyword."""
    found = []
    if trend.term in item.hashtags:
        found.append(f"#{trend.term}")
    if trend.term in item.keywords:
        found.append(trend.term)
    return tuple(found)


def _trend_posts(
    catalog: Catalog, trend: ActiveTrend, begun: datetime, now: datetime
) -> list[Item]:
    """The posts that carry the trend since it began (any publisher on its scope), and
    its top items, newest first, at most `CONTEXT_ITEMS`."""
    tops = set(trend.top_items)
    found = [
        item
        for item in catalog.items
        if trend.applies_to(item.series.platform)
        and (item.key in tops or (begun <= item.created_at <= now and _shares(item, trend)))
    ]
    found.sort(key=lambda item: item.created_at, reverse=True)
    return found[:CONTEXT_ITEMS]


def _background(catalog: Catalog, trend: ActiveTrend, begun: datetime) -> list[Item]:
    """What the platform's posts were like before the trend: the newest
    `BACKGROUND_ITEMS` posts on its scope published before it began."""
    found = [
        item
        for item in catalog.items
        if item.created_at < begun and trend.applies_to(item.series.platform)
    ]
    return found[-BACKGROUND_ITEMS:]


def _performance_percentiles(catalog: Catalog, items: list[Item]) -> dict[tuple[str, str], float]:
    scored = sorted((s.log_ratio, item.key) for item in items if (s := catalog.score(item)))
    if len(scored) < 2:
        return {key: 0.5 for _, key in scored}
    return {key: rank / (len(scored) - 1) for rank, (_, key) in enumerate(scored)}


def _reason(
    trend: ActiveTrend,
    exact: tuple[str, ...],
    contained: float,
    similarity: float,
    context: int,
    performance: float | None,
) -> str:
    parts = []
    if exact:
        parts.append(f"carries {' and '.join(exact)}")
    elif contained >= 1.0:
        parts.append(f"mentions {trend.label} in other words")
    elif contained > 0:
        parts.append(f"holds {contained:.0%} of {trend.label}")
    if similarity > 0:
        parts.append(f"reads like the trend's {context} posts (similarity {similarity:.2f})")
    if performance is None:
        parts.append("performance unknown")
    elif performance >= 1:
        parts.append(f"did ×{performance:.1f} its benchmark")
    else:
        parts.append(f"did ×{1 / -performance:.2f} its benchmark")
    return f"{trend.label} trending: " + "; ".join(parts)
