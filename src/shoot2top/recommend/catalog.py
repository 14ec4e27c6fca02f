"""What the recommendations read: every item with its performance series, terms and text,
and each item's **age-matched** performance against its publisher's own benchmark.

The age-matched score is the live score's (CrowdTangle's, `warehouse.performance`) at a
fixed age: the item's views at `SCORE_AGE` (interactions for items without views) over
the trimmed mean of its publisher's last 100 earlier items of the same media type at the
same age. Recommendations work on its logarithm, ``log(actual / expected)``: additive,
symmetric, and the live score's ratio where the item beat its benchmark. An item younger
than `SCORE_AGE` at the catalog's time, first seen too late, or whose publisher has fewer
than `MIN_BENCHMARK_PEERS` earlier items known at that age has no score (unknown, never
zero) and is left out of what needs one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shoot2top.warehouse.performance import (
    BENCHMARK_ITEMS,
    BENCHMARK_TRIM,
    ENGAGEMENT,
    VIEWS,
    Series,
    overperformance,
    trimmed_mean,
)
from shoot2top.warehouse.reports import VIDEO_MEDIA, load_series

SCORE_AGE = timedelta(hours=24)
MIN_BENCHMARK_PEERS = 5
Key = tuple[str, str]  # (platform, item id)
PublisherKey = tuple[str, str | None]  # (platform, publisher id)


class RecommendError(ValueError):
    """A recommendation cannot be made as asked; the message says what is missing."""


@dataclass(frozen=True, slots=True)
class AgeMatched:
    """An item's performance at `SCORE_AGE` against its publisher's benchmark then."""

    metric: str  # views | engagement (interactions)
    actual: float
    expected: float
    peers: int  # earlier items of the publisher behind the benchmark

    @property
    def log_ratio(self) -> float:
        """log(actual / expected); fewer than one view counts as one, as in the live score."""
        return math.log(max(self.actual, 1.0) / max(self.expected, 1.0))

    @property
    def score(self) -> float | None:
        """The live score's form: actual/expected above the benchmark, −expected/actual below."""
        return overperformance(self.actual, self.expected)


@dataclass(slots=True)
class Item:
    """One item as the recommendations see it."""

    series: Series
    hashtags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    text: str = ""  # title, text and description
    language: str | None = None

    @property
    def key(self) -> Key:
        return (self.series.platform, self.series.item_id)

    @property
    def publisher(self) -> PublisherKey:
        return (self.series.platform, self.series.publisher_id)

    @property
    def created_at(self) -> datetime:
        return self.series.created_at

    @property
    def is_video(self) -> bool:
        return self.series.media_type in VIDEO_MEDIA


