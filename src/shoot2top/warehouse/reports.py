"""The reports publishers read: videos after the fact, publishers, and live performance.

Each report reads the items and their metric series from the warehouse in one query and
computes with `performance`; rows come back as plain dicts, ready for a table, CSV or
JSON (`shoot2top report …`). What a platform did not report is unknown (None): medians,
ranks and benchmarks use the known values only, and a figure computed on interactions
rather than views sits in a column that says so.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from shoot2top.warehouse.performance import (
    BENCHMARK_ITEMS,
    BENCHMARK_TRIM,
    ENGAGEMENT,
    REPORT_AGES,
    VIEWS,
    Point,
    Series,
    benchmark,
    current_velocity,
    make_series,
    overperformance,
    peak_velocity,
)

VIDEO_MEDIA = ("video", "animated_gif")

VIDEO_COLUMNS = (
    "platform", "item_id", "publisher", "title", "published",
    *(f"{metric}_{label}" for label in REPORT_AGES for metric in ("views", "engagement")),
    "latest_views", "latest_engagement", "peak_views_per_h", "rank_in_publisher", "ranked_on",
)  # fmt: skip
PUBLISHER_COLUMNS = (
    "platform", "publisher_id", "publisher", "items", "videos", "median_views", "top_views",
    "median_engagement", "top_engagement", "best_item", "best_title", "worst_item",
    "worst_title", "rank_in_platform", "ranked_on",
)  # fmt: skip
LIVE_COLUMNS = (
    "platform", "item_id", "publisher", "media_type", "title", "age_h", "views",
    "interactions", "views_per_h", "scored_on", "benchmark", "score",
    "forecast_24h", "forecast_24h_low", "forecast_24h_high",  # shoot2top.recommend.forecast
)  # fmt: skip
REPORT_COLUMNS = {"videos": VIDEO_COLUMNS, "publishers": PUBLISHER_COLUMNS, "live": LIVE_COLUMNS}
"""Every report's columns, in order: also the header of an empty CSV."""
TABLE_COLUMNS = {
    "videos": ("platform", "publisher", "title", "latest_views", "latest_engagement",
               "views_24h", "rank_in_publisher", "published"),
    "publishers": ("platform", "publisher", "rank_in_platform", "items", "median_views",
                   "median_engagement", "best_title"),
    "live": ("score", "platform", "publisher", "title", "age_h", "views", "interactions",
             "views_per_h", "forecast_24h"),
}  # fmt: skip
"""The columns a terminal table shows unless ``--columns`` says otherwise, the most
important first (a narrow terminal leaves out the last ones)."""

_SERIES_SQL = """
SELECT i.platform, i.item_id, i.publisher_id, p.name, i.media_type,
       coalesce(i.title, i.text, i.description), i.created_at,
       s.observed_at, s.views, s.likes, s.shares, s.comments, s.quotes
FROM items i
LEFT JOIN publishers p ON p.platform = i.platform AND p.publisher_id = i.publisher_id
JOIN metric_snapshots s ON s.platform = i.platform AND s.item_id = i.item_id
WHERE (%(platform)s::text IS NULL OR i.platform = %(platform)s)
  AND (%(publisher)s::text IS NULL OR i.publisher_id = %(publisher)s)
  AND (%(until)s::timestamptz IS NULL OR s.observed_at <= %(until)s)
ORDER BY i.platform, i.item_id, s.observed_at
"""


def load_series(
    connection: Any,
    *,
    platform: str | None = None,
    publisher: str | None = None,
    until: datetime | None = None,
) -> list[Series]:
    """Every item (optionally of one platform or publisher) with its observations."""
    with connection.cursor() as cursor:
        cursor.execute(_SERIES_SQL, {"platform": platform, "publisher": publisher, "until": until})
        rows = cursor.fetchall()
    connection.rollback()
    grouped: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        grouped.setdefault((row[0], row[1]), []).append(row)
    series = []
    for (item_platform, item_id), item_rows in grouped.items():
        first = item_rows[0]
        points = make_series(first[6], [Point(*row[7:13]) for row in item_rows])
        if not points:
            continue  # observed only "before" publication (clock skew): nothing to report
        series.append(
            Series(item_platform, item_id, first[2], first[3], first[4], first[5], first[6], points)
        )
    return series


