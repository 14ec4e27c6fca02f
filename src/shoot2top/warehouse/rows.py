"""From observations to deduplicated rows per table, and COPY text for them.

A batch may hold the same item observed several times: the item, publisher and snapshot
rows keep the greatest observation by (observed time, digest of its canonical JSON) —
the same rule the upserts apply, so order and batching never change the result — and
the earliest first-seen time; text features are sets. Rows for one warehouse table never
repeat a key, as one upsert requires.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from shoot2top.posts import InvalidPost
from shoot2top.warehouse import dialect
from shoot2top.warehouse.features import Features, extract

Row = tuple[Any, ...]
BIGINT_MAX = 2**63 - 1
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # an escaped NUL, not an escaped backslash


@dataclass(frozen=True, slots=True)
class Observation:
    """One item as the warehouse stores it: features, canonical JSON and its digest."""

    features: Features
    raw: str
    digest: str

    @property
    def version(self) -> tuple[datetime, str]:
        return (self.features.observed_at, self.digest)


def observe(item: dict[str, Any]) -> Observation:
    """Extract and check one item; `InvalidPost` says why the warehouse cannot take it.

    Everything a database would refuse is refused here, item by item, so whether an item
    is dead-lettered never depends on which other items share its batch.
    """
    features = extract(item)
    try:
        # Canonical (sorted keys): the same observation must get the same digest however
        # it travelled — Storm's multilang JSON does not keep key order.
        encoded = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as error:
        raise InvalidPost(f"not storable as JSON: {error}") from None
    raw = encoded.decode()
    if "\\u0000" in raw and _JSON_NUL.search(raw):  # the regex only when it may match
        raise InvalidPost("contains a NUL character (\\u0000), which PostgreSQL text refuses")
    for name, value in _counters(features):
        if value is not None and not -BIGINT_MAX <= value <= BIGINT_MAX:
            raise InvalidPost(f"{name} {value} is out of range for bigint")
    return Observation(features, raw, hashlib.blake2b(encoded, digest_size=16).hexdigest())


def _counters(features: Features) -> Iterable[tuple[str, int | None]]:
    metrics = features.metrics
    yield from (
        ("views", metrics.views), ("likes", metrics.likes), ("shares", metrics.shares),
        ("comments", metrics.comments), ("quotes", metrics.quotes),
        ("followers", features.publisher.followers if features.publisher else None),
    )  # fmt: skip


def batch_rows(batch: Sequence[Observation]) -> dict[str, list[Row]]:
    """Rows per table name for a batch of observations."""
    publishers: dict[tuple[str, str], tuple[tuple[datetime, str], Row]] = {}
    items: dict[tuple[str, str], tuple[tuple[datetime, str], Row]] = {}
    snapshots: dict[Row, tuple[tuple[datetime, str], Row]] = {}
    first_seen: dict[tuple[str, str], datetime] = {}
    sets: dict[str, dict[Row, None]] = {
        table.name: {}
        for table in (dialect.HASHTAGS, dialect.MENTIONS, dialect.URLS, dialect.KEYWORDS)
    }
    for observation in batch:
        features, version = observation.features, observation.version
        key = (features.platform, features.item_id)
        observed = features.observed_at
        publisher = features.publisher
        if publisher is not None:
            publisher_key = (publisher.platform, publisher.publisher_id)
            _keep_greatest(publishers, publisher_key, version, (
                *publisher_key, publisher.name, publisher.handle, publisher.followers,
                observed, observation.digest,
            ))  # fmt: skip
        first_seen[key] = min(first_seen.get(key, observed), observed)
        _keep_greatest(items, key, version, _item_row(observation))
        metrics = features.metrics
        _keep_greatest(snapshots, (*key, observed), version, (
            *key, observed, metrics.views, metrics.likes, metrics.shares, metrics.comments,
            metrics.quotes, observation.digest,
        ))  # fmt: skip
        for table, values in (
            (dialect.HASHTAGS, features.hashtags),
            (dialect.MENTIONS, features.mentions),
            (dialect.URLS, features.urls),
            (dialect.KEYWORDS, features.keywords),
        ):
            for value in values:
                sets[table.name][(*key, value)] = None
    first = dialect.ITEMS.columns.index("first_observed_at")
    item_rows = [
        (*row[:first], first_seen[key], *row[first + 1 :]) for key, (_, row) in items.items()
    ]
    return {
        dialect.PUBLISHERS.name: [row for _, row in publishers.values()],
        dialect.ITEMS.name: item_rows,
        **{name: list(rows) for name, rows in sets.items()},
        dialect.SNAPSHOTS.name: [row for _, row in snapshots.values()],
    }


def _keep_greatest(
    rows: dict[Any, tuple[tuple[datetime, str], Row]],
    key: Any,
    version: tuple[datetime, str],
    row: Row,
) -> None:
    known = rows.get(key)
    if known is None or known[0] < version:
        rows[key] = (version, row)


def _item_row(observation: Observation) -> Row:
    features = observation.features
    publisher_id = features.publisher.publisher_id if features.publisher else None
    return (
        features.platform, features.item_id, features.item_type, publisher_id,
        features.created_at, features.text, features.title, features.description,
        features.language, features.url, features.media_type, features.duration_s,
        features.topic, features.observed_at, features.observed_at, observation.raw,
        observation.digest,
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
