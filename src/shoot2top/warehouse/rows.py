"""From observations to deduplicated rows per table, and COPY text for them.

A batch may hold the same item observed several times: the item, publisher and snapshot
rows keep the greatest observation by (observed time, digest of its canonical JSON) —
the same rule the upserts apply, so order and batching never change the result — and
the earliest first-seen time; text features are sets. Rows for one warehouse table never
repeat a key, as one upsert requires.

Text features rarely change between observations of an item, and their tables are
insert-only sets: the rows of a feature set the warehouse already holds (`known_sets`,
kept by the loader from its own commits) are left out instead of being staged again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from shoot2top.posts import InvalidPost
from shoot2top.warehouse import dialect
from shoot2top.warehouse.features import Features, extract

Row = tuple[Any, ...]
BIGINT_MAX = 2**63 - 1
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")  # an escaped NUL, not an escaped backslash
# isoformat() costs a microsecond and items repeat their times (created, observed): cached
_ISO_TEXT: dict[datetime, str] = {}
_ISO_TEXT_MAX = 1 << 16
_COUNTERS = ("views", "likes", "shares", "comments", "quotes", "followers")
_SET_TABLES = (dialect.HASHTAGS, dialect.MENTIONS, dialect.URLS, dialect.KEYWORDS)


@dataclass(frozen=True, slots=True)
class Observation:
    """One item as the warehouse stores it: features, canonical JSON and digests."""

    features: Features
    encoded: bytes  # the item as canonical JSON (sorted keys), UTF-8
    digest: str  # of `encoded`: orders two observations with the same observed time
    sets_digest: bytes  # of the item's identity and its hashtags, mentions, URLs, keywords

    @property
    def raw(self) -> str:
        return self.encoded.decode()


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
    if b"\\u0000" in encoded and _JSON_NUL.search(encoded):  # the regex only when it may match
        raise InvalidPost("contains a NUL character (\\u0000), which PostgreSQL text refuses")
    metrics = features.metrics
    counters = (
        metrics.views, metrics.likes, metrics.shares, metrics.comments, metrics.quotes,
        features.publisher.followers if features.publisher else None,
    )  # fmt: skip
    for name, value in zip(_COUNTERS, counters, strict=True):
        if value is not None and not -BIGINT_MAX <= value <= BIGINT_MAX:
            raise InvalidPost(f"{name} {value} is out of range for bigint")
    sets = orjson.dumps((
        features.platform, features.item_id, features.hashtags, features.mentions,
        features.urls, features.keywords,
    ))  # fmt: skip
    return Observation(
        features,
        encoded,
        hashlib.blake2b(encoded, digest_size=16).hexdigest(),
        hashlib.blake2b(sets, digest_size=16).digest(),
    )


def batch_rows(
    batch: Sequence[Observation], known_sets: Container[bytes] = frozenset()
) -> dict[str, list[Row]]:
    """Rows per table name for a batch of observations.

    Hashtag, mention, URL and keyword rows are left out for the observations whose
    `sets_digest` is in `known_sets`: the warehouse holds those rows already.
    """
    # key -> (version, observation): the observation each row keeps, as the upsert would
    publishers: dict[tuple[str, str], tuple[Any, Observation]] = {}
    items: dict[tuple[str, str], tuple[Any, Observation]] = {}
    snapshots: dict[tuple[str, str, datetime], tuple[Any, Observation]] = {}
    first_seen: dict[tuple[str, str], datetime] = {}
    sets: dict[str, dict[Row, None]] = {table.name: {} for table in _SET_TABLES}
    staged_sets: set[bytes] = set()
    for observation in batch:
        features = observation.features
        key = (features.platform, features.item_id)
        observed = features.observed_at
        version = (observed, observation.digest)
        publisher = features.publisher
        if publisher is not None:
            _keep_greatest(
                publishers, (publisher.platform, publisher.publisher_id), observation,
                (_profiled(publisher), *version),
            )  # fmt: skip
        known_first = first_seen.get(key)
        if known_first is None or observed < known_first:
            first_seen[key] = observed
        _keep_greatest(items, key, observation, version)
        _keep_greatest(snapshots, (*key, observed), observation, version)
        digest = observation.sets_digest
        if digest in staged_sets or digest in known_sets:
            continue
        staged_sets.add(digest)
        for table, values in (
            (dialect.HASHTAGS, features.hashtags),
            (dialect.MENTIONS, features.mentions),
            (dialect.URLS, features.urls),
            (dialect.KEYWORDS, features.keywords),
        ):
            if values:
                rows = sets[table.name]
                for value in values:
                    rows[(*key, value)] = None
    return {
        dialect.PUBLISHERS.name: [_publisher_row(o) for _, o in publishers.values()],
        dialect.ITEMS.name: [_item_row(o, first_seen[key]) for key, (_, o) in items.items()],
        **{name: list(rows) for name, rows in sets.items()},
        dialect.SNAPSHOTS.name: [_snapshot_row(o) for _, o in snapshots.values()],
    }


def _keep_greatest(
    kept: dict[Any, Observation],
    key: Any,
    observation: Observation,
    version: tuple[Any, ...],
) -> None:
    """Keep, per key, the observation with the greatest version (as the upsert does)."""
    known = kept.get(key)
    if known is None or known[0] < version:
        kept[key] = (version, observation)


def _profiled(publisher: Any) -> bool:
    """Whether an observation carries the publisher's profile, not just its id."""
    return (
        publisher.name is not None
        or publisher.handle is not None
        or publisher.followers is not None
    )


