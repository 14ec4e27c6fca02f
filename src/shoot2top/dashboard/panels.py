"""What the dashboard shows, as JSON: each view is a list of tables (columns and rows)
with notes, computed by the same report code as the CLI.

Views: **live** (overperforming now: the live report, with how fresh each figure is),
**trends** (the trends stage's events, when its table exists), **publisher** (the
publishers report, and any panel registered with `register_publisher_panel`: the
extension point for timing, terms and cross-promotion), **health** (pipelines' status
files, the warehouse's loaders and lag, Storm's topology from Nimbus).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shoot2top.posts import format_time
from shoot2top.runtime.status import read_statuses
from shoot2top.warehouse.performance import Series
from shoot2top.warehouse.reports import (
    latest_observation,
    live_report,
    load_series,
    publisher_report,
)

log = logging.getLogger(__name__)

LIVE_ROWS = 40
TREND_ROWS = 30
RATE_WINDOW_S = 60.0

Column = tuple[str, str, str]  # key, label, kind (text, number, int, score, time, hours)


def table(title: str, columns: list[Column], rows: list[dict[str, Any]], note: str = "") -> dict:
    """A table for the page: its columns (key, label, kind) and rows of plain values."""
    return {
        "title": title,
        "columns": [{"key": key, "label": label, "kind": kind} for key, label, kind in columns],
        "rows": [{key: _plain(row.get(key)) for key, _, _ in columns} for row in rows],
        "note": note,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


@dataclass
class PanelContext:
    """What a panel may use: a read-only connection, every item's series as of `now`."""

    connection: Any
    series: list[Series]
    now: datetime


PublisherPanel = Callable[[PanelContext], dict | None]
_PUBLISHER_PANELS: list[tuple[str, PublisherPanel]] = []


EXTENSIONS = ("shoot2top.recommend.dashboard",)
"""Modules imported when the dashboard starts, if they exist, to register their panels
(`shoot2top recommend`: when to post, terms, cross-promotion)."""


def load_extensions() -> list[str]:
    """Import the extension modules that are installed; returns their names."""
    import importlib

    loaded = []
    for name in EXTENSIONS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is None or not name.startswith(error.name):
                raise  # the module exists but something it imports is missing
            continue
        loaded.append(name)
    return loaded


def register_publisher_panel(name: str, build: PublisherPanel) -> None:
    """Add a table to the publisher view (e.g. when to post, terms, cross-promotion,
    from `shoot2top recommend`): `build(context)` returns `table(...)` or None to
    show nothing. A panel that fails shows its error in its place, not the page's."""
    global _PUBLISHER_PANELS
    _PUBLISHER_PANELS = [(n, b) for n, b in _PUBLISHER_PANELS if n != name] + [(name, build)]


@dataclass
class CommitLog:
    """The warehouse loaders' commits heard on the NOTIFY channel: items/s per loader."""

    events: deque[tuple[float, str, int, int]] = field(default_factory=lambda: deque(maxlen=10_000))
    totals: dict[str, list[int]] = field(default_factory=dict)

    def add(self, component: str, loaded: int, dead_lettered: int) -> None:
        self.events.append((time.monotonic(), component, loaded, dead_lettered))
        total = self.totals.setdefault(component, [0, 0, 0])
        total[0] += 1
        total[1] += loaded
        total[2] += dead_lettered

    def rows(self) -> list[dict[str, Any]]:
        cutoff = time.monotonic() - RATE_WINDOW_S
        recent: dict[str, int] = {}
        for at, component, loaded, _ in self.events:
            if at >= cutoff:
                recent[component] = recent.get(component, 0) + loaded
        return [
            {"component": component, "commits": commits, "loaded": loaded,
             "dead_lettered": dead, "items_per_s": recent.get(component, 0) / RATE_WINDOW_S}
            for component, (commits, loaded, dead) in sorted(self.totals.items())
        ]  # fmt: skip


@dataclass
class Settings:
    """What the dashboard reads besides the warehouse, and what "now" is."""

    state_dir: Path | None = None
    nimbus: tuple[str, int] | None = None
    now: str = "latest"  # or "now": the wall clock
    hours: float = 24.0
    warehouse_label: str = "warehouse"