def _is_video(item: Series) -> bool:
    return item.media_type in VIDEO_MEDIA


def video_report(series: list[Series], *, include_all_media: bool = False) -> list[dict[str, Any]]:
    """Per video: views and engagement 1 h, 6 h, 24 h and 7 d after publication, peak
    velocity, and its rank within its publisher (on views, or on interactions when some
    of the publisher's videos have no view counter: `ranked_on` says which)."""
    chosen = [item for item in series if include_all_media or _is_video(item)]
    ranks = _ranks_within_publisher(chosen)
    rows = []
    for item in chosen:
        row: dict[str, Any] = {
            "platform": item.platform,
            "item_id": item.item_id,
            "publisher": item.publisher_name or item.publisher_id,
            "title": item.title,
            "published": item.created_at,
        }
        for label, age in REPORT_AGES.items():
            row[f"views_{label}"] = _round(item.value_at_age(age, VIEWS))
            row[f"engagement_{label}"] = _round(item.value_at_age(age, ENGAGEMENT))
        row["latest_views"] = _round(item.latest(VIEWS))
        row["latest_engagement"] = _round(item.latest(ENGAGEMENT))
        row["peak_views_per_h"] = _round(peak_velocity(item))
        row["rank_in_publisher"], row["ranked_on"] = ranks[(item.platform, item.item_id)]
        rows.append(row)
    return sorted(rows, key=_video_order)


def _video_order(row: dict[str, Any]) -> tuple[Any, ...]:
    """By platform, then views; videos without a view counter by their interactions
    after them (never as if they had none), and those with neither last (unknown is
    not zero)."""
    views, engaged = row["latest_views"], row["latest_engagement"]
    value = views if views is not None else engaged
    return (row["platform"], views is None, value is None, -(value or 0), row["item_id"])


def publisher_report(series: list[Series]) -> list[dict[str, Any]]:
    """Per publisher: items, median and top latest views and engagement (over the items
    that report them), best and worst item, and its rank within its platform.

    A platform's publishers are ranked on median views, or on median interactions when
    one of them has no views at all (Facebook Pages that post no videos): `ranked_on`
    says which, and a publisher never ranks low for lacking a counter."""
    by_publisher: dict[tuple[str, str | None], list[Series]] = defaultdict(list)
    for item in series:
        by_publisher[(item.platform, item.publisher_id)].append(item)
    rows: list[dict[str, Any]] = []
    for (platform, publisher_id), items in by_publisher.items():
        views = _known(item.latest(VIEWS) for item in items)
        engagement = _known(item.latest(ENGAGEMENT) for item in items)
        metric = VIEWS if views else ENGAGEMENT
        scored = sorted(
            (value, item.item_id, item)
            for item in items
            if (value := item.latest(metric)) is not None
        )  # fmt: skip
        best, worst = (scored[-1][2], scored[0][2]) if scored else (None, None)
        rows.append({
            "platform": platform,
            "publisher_id": publisher_id,
            "publisher": items[0].publisher_name,
            "items": len(items),
            "videos": sum(1 for item in items if _is_video(item)),
            "median_views": _round(statistics.median(views)) if views else None,
            "top_views": _round(views[-1]) if views else None,
            "median_engagement": _round(statistics.median(engagement)) if engagement else None,
            "top_engagement": _round(engagement[-1]) if engagement else None,
            "best_item": best.item_id if best else None,
            "best_title": best.title if best else None,
            "worst_item": worst.item_id if worst else None,
            "worst_title": worst.title if worst else None,
        })  # fmt: skip
    by_platform: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_platform[row["platform"]].append(row)
    for platform_rows in by_platform.values():
        on_views = all(row["median_views"] is not None for row in platform_rows)
        column = "median_views" if on_views else "median_engagement"
        platform_rows.sort(
            key=lambda row: (row[column] is None, -(row[column] or 0), str(row["publisher_id"]))
        )
        for rank, row in enumerate(platform_rows, start=1):
            row["rank_in_platform"] = rank
            row["ranked_on"] = "views" if on_views else "interactions"
    return sorted(rows, key=lambda row: (row["platform"], row["rank_in_platform"]))


