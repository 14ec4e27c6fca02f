"""`shoot2top report trends`: the trends stage's events from the warehouse, each term's
volume against the volume its history predicted, and a chart of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shoot2top.recommend.trends import SIGNS

TREND_COLUMNS = (
    "label", "kind", "scope", "status", "onset_at", "detected_at", "peak_at", "ended_at",
    "volume", "expected", "ratio", "score", "publishers", "method", "top_items",
)  # fmt: skip
TREND_TABLE_COLUMNS = (
    "label", "scope", "status", "detected_at", "volume", "expected", "ratio", "publishers",
    "ended_at",
)  # fmt: skip
SIGN_OF = {kind: sign for sign, kind in SIGNS.items()}


def trend_report(connection: Any, now: datetime, hours: float) -> list[dict[str, Any]]:
    """Trends detected in the `hours` before `now` (newest first), ended or not by then;
    one ended after `now` shows as rising."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT term, kind, scope, status, onset_at, detected_at, peak_at, ended_at,"
            " volume, expected, score, publishers, method, top_items FROM trends"
            " WHERE detected_at <= %(now)s AND detected_at > %(since)s"
            " ORDER BY detected_at DESC, volume DESC, term",
            {"now": now, "since": now - timedelta(hours=hours)},
        )
        names = [description[0] for description in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    connection.rollback()
    for row in rows:
        if row["ended_at"] is not None and row["ended_at"] > now:
            row["status"], row["ended_at"] = "rising", None  # as it was known at `now`
        row["label"] = SIGN_OF.get(row["kind"], "") + row.pop("term")
        row["expected"] = round(row["expected"], 1)
        row["ratio"] = round(row["volume"] / max(row["expected"], 1.0), 1)
        row["score"] = round(row["score"], 1)
        row["top_items"] = " ".join(f"{i['platform']}:{i['item_id']}" for i in row["top_items"])
    return rows


def latest_trend(connection: Any, scope: str | None = None) -> datetime | None:
    """When the newest trend in the warehouse (of `scope`: a platform) was detected
    (None: none yet)."""
    with connection.cursor() as cursor:
        if scope is None:
            cursor.execute("SELECT max(detected_at) FROM trends")
        else:
            cursor.execute("SELECT max(detected_at) FROM trends WHERE scope = %s", (scope,))
        (moment,) = cursor.fetchone()
    connection.rollback()
    return moment


def trend_chart(rows: list[dict[str, Any]], path: str | Path, title: str) -> Path:
    """Horizontal bars: each trend's volume beside its expected volume."""
    from shoot2top.warehouse.render import _pyplot

    pyplot = _pyplot()
    shown = rows[:20]
    figure, axes = pyplot.subplots(figsize=(9, 1.5 + 0.4 * max(len(shown), 1)))
    try:
        labels = [f"{r['label']} ({r['scope']})" for r in shown]
        places = range(len(shown))
        axes.barh([p + 0.2 for p in places], [r["volume"] for r in shown], 0.4, label="volume")
        axes.barh([p - 0.2 for p in places], [r["expected"] for r in shown], 0.4,
                  label="expected")  # fmt: skip
        axes.set_yticks(list(places), labels)
        axes.invert_yaxis()
        axes.set_xlabel("items")
        axes.set_title(title)
        axes.legend()
        figure.tight_layout()
        target = Path(path)
        figure.savefig(target)
    finally:
        pyplot.close(figure)
    return target