def snapshot(connection: Any, settings: Settings, commits: CommitLog) -> dict[str, Any]:
    """Every view, computed now from the warehouse and the pipelines' status."""
    started = time.monotonic()
    latest = latest_observation(connection)
    now = datetime.now(UTC) if settings.now == "now" or latest is None else latest
    series = load_series(connection, until=now)
    context = PanelContext(connection, series, now)
    views = {
        "live": _guarded("live", lambda: live_view(context, settings)),
        "trends": _guarded("trends", lambda: trends_view(connection)),
        "publisher": publisher_view(context),
        "health": _guarded("health", lambda: health_view(connection, settings, commits, latest)),
    }
    return {
        "as_of": format_time(now) if latest is not None else None,
        "as_of_is": "the newest observation" if settings.now != "now" else "the clock",
        "newest_observation": format_time(latest) if latest else None,
        "generated_at": format_time(datetime.now(UTC)),
        "compute_s": round(time.monotonic() - started, 3),
        "warehouse": settings.warehouse_label,
        "views": views,
    }


def _guarded(name: str, build: Callable[[], dict]) -> dict:
    try:
        return build()
    except Exception as error:  # one view failing must not blank the page
        log.warning("dashboard view %s failed: %s", name, error)
        connection_error = f"{type(error).__name__}: {error}"
        return {"tables": [], "notes": [f"this view failed: {connection_error}"]}


def live_view(context: PanelContext, settings: Settings) -> dict[str, Any]:
    """Overperforming now: items of the last hours scored against their publisher's
    benchmark, and how old each figure is (when its metric was last observed)."""
    rows = live_report(context.series, context.now, hours=settings.hours)
    by_id = {(item.platform, item.item_id): item for item in context.series}
    for row in rows:
        item = by_id[(row["platform"], row["item_id"])]
        seen = item.latest_known_at(item.score_metric, context.now)
        row["fresh_min"] = None if seen is None else (context.now - seen).total_seconds() / 60
    scored = [row for row in rows if row["score"] is not None]
    note = (
        f"{len(rows)} items published in the {settings.hours:g} h before "
        f"{format_time(context.now)}; {sum(1 for r in scored if r['score'] > 1)} above "
        "their publisher's benchmark. Score: actual/expected above it, −expected/actual "
        "below (CrowdTangle); 'fresh' is how long ago the figure was observed."
    )
    live = table("Overperforming now", LIVE_COLUMNS, rows[:LIVE_ROWS], note)
    return {"tables": [live], "notes": []}


LIVE_COLUMNS: list[Column] = [
    ("score", "score", "score"), ("platform", "platform", "text"),
    ("publisher", "publisher", "text"), ("title", "title", "text"),
    ("age_h", "age (h)", "hours"), ("views", "views", "number"),
    ("interactions", "interactions", "number"), ("views_per_h", "views/h", "number"),
    ("benchmark", "benchmark", "number"), ("scored_on", "scored on", "text"),
    ("fresh_min", "fresh (min)", "number"), ("item_id", "id", "text"),
]  # fmt: skip


TREND_COLUMNS: list[Column] = [
    ("term", "term", "text"), ("kind", "kind", "text"), ("scope", "scope", "text"),
    ("status", "status", "text"), ("volume", "volume", "int"),
    ("expected", "expected", "number"), ("ratio", "volume / expected", "number"),
    ("score", "score", "number"), ("publishers", "publishers", "int"),
    ("detected_at", "detected", "time"),
]  # fmt: skip