def live_report(
    series: list[Series],
    now: datetime,
    *,
    hours: float = 24.0,
    benchmark_items: int = BENCHMARK_ITEMS,
    trim: float = BENCHMARK_TRIM,
) -> list[dict[str, Any]]:
    """Items published in the last `hours` before `now`: current views, interactions and
    velocity, and the score against the publisher's own benchmark at the same age
    (CrowdTangle): on views, or on interactions for items without views (Facebook Page
    posts) — `scored_on` says which, and the benchmark is of the same metric."""
    peers_of = _benchmark_pools(series, now)
    rows = []
    for item in series:
        if not now - timedelta(hours=hours) <= item.created_at <= now:
            continue
        age = now - item.created_at
        metric = item.score_metric
        actual = item.latest(metric, until=now)
        peers = _earlier_peers(item, peers_of[_pool_key(item)], benchmark_items)
        observed_at = item.latest_known_at(metric, now)
        expected = (
            None
            if observed_at is None
            else benchmark(peers, observed_at - item.created_at, trim, metric)
        )
        rows.append({
            "platform": item.platform,
            "item_id": item.item_id,
            "publisher": item.publisher_name or item.publisher_id,
            "media_type": item.media_type,
            "title": item.title,
            "age_h": round(age.total_seconds() / 3600, 2),
            "views": _round(item.latest(VIEWS, until=now)),
            "interactions": _round(item.latest(ENGAGEMENT, until=now)),
            "views_per_h": _round(current_velocity(item, now)),
            "scored_on": "interactions" if metric == ENGAGEMENT else metric,
            "benchmark": _round(expected),
            "score": None if (s := overperformance(actual, expected)) is None else round(s, 2),
        })  # fmt: skip
    return sorted(rows, key=lambda row: (-(row["score"] or float("-inf")), row["item_id"]))


def benchmark_peers(
    series: list[Series], item: Series, now: datetime, benchmark_items: int = BENCHMARK_ITEMS
) -> list[Series]:
    """The items `item` is benchmarked against in the live report: its publisher's last
    `benchmark_items` items of the same media type published before it."""
    return _earlier_peers(item, _benchmark_pools(series, now)[_pool_key(item)], benchmark_items)


def _earlier_peers(item: Series, pool: list[Series], benchmark_items: int) -> list[Series]:
    """From a pool (newest first), the `benchmark_items` newest published before `item`."""
    peers = [peer for peer in pool if peer is not item and peer.created_at < item.created_at]
    return peers[:benchmark_items]


def _pool_key(item: Series) -> tuple[str, str | None, str | None]:
    return (item.platform, item.publisher_id, item.media_type)


def _benchmark_pools(
    series: list[Series], now: datetime
) -> dict[tuple[str, str | None, str | None], list[Series]]:
    """Each publisher's items of each media type published before `now`, newest first."""
    pools: dict[tuple[str, str | None, str | None], list[Series]] = defaultdict(list)
    for item in series:
        if item.created_at <= now:
            pools[_pool_key(item)].append(item)
    for items in pools.values():
        items.sort(key=lambda item: (item.created_at, item.item_id), reverse=True)
    return pools


def _ranks_within_publisher(series: list[Series]) -> dict[tuple[str, str], tuple[int, str]]:
    """(rank, what it is ranked on) per item: on views when each of the publisher's
    items has them, else on interactions; items with neither come last."""
    by_publisher: dict[tuple[str, str | None], list[Series]] = defaultdict(list)
    for item in series:
        by_publisher[(item.platform, item.publisher_id)].append(item)
    ranks = {}
    for items in by_publisher.values():
        metric = VIEWS if all(item.latest(VIEWS) is not None for item in items) else ENGAGEMENT
        values = {item.item_id: item.latest(metric) for item in items}
        ordered = sorted(
            items,
            key=lambda item: (values[item.item_id] is None, -(values[item.item_id] or 0),
                              item.item_id),
        )  # fmt: skip
        label = "interactions" if metric == ENGAGEMENT else metric
        for rank, item in enumerate(ordered, start=1):
            ranks[(item.platform, item.item_id)] = (rank, label)
    return ranks


def _known(values: Any) -> list[float]:
    """The known values, sorted."""
    return sorted(value for value in values if value is not None)


def latest_observation(connection: Any) -> datetime | None:
    """When the warehouse last saw anything: "now" for a replayed or sample warehouse."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(observed_at) FROM metric_snapshots")
        (moment,) = cursor.fetchone()
    connection.rollback()
    return moment


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
