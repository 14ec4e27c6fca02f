"""From observations to deduplicated rows per table, and COPY text for them.

A batch may hold the same item observed several times: the item, publisher and snapshot
rows keep the greatest observation by (observed time, digest of its canonical JSON) —
the same rule the upserts apply, so order and batching never change the result — and
the earliest first-seen time; text features are sets. Rows for one warehouse table never
repeat a key, as one upsert requires.

Text features rarely change between observations of an item, and their tables are
insert-only sets: the rows of a feature set the warehouse already holds (`known_sets`,
kept by the loader from its own commits) are left out instead of being staged again.
Aliases and references (retweets, quotes, replies) are sets of the same kind.

What PostgreSQL would refuse in a sound item is repaired, not dead-lettered: NUL
characters are removed (text and jsonb refuse them) and a counter beyond ``bigint``
becomes unknown; each repair is logged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson

from shoot2top import codec
from shoot2top.posts import InvalidPost
from shoot2top.warehouse import dialect
from shoot2top.warehouse.features import Features, Publisher, extract

log = logging.getLogger(__name__)

Row = tuple[Any, ...]
BIGINT_MAX = 2**63 - 1
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")  # an escaped NUL, not an escaped backslash
# isoformat() costs a microsecond and items repeat their times (created, observed): cached
_ISO_TEXT: dict[datetime, str] = {}
_ISO_TEXT_MAX = 1 << 16
_COUNTERS = ("views", "likes", "shares", "comments", "quotes")
_SET_TABLES = (
    dialect.HASHTAGS, dialect.MENTIONS, dialect.URLS, dialect.KEYWORDS, dialect.ALIASES,
    dialect.REFERENCES,
)  # fmt: skip


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

    Everything a database would refuse is refused or repaired here, item by item, so
    what happens to an item never depends on which other items share its batch.
    """
    features = extract(item)
    try:
        # Canonical (sorted keys): the same observation must get the same digest however
        # it travelled — Storm's multilang JSON does not keep key order.
        encoded = codec.encode_item(item, sort_keys=True)
    except codec.Unencodable as error:
        raise InvalidPost(f"cannot encode as JSON: {error}") from None
    if b"\\u0000" in encoded and _JSON_NUL.search(encoded):  # the regex only when it may match
        removed = len(_JSON_NUL.findall(encoded))
        item = _without_nul(item)
        features = extract(item)
        encoded = codec.encode_item(item, sort_keys=True)
        log.warning(
            "%s %s: removed %d NUL character(s), which PostgreSQL refuses in text",
            features.platform, features.item_id, removed,
        )  # fmt: skip
    metrics = features.metrics
    for value in (metrics.views, metrics.likes, metrics.shares, metrics.comments, metrics.quotes):
        if value is not None and not -BIGINT_MAX <= value <= BIGINT_MAX:
            _unknown_beyond_bigint(features)
            break
    else:
        for publisher in (features.publisher, features.amplifier):
            followers = publisher.followers if publisher is not None else None
            if followers is not None and not -BIGINT_MAX <= followers <= BIGINT_MAX:
                _unknown_beyond_bigint(features)
                break
    sets = orjson.dumps((
        features.platform, features.item_id, features.stored, features.hashtags,
        features.mentions, features.urls, features.keywords, features.aliases,
        [list(map(str, reference)) for reference in features.references],
    ))  # fmt: skip
    return Observation(
        features,
        encoded,
        hashlib.blake2b(encoded, digest_size=16).hexdigest(),
        hashlib.blake2b(sets, digest_size=16).digest(),
    )


def _without_nul(value: Any) -> Any:
    """`value` with every NUL character removed from its strings (keys too)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(entry) for key, entry in value.items()}
    if isinstance(value, list):
        return [_without_nul(entry) for entry in value]
    return value


def _unknown_beyond_bigint(features: Features) -> None:
    """Counters out of ``bigint``'s range become unknown (None), each repair logged."""
    metrics = features.metrics
    bad = {
        name: value
        for name in _COUNTERS
        if (value := getattr(metrics, name)) is not None and not -BIGINT_MAX <= value <= BIGINT_MAX
    }
    if bad:
        features.metrics = dataclasses.replace(metrics, **dict.fromkeys(bad))
    for role in ("publisher", "amplifier"):
        who = getattr(features, role)
        followers = who.followers if who is not None else None
        if followers is not None and not -BIGINT_MAX <= followers <= BIGINT_MAX:
            setattr(features, role, dataclasses.replace(who, followers=None))
            bad[f"{role} followers"] = followers
    for name, value in bad.items():
        log.warning(
            "%s %s: %s %d is beyond bigint: stored as unknown",
            features.platform, features.item_id, name, value,
        )  # fmt: skip