def trends_view(connection: Any) -> dict[str, Any]:
    """The trends stage's events, newest first: each term's volume against expected."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('trends') IS NOT NULL")
        (present,) = cursor.fetchone()
        if not present:
            connection.rollback()
            return {"tables": [], "notes": [
                "The trends stage is not set up in this warehouse (it has no trends table): "
                "run a pipeline with the trends stage to see micro-trends here."
            ]}  # fmt: skip
        cursor.execute("SELECT * FROM trends LIMIT 0")
        names = [column.name for column in cursor.description]
        order = "detected_at DESC" if "detected_at" in names else "1"
        cursor.execute(f"SELECT * FROM trends ORDER BY {order} LIMIT %s", (TREND_ROWS,))
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    connection.rollback()
    for row in rows:
        if row.get("volume") is not None and row.get("expected"):
            row["ratio"] = row["volume"] / row["expected"]
    columns = [c for c in TREND_COLUMNS if c[0] in names or c[0] == "ratio"]
    note = "" if rows else "No trend detected yet."
    return {"tables": [table("Trends now", columns, rows, note)], "notes": []}


def publisher_view(context: PanelContext) -> dict[str, Any]:
    """The publishers report, then every registered publisher panel."""
    tables = []
    for name, build in [("report", _publishers_table), *_PUBLISHER_PANELS]:
        try:
            built = build(context)
        except Exception as error:
            log.warning("dashboard publisher panel %s failed: %s", name, error)
            built = table(name, [], [], f"this panel failed: {type(error).__name__}: {error}")
        if built is not None:
            tables.append(built)
    notes = [] if _PUBLISHER_PANELS else [
        "When to post, terms and cross-promotion appear here once `shoot2top recommend` "
        "registers its panels (shoot2top.dashboard.panels.register_publisher_panel)."
    ]  # fmt: skip
    return {"tables": tables, "notes": notes}


def _publishers_table(context: PanelContext) -> dict:
    rows = publisher_report(context.series)
    return table(
        "Publishers",
        [("platform", "platform", "text"), ("rank_in_platform", "rank", "int"),
         ("publisher", "publisher", "text"), ("items", "items", "int"),
         ("videos", "videos", "int"), ("median_views", "median views", "number"),
         ("median_engagement", "median interactions", "number"),
         ("ranked_on", "ranked on", "text"), ("best_title", "best item", "text")],
        rows,
        "Medians of the latest figures over the items that report them (unknown is not 0).",
    )  # fmt: skip


def health_view(
    connection: Any, settings: Settings, commits: CommitLog, latest: datetime | None
) -> dict[str, Any]:
    """Pipelines (items/s per source and sink, lag, dead letters), the warehouse
    (loaders' commits, newest observation, dead letters) and Storm (from Nimbus)."""
    tables = [_pipelines_table(settings.state_dir)] if settings.state_dir else []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dead_letters")
        (dead,) = cursor.fetchone()
    connection.rollback()
    lag = None if latest is None else (datetime.now(UTC) - latest).total_seconds()
    tables.append(table(
        "Warehouse loaders (commits heard since the dashboard started)",
        [("component", "loader", "text"), ("commits", "commits", "int"),
         ("loaded", "items loaded", "int"), ("items_per_s", "items/s (last min)", "number"),
         ("dead_lettered", "dead-lettered", "int")],
        commits.rows(),
        f"Newest observation {format_time(latest) if latest else 'none'}"
        + (f" ({_duration(lag)} ago)" if lag is not None else "")
        + f"; {dead:,} dead letter(s) in the warehouse.",
    ))  # fmt: skip
    if settings.nimbus:
        from shoot2top.dashboard.nimbus import storm_table

        tables.append(storm_table(*settings.nimbus))
    return {"tables": tables, "notes": []}


def _pipelines_table(state_dir: Path) -> dict:
    rows = []
    for status in read_statuses(state_dir):
        state = "running" if status.get("running") else f"stopped ({status.get('stopped_by')})"
        for name, source in status.get("sources", {}).items():
            total = source.get("bytes_total")
            done = f"{100 * source['bytes_read'] / total:.0f} %" if total else ""
            rows.append({"pipeline": status["pipeline"], "state": state, "component": name,
                         "kind": "source", "items": source.get("items"),
                         "items_per_s": source.get("items_per_s"), "lag_s": source.get("lag_s"),
                         "detail": done, "dead_letters": status.get("dead_letters"),
                         "updated_at": status.get("updated_at")})  # fmt: skip
        for name, sink in status.get("sinks", {}).items():
            rows.append({"pipeline": status["pipeline"], "state": state, "component": name,
                         "kind": "sink", "items": sink.get("stored"),
                         "items_per_s": sink.get("items_per_s"),
                         "detail": f"{sink.get('pending', 0):,} pending",
                         "dead_letters": status.get("dead_letters"),
                         "updated_at": status.get("updated_at")})  # fmt: skip
    return table(
        f"Pipelines in {state_dir}",
        [("pipeline", "pipeline", "text"), ("state", "state", "text"),
         ("kind", "", "text"), ("component", "component", "text"), ("items", "items", "int"),
         ("items_per_s", "items/s", "number"), ("lag_s", "lag (s)", "number"),
         ("detail", "", "text"), ("dead_letters", "dead letters", "int"),
         ("updated_at", "updated", "time")],
        rows,
        "" if rows else "No pipeline has run with this state directory yet.",
    )  # fmt: skip


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