def _publisher_row(observation: Observation) -> Row:
    features = observation.features
    publisher = features.publisher
    assert publisher is not None
    return (
        publisher.platform, publisher.publisher_id, publisher.name, publisher.handle,
        publisher.followers, _profiled(publisher), features.observed_at, observation.digest,
    )  # fmt: skip


def _item_row(observation: Observation, first_observed: datetime) -> Row:
    features = observation.features
    publisher_id = features.publisher.publisher_id if features.publisher else None
    return (
        features.platform, features.item_id, features.item_type, publisher_id,
        features.created_at, features.text, features.title, features.description,
        features.language, features.url, features.media_type, features.duration_s,
        features.topic, first_observed, features.observed_at, observation.digest,
        observation.encoded,
    )  # fmt: skip


def _snapshot_row(observation: Observation) -> Row:
    features = observation.features
    metrics = features.metrics
    return (
        features.platform, features.item_id, features.observed_at, metrics.views,
        metrics.likes, metrics.shares, metrics.comments, metrics.quotes, observation.digest,
    )  # fmt: skip


def copy_buffers(rows: dict[str, list[Row]]) -> dict[str, bytes]:
    """COPY text per table, for the tables that have rows."""
    return {name: copy_text(table_rows) for name, table_rows in rows.items() if table_rows}


def copy_text(rows: Sequence[Row]) -> bytes:
    """Rows in PostgreSQL's COPY text format (tab-separated, ``\\N`` for NULL).

    A `bytes` value is UTF-8 text already (the raw JSON, the items' last column): it is
    escaped as bytes, never decoded and encoded again.
    """
    if not rows:
        return b""
    kinds = [type(value) for value in rows[0]]
    if bytes not in kinds:
        return ("\n".join(["\t".join(map(_copy_field, row)) for row in rows]) + "\n").encode()
    if kinds.index(bytes) == len(kinds) - 1:
        return b"".join([
            ("\t".join(map(_copy_field, row[:-1])) + "\t").encode() + _copy_bytes(row[-1]) + b"\n"
            for row in rows
        ])  # fmt: skip
    return b"".join([b"\t".join(map(_copy_bytes, row)) + b"\n" for row in rows])


def _copy_bytes(value: Any) -> bytes:
    if type(value) is not bytes:
        return _copy_field(value).encode()
    if b"\\" in value:  # JSON text: escaped quotes are common, raw control characters not
        value = value.replace(b"\\", b"\\\\")
    if b"\t" in value or b"\n" in value or b"\r" in value:
        value = value.replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
    return value


def _copy_field(value: Any) -> str:
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            # chained replace beats str.translate on long texts
            return (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return value
    if value is None:
        return "\\N"
    if kind is datetime:
        text = _ISO_TEXT.get(value)
        if text is None:
            if len(_ISO_TEXT) >= _ISO_TEXT_MAX:
                _ISO_TEXT.clear()
            text = _ISO_TEXT[value] = value.isoformat()
        return text
    if kind is int or kind is float:
        return str(value)
    if isinstance(value, str):  # a str subclass: as text
        return _copy_field(str(value))
    if isinstance(value, bytes):
        return _copy_bytes(bytes(value)).decode()
    return str(value)