def batch_rows(
    batch: Sequence[Observation], known_sets: Container[bytes] = frozenset()
) -> dict[str, list[Row]]:
    """Rows per table name for a batch of observations.

    Hashtag, mention, URL and keyword rows are left out for the observations whose
    `sets_digest` is in `known_sets`: the warehouse holds those rows already.
    """
    # key -> (version, observation): the observation each row keeps, as the upsert would
    publishers: dict[tuple[str, str], tuple[Any, tuple[Any, Observation]]] = {}
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
                publishers, (publisher.platform, publisher.publisher_id),
                (publisher, observation), (_profiled(publisher), *version),
            )  # fmt: skip
        if features.amplifier is not None:  # a retweeter
            publisher = features.amplifier
            _keep_greatest(
                publishers, (publisher.platform, publisher.publisher_id),
                (publisher, observation), (_profiled(publisher), *version),
            )  # fmt: skip
        if features.stored:
            known_first = first_seen.get(key)
            if known_first is None or observed < known_first:
                first_seen[key] = observed
            item_version = (features.edit_version, features.detailed, *version)
            _keep_greatest(items, key, observation, item_version)
            if features.counted:
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
        for alias, kind in features.aliases:
            sets[dialect.ALIASES.name][(features.platform, alias, features.item_id, kind)] = None
        for reference in features.references:
            sets[dialect.REFERENCES.name][(features.platform, *reference)] = None
    return {
        dialect.PUBLISHERS.name: [_publisher_row(*kept) for _, kept in publishers.values()],
        dialect.ITEMS.name: [_item_row(o, first_seen[key]) for key, (_, o) in items.items()],
        **{name: list(rows) for name, rows in sets.items()},
        dialect.SNAPSHOTS.name: [_snapshot_row(o) for _, o in snapshots.values()],
    }


def _keep_greatest(
    kept: dict[Any, tuple[Any, Any]], key: Any, observation: Any, version: tuple[Any, ...]
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


def _publisher_row(publisher: Publisher, observation: Observation) -> Row:
    return (
        publisher.platform, publisher.publisher_id, publisher.name, publisher.handle,
        publisher.followers, _profiled(publisher), observation.features.observed_at,
        observation.digest,
    )  # fmt: skip


def _item_row(observation: Observation, first_observed: datetime) -> Row:
    features = observation.features
    publisher_id = features.publisher.publisher_id if features.publisher else None
    return (
        features.platform, features.item_id, features.item_type, publisher_id,
        features.created_at, features.text, features.title, features.description,
        features.language, features.url, features.media_type, features.duration_s,
        features.topic, first_observed, features.observed_at, observation.digest,
        features.edit_version, features.detailed, observation.encoded,
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
        return (_text_lines(rows) + "\n").encode()
    if len(kinds) > 1 and kinds.index(bytes) == len(kinds) - 1:
        # The text columns of all rows at once (escaped text holds no raw newline), then
        # each line joined to its row's bytes.
        lines = _text_lines([row[:-1] for row in rows]).encode().split(b"\n")
        raw = map(_copy_bytes, [row[-1] for row in rows])
        return b"\n".join(map(b"\t".join, zip(lines, raw, strict=True))) + b"\n"
    return b"".join([b"\t".join(map(_copy_bytes, row)) + b"\n" for row in rows])


def _text_lines(rows: Sequence[Row]) -> str:
    """Rows as COPY text lines, without the last newline.

    Rendered a column at a time, so that a column of one type is converted by one C
    call (`str`, `datetime.isoformat`) and a column of strings is searched once for
    what must be escaped; only a column that needs it is escaped value by value
    (`_copy_field`). The text is the same as escaping every field.
    """
    try:  # rows of strings only (the text-feature sets): all in C
        text = "\n".join(["\t".join(row) for row in rows])
    except TypeError:
        pass
    else:
        if "\\" not in text and "\r" not in text:
            tabs, newlines = text.count("\t"), text.count("\n")
            if tabs == len(rows) * (len(rows[0]) - 1) and newlines == len(rows) - 1:
                return text
    columns = [_column_text(column) for column in zip(*rows, strict=True)]
    return "\n".join(map("\t".join, zip(*columns, strict=True)))


def _column_text(column: tuple[Any, ...]) -> Sequence[str]:
    """One column's values as COPY text (see `_text_lines`)."""
    kinds = set(map(type, column))
    nulls = type(None) in kinds
    if nulls:
        kinds.discard(type(None))
    if kinds == {str} or not kinds:
        strings = [value for value in column if value is not None] if nulls else column
        joined = "".join(strings)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            return list(map(_copy_field, column))
        return ["\\N" if value is None else value for value in column] if nulls else column
    if len(kinds) > 1:
        return list(map(_copy_field, column))
    (kind,) = kinds
    if kind is int:
        render: Any = str
    elif kind is datetime:  # observations repeat their times: texts cached
        texts = list(map(_ISO_TEXT.get, column))
        if None not in texts:
            return cast(list[str], texts)
        return [text or _copy_field(value) for value, text in zip(column, texts, strict=True)]
    elif kind is bool:
        render = {True: "t", False: "f"}.__getitem__
    else:
        return list(map(_copy_field, column))
    if nulls:
        return ["\\N" if value is None else render(value) for value in column]
    return list(map(render, column))


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
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, str):  # a str subclass: as text
        return _copy_field(str(value))
    if isinstance(value, bytes):
        return _copy_bytes(bytes(value)).decode()
    return str(value)