@dataclass
class Catalog:
    """Items known at `as_of` (observations after it are not loaded) and their scores."""

    items: list[Item]
    as_of: datetime | None = None
    score_age: timedelta = SCORE_AGE
    scores: dict[Key, AgeMatched] = field(default_factory=dict)
    _by_publisher: dict[PublisherKey, list[Item]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.items.sort(key=lambda item: (item.created_at, item.key))
        by_publisher: dict[PublisherKey, list[Item]] = defaultdict(list)
        for item in self.items:
            by_publisher[item.publisher].append(item)
        self._by_publisher = dict(by_publisher)
        if not self.scores:
            self.scores = age_matched_scores([item.series for item in self.items], self.score_age)

    def publisher_items(self, platform: str, publisher_id: str | None) -> list[Item]:
        """The publisher's items, oldest first."""
        return self._by_publisher.get((platform, publisher_id), [])

    def platform_items(self, platform: str | None = None) -> list[Item]:
        return [item for item in self.items if platform is None or item.series.platform == platform]

    def score(self, item: Item) -> AgeMatched | None:
        return self.scores.get(item.key)

    def scored(self, items: Iterable[Item]) -> list[tuple[Item, float]]:
        """(item, log ratio) for the items that have a score."""
        return [(item, s.log_ratio) for item in items if (s := self.scores.get(item.key))]

    def find(self, key: Key) -> Item | None:
        return next((item for item in self.items if item.key == key), None)


def age_matched_scores(
    series: Sequence[Series],
    age: timedelta = SCORE_AGE,
    *,
    benchmark_items: int = BENCHMARK_ITEMS,
    trim: float = BENCHMARK_TRIM,
    min_peers: int = MIN_BENCHMARK_PEERS,
) -> dict[Key, AgeMatched]:
    """Each item's metric at `age` against the trimmed mean of its publisher's last
    `benchmark_items` earlier items of the same media type at that age (those known)."""
    pools: dict[tuple[str, str | None, str | None], list[Series]] = defaultdict(list)
    for item in series:
        pools[(item.platform, item.publisher_id, item.media_type)].append(item)
    scores: dict[Key, AgeMatched] = {}
    for pool in pools.values():
        pool.sort(key=lambda item: (item.created_at, item.item_id))
        values = {
            metric: [item.value_at_age(age, metric) for item in pool]
            for metric in (VIEWS, ENGAGEMENT)
        }
        for index, item in enumerate(pool):
            metric = item.score_metric
            actual = values[metric][index]
            if actual is None:
                continue
            start = max(0, index - benchmark_items)
            earlier = [
                value
                for peer, value in zip(pool[start:index], values[metric][start:index], strict=True)
                if value is not None and peer.created_at < item.created_at
            ]
            if len(earlier) < min_peers:
                continue
            expected = trimmed_mean(earlier, trim)
            if expected is not None and expected > 0:
                scores[(item.platform, item.item_id)] = AgeMatched(
                    metric, actual, expected, len(earlier)
                )
    return scores


_TEXT_SQL = """
SELECT i.platform, i.item_id, i.language, concat_ws(' ', i.title, i.text, i.description),
       coalesce((SELECT array_agg(h.hashtag ORDER BY h.hashtag) FROM item_hashtags h
                 WHERE h.platform = i.platform AND h.item_id = i.item_id), '{}'),
       coalesce((SELECT array_agg(k.keyword ORDER BY k.keyword) FROM item_keywords k
                 WHERE k.platform = i.platform AND k.item_id = i.item_id), '{}')
FROM items i
WHERE (%(platform)s::text IS NULL OR i.platform = %(platform)s)
  AND (%(until)s::timestamptz IS NULL OR i.created_at <= %(until)s)
"""


def load_catalog(
    connection: Any,
    *,
    platform: str | None = None,
    until: datetime | None = None,
    score_age: timedelta = SCORE_AGE,
) -> Catalog:
    """The items published and observed up to `until` (default: everything), with their
    terms and text (the newest the warehouse holds) and their age-matched scores."""
    series = load_series(connection, platform=platform, until=until)
    if until is not None:
        series = [one for one in series if one.created_at <= until]
    rows = _fetch(connection, _TEXT_SQL, {"platform": platform, "until": until})
    text = {(row[0], row[1]): row[2:] for row in rows}
    return build_catalog(series, text, as_of=until, score_age=score_age)


def build_catalog(
    series: Iterable[Series],
    text: Mapping[Key, Sequence[Any]],
    *,
    as_of: datetime | None = None,
    score_age: timedelta = SCORE_AGE,
) -> Catalog:
    """A catalog from series and, per item, (language, text, hashtags, keywords)."""
    items = []
    for one in series:
        language, words, hashtags, keywords = text.get((one.platform, one.item_id)) or (
            None, "", (), ()
        )  # fmt: skip
        items.append(Item(one, tuple(hashtags), tuple(keywords), words or "", language))
    return Catalog(items, as_of=as_of, score_age=score_age)


@dataclass(frozen=True, slots=True)
class PublisherRef:
    platform: str
    publisher_id: str
    name: str | None


def find_publisher(connection: Any, publisher: str, platform: str | None = None) -> PublisherRef:
    """The publisher with this id (or handle, case-insensitive), on `platform` if given."""
    rows = _fetch(
        connection,
        "SELECT platform, publisher_id, name FROM publishers"
        " WHERE (publisher_id = %(p)s OR lower(handle) = lower(%(p)s)"
        "        OR lower(handle) = lower('@' || %(p)s))"
        "   AND (%(platform)s::text IS NULL OR platform = %(platform)s)"
        " ORDER BY platform, publisher_id",
        {"p": publisher, "platform": platform},
    )
    if not rows:
        where = f" on {platform}" if platform else ""
        raise RecommendError(
            f"no publisher {publisher!r}{where} in the warehouse "
            "(`shoot2top report publishers --columns platform,publisher_id,publisher` lists "
            "their ids)"
        )
    if len(rows) > 1:
        found = ", ".join(f"{row[0]}:{row[1]}" for row in rows)
        raise RecommendError(
            f"publisher {publisher!r} is ambiguous ({found}): choose one with --platform"
        )
    return PublisherRef(*rows[0])


def find_item(connection: Any, item_id: str, platform: str | None = None) -> Key:
    """The (platform, item id) of an item id, on `platform` if given."""
    rows = _fetch(
        connection,
        "SELECT platform, item_id FROM items WHERE item_id = %(i)s"
        " AND (%(platform)s::text IS NULL OR platform = %(platform)s)",
        {"i": item_id, "platform": platform},
    )
    if not rows:
        where = f" on {platform}" if platform else ""
        raise RecommendError(
            f"no item {item_id!r}{where} in the warehouse "
            "(`shoot2top report videos --columns platform,item_id,title` lists their ids)"
        )
    if len(rows) > 1:
        raise RecommendError(f"item id {item_id!r} is on several platforms: choose with --platform")
    return (rows[0][0], rows[0][1])


def _fetch(connection: Any, sql: str, parameters: dict[str, Any]) -> list[Any]:
    """All rows of a read-only query (its transaction ended, so no snapshot is held)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        rows = cursor.fetchall()
    connection.rollback()
    return rows
