"""The reports publishers read: videos after the fact, publishers, and live performance.

Each report reads the items and their metric series from the warehouse in one query and
computes with `performance`; rows come back as plain dicts, ready for a table, CSV or
JSON (`shoot2top report …`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from shoot2top.warehouse.performance import (
    BENCHMARK_ITEMS,
    BENCHMARK_TRIM,
    REPORT_AGES,
    Series,
    benchmark,
    current_velocity,
    make_series,
    overperformance,
    peak_velocity,
    value_at,
)

VIDEO_MEDIA = ("video", "animated_gif")

_SERIES_SQL = """
SELECT i.platform, i.item_id, i.publisher_id, p.name, i.media_type,
       coalesce(i.title, i.text, i.description), i.created_at,
       s.observed_at, s.views,
       coalesce(s.likes, 0) + coalesce(s.shares, 0) + coalesce(s.comments, 0)
         + coalesce(s.quotes, 0)
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
        points = make_series(first[6], [(row[7], row[8], row[9]) for row in item_rows])
        series.append(
            Series(item_platform, item_id, first[2], first[3], first[4], first[5], first[6], points)
        )
    return series


def _is_video(item: Series) -> bool:
    return item.media_type in VIDEO_MEDIA


def video_report(series: list[Series], *, include_all_media: bool = False) -> list[dict[str, Any]]:
    """Per video: views and engagement 1 h, 6 h, 24 h and 7 d after publication, peak
    velocity, and its rank (by latest views) within its publisher."""
    chosen = [item for item in series if include_all_media or _is_video(item)]
    ranks = _ranks_within_publisher(chosen)
    rows = []
    for item in chosen:
        row: dict[str, Any] = {
            "platform": item.platform,
            "item_id": item.item_id,
            "publisher": item.publisher_name or item.publisher_id,
            "title": _short(item.title),
            "published": item.created_at,
        }
        for label, age in REPORT_AGES.items():
            moment = item.created_at + age
            row[f"views_{label}"] = _round(value_at(item.points, moment, "views"))
            row[f"engagement_{label}"] = _round(value_at(item.points, moment, "engagement"))
        row["latest_views"] = _round(item.latest("views"))
        row["peak_views_per_h"] = _round(peak_velocity(item.points))
        row["rank_in_publisher"] = ranks[(item.platform, item.item_id)]
        rows.append(row)
    return sorted(rows, key=lambda row: (-(row["latest_views"] or 0), row["item_id"]))


def publisher_report(series: list[Series]) -> list[dict[str, Any]]:
    """Per publisher: items, median and top latest views and engagement, best and worst
    items (by views, then engagement: Facebook Page posts carry no view counter)."""
    by_publisher: dict[tuple[str, str | None], list[Series]] = defaultdict(list)
    for item in series:
        by_publisher[(item.platform, item.publisher_id)].append(item)
    rows = []
    for (platform, publisher_id), items in by_publisher.items():
        scored = sorted(items, key=lambda item: (*_performance(item), item.item_id))
        views = sorted(_performance(item)[0] for item in items)
        engagement = sorted(_performance(item)[1] for item in items)
        best, worst = scored[-1], scored[0]
        rows.append({
            "platform": platform,
            "publisher_id": publisher_id,
            "publisher": items[0].publisher_name,
            "items": len(items),
            "videos": sum(1 for item in items if _is_video(item)),
            "median_views": _round(statistics.median(views)),
            "top_views": _round(views[-1]),
            "median_engagement": _round(statistics.median(engagement)),
            "top_engagement": _round(engagement[-1]),
            "best_item": best.item_id,
            "best_title": _short(best.title),
            "worst_item": worst.item_id,
            "worst_title": _short(worst.title),
        })  # fmt: skip
    return sorted(
        rows, key=lambda row: (-row["median_views"], row["platform"], str(row["publisher_id"]))
    )


def live_report(
    series: list[Series],
    now: datetime,
    *,
    hours: float = 24.0,
    benchmark_items: int = BENCHMARK_ITEMS,
    trim: float = BENCHMARK_TRIM,
) -> list[dict[str, Any]]:
    """Items published in the last `hours` before `now`: current views and velocity, and
    the score against the publisher's own benchmark at the same age (CrowdTangle): on
    views, or on interactions for items without views (Facebook Page posts)."""
    peers_of = _benchmark_pools(series, now)
    rows = []
    for item in series:
        if not now - timedelta(hours=hours) <= item.created_at <= now:
            continue
        age = now - item.created_at
        metric = item.score_metric
        actual = item.latest(metric, until=now)
        peers = [peer for peer in peers_of[_pool_key(item)] if peer is not item]
        peers = [peer for peer in peers if peer.created_at < item.created_at][:benchmark_items]
        expected = benchmark(peers, _observed_age(item, now), trim, metric)
        rows.append({
            "platform": item.platform,
            "item_id": item.item_id,
            "publisher": item.publisher_name or item.publisher_id,
            "media_type": item.media_type,
            "title": _short(item.title),
            "age_h": round(age.total_seconds() / 3600, 2),
            "views": _round(actual),
            "views_per_h": _round(current_velocity(item.points, now)),
            "scored_on": "interactions" if metric == "engagement" else metric,
            "benchmark": _round(expected),
            "score": None if (s := overperformance(actual, expected)) is None else round(s, 2),
        })  # fmt: skip
    return sorted(rows, key=lambda row: (-(row["score"] or float("-inf")), row["item_id"]))


def _observed_age(item: Series, now: datetime) -> timedelta:
    """The age of the item's latest observation at `now`: the benchmark compares like
    with like, the peers' views at the age the item's own views were observed."""
    seen = [point.at for point in item.points if point.at <= now]
    return seen[-1] - item.created_at


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


def _performance(item: Series) -> tuple[float, float]:
    return (item.latest("views") or 0, item.latest("engagement") or 0)


def _ranks_within_publisher(series: list[Series]) -> dict[tuple[str, str], int]:
    by_publisher: dict[tuple[str, str | None], list[Series]] = defaultdict(list)
    for item in series:
        by_publisher[(item.platform, item.publisher_id)].append(item)
    ranks = {}
    for items in by_publisher.values():
        ordered = sorted(items, key=lambda item: (*(-v for v in _performance(item)), item.item_id))
        for rank, item in enumerate(ordered, start=1):
            ranks[(item.platform, item.item_id)] = rank
    return ranks


def latest_observation(connection: Any) -> datetime | None:
    """When the warehouse last saw anything: "now" for a replayed or sample warehouse."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(observed_at) FROM metric_snapshots")
        (moment,) = cursor.fetchone()
    connection.rollback()
    return moment


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _short(text: str | None, width: int = 48) -> str | None:
    if text is None:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
