"""From a batch of features to deduplicated rows per table, and COPY text for them.

A batch may hold the same item observed several times: the item and publisher rows keep
the newest observation (and the earliest first-seen time), snapshots and text features
are sets. Rows for one warehouse table never repeat a key, as one upsert requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from shoot2top import codec
from shoot2top.warehouse import dialect
from shoot2top.warehouse.features import Features

Row = tuple[Any, ...]


def batch_rows(batch: Sequence[tuple[Features, dict[str, Any]]]) -> dict[str, list[Row]]:
    """Rows per table name for a batch of (features, streamable object) pairs."""
    publishers: dict[tuple[str, str], Row] = {}
    items: dict[tuple[str, str], Row] = {}
    first_seen: dict[tuple[str, str], datetime] = {}
    sets: dict[str, dict[Row, None]] = {
        table.name: {} for table in (dialect.HASHTAGS, dialect.MENTIONS, dialect.URLS)
    }
    sets[dialect.KEYWORDS.name] = {}
    snapshots: dict[Row, Row] = {}
    for features, obj in batch:
        key = (features.platform, features.item_id)
        observed = features.observed_at
        publisher = features.publisher
        if publisher is not None:
            publisher_key = (publisher.platform, publisher.publisher_id)
            known = publishers.get(publisher_key)
            if known is None or known[-1] <= observed:
                publishers[publisher_key] = (
                    *publisher_key, publisher.name, publisher.handle, publisher.followers, observed
                )  # fmt: skip
        first_seen[key] = min(first_seen.get(key, observed), observed)
        known_item = items.get(key)
        if known_item is None or known_item[14] <= observed:
            items[key] = _item_row(features, obj)
        for table, values in (
            (dialect.HASHTAGS, features.hashtags),
            (dialect.MENTIONS, features.mentions),
            (dialect.URLS, features.urls),
            (dialect.KEYWORDS, features.keywords),
        ):
            for value in values:
                sets[table.name][(*key, value)] = None
        metrics = features.metrics
        snapshots[(*key, observed)] = (
            *key, observed, metrics.views, metrics.likes, metrics.shares, metrics.comments,
            metrics.quotes,
        )  # fmt: skip
    item_rows = [(*row[:13], first_seen[key], *row[14:]) for key, row in items.items()]
    return {
        dialect.PUBLISHERS.name: list(publishers.values()),
        dialect.ITEMS.name: item_rows,
        **{name: list(rows) for name, rows in sets.items()},
        dialect.SNAPSHOTS.name: list(snapshots.values()),
    }


def _item_row(features: Features, obj: dict[str, Any]) -> Row:
    publisher_id = features.publisher.publisher_id if features.publisher else None
    return (
        features.platform, features.item_id, features.item_type, publisher_id,
        features.created_at, features.text, features.title, features.description,
        features.language, features.url, features.media_type, features.duration_s,
        features.topic, features.observed_at, features.observed_at,
        codec.dumps(obj).decode(),
    )  # fmt: skip


def copy_buffers(rows: dict[str, list[Row]]) -> dict[str, bytes]:
    """COPY text per table, for the tables that have rows."""
    return {name: copy_text(table_rows) for name, table_rows in rows.items() if table_rows}


def copy_text(rows: Iterable[Row]) -> bytes:
    """Rows in PostgreSQL's COPY text format (tab-separated, ``\\N`` for NULL)."""
    lines = ["\t".join(map(_copy_field, row)) for row in rows]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            # chained replace beats str.translate on long texts (the raw JSON)
            return (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
