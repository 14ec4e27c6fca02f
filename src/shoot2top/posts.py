"""The streamable object: one social-media item as a self-describing JSON object.

An item has exactly one *type key* naming what it is — ``tweet`` (X), ``video``
(YouTube), ``post`` (Facebook) — whose value is the platform's API payload, untouched.
Metadata the platform adds lives under reserved top-level keys starting with ``_``::

    {"tweet": {"data": {...}, "includes": {...}}, "_observed_at": "2026-11-20T10:00:00Z",
     "_source": "x.filtered_stream", "_topic": "football"}

Items stay plain dicts (cheap to decode, encode and ship through Storm); this module
validates them and reads the few fields every layer needs, whatever the platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TWEET = "tweet"
VIDEO = "video"
POST = "post"
PLATFORM_OF_TYPE = {TWEET: "x", VIDEO: "youtube", POST: "facebook"}
TYPES = tuple(PLATFORM_OF_TYPE)

OBSERVED_AT = "_observed_at"
SOURCE = "_source"
TOPIC = "_topic"
RESERVED_PREFIX = "_"


class InvalidPost(ValueError):
    """The object is not a streamable object; the message says what is wrong."""


def post_type(obj: Any) -> str:
    """Return the item's type key, or raise `InvalidPost` saying why it has none.

    On the replay hot path: one pass over the keys, no allocation.
    """
    if isinstance(obj, dict):
        kind = None
        for key in obj:
            if not key.startswith(RESERVED_PREFIX):
                if kind is not None:
                    break
                kind = key
        else:
            if kind in PLATFORM_OF_TYPE and isinstance(obj[kind], dict):
                return kind
    raise InvalidPost(_what_is_wrong(obj))


def _what_is_wrong(obj: Any) -> str:
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    type_keys = [key for key in obj if not key.startswith(RESERVED_PREFIX)]
    if not type_keys:
        return "no type key: expected one of tweet, video, post"
    if len(type_keys) > 1:
        return f"several type keys {sorted(type_keys)}: expected exactly one"
    kind = type_keys[0]
    if kind not in PLATFORM_OF_TYPE:
        return f"unknown type key {kind!r}: expected one of tweet, video, post"
    return f"{kind!r} payload is {type(obj[kind]).__name__}, expected an object"


def parse_time(value: Any, what: str) -> datetime:
    """Parse an API or metadata timestamp into an aware UTC datetime."""
    if not isinstance(value, str):
        raise InvalidPost(f"{what} is {value!r}, expected an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidPost(f"{what} {value!r} is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is UTC:  # "...Z": the common case, already canonical
        return parsed
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """The canonical metadata timestamp: UTC, ISO-8601, ending in Z."""
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _get(payload: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = payload
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


# Where each platform keeps the fields every layer needs. X items are filtered-stream
# messages (data + includes + matching_rules); legacy v1.1 tweets (flat, id_str, user)
# from the original lakes are read too.
_ID_PATHS = {
    TWEET: (("data", "id"), ("id_str",)),
    VIDEO: (("id",),),
    POST: (("id",),),
}
_PUBLISHER_PATHS = {
    TWEET: (("data", "author_id"), ("user", "id_str")),
    VIDEO: (("snippet", "channelId"),),
    POST: (("from", "id"),),
}
_CREATED_PATHS = {
    TWEET: (("data", "created_at"), ("created_at",)),
    VIDEO: (("snippet", "publishedAt"),),
    POST: (("created_time",),),
}
_LEGACY_TWEET_TIME = "%a %b %d %H:%M:%S %z %Y"


def _first(payload: Mapping[str, Any], paths: tuple[tuple[str, ...], ...]) -> Any:
    for path in paths:
        value = _get(payload, path)
        if value is not None:
            return value
    return None


@dataclass(frozen=True, slots=True)
class PostInfo:
    """The identity and timestamps of one item, the same for every platform."""

    type: str
    platform: str
    item_id: str
    publisher_id: str | None
    created_at: datetime
    observed_at: datetime
    source: str | None
    topic: str | None


def describe(obj: Any) -> PostInfo:
    """Validate a streamable object and read its identity and timestamps.

    Raises `InvalidPost` naming the missing or malformed field.
    """
    kind = post_type(obj)
    payload = obj[kind]
    item_id = _first(payload, _ID_PATHS[kind])
    if item_id is None or item_id == "":
        raise InvalidPost(f"{kind} has no id")
    created_raw = _first(payload, _CREATED_PATHS[kind])
    if created_raw is None:
        raise InvalidPost(f"{kind} {item_id} has no created time")
    created = _parse_created(kind, created_raw, item_id)
    observed_raw = obj.get(OBSERVED_AT)
    observed = (
        created
        if observed_raw is None
        else parse_time(observed_raw, f"{kind} {item_id} {OBSERVED_AT}")
    )
    publisher = _first(payload, _PUBLISHER_PATHS[kind])
    return PostInfo(
        type=kind,
        platform=PLATFORM_OF_TYPE[kind],
        item_id=str(item_id),
        publisher_id=None if publisher is None else str(publisher),
        created_at=created,
        observed_at=observed,
        source=obj.get(SOURCE),
        topic=obj.get(TOPIC),
    )


def _parse_created(kind: str, raw: Any, item_id: Any) -> datetime:
    what = f"{kind} {item_id} created time"
    if kind == TWEET and isinstance(raw, str) and not raw[:4].isdigit():
        try:
            return datetime.strptime(raw, _LEGACY_TWEET_TIME).astimezone(UTC)
        except ValueError:
            raise InvalidPost(f"{what} {raw!r} is not a timestamp") from None
    return parse_time(raw, what)


def observed_key(obj: dict[str, Any]) -> datetime:
    """The time an item was observed (its created time when never stamped)."""
    return describe(obj).observed_at


def stamp(
    payload_type: str,
    payload: dict[str, Any],
    *,
    observed_at: datetime,
    source: str,
    topic: str | None = None,
) -> dict[str, Any]:
    """Wrap an API payload into a streamable object with provenance metadata."""
    if payload_type not in PLATFORM_OF_TYPE:
        raise InvalidPost(f"unknown type key {payload_type!r}: expected one of tweet, video, post")
    obj: dict[str, Any] = {payload_type: payload, OBSERVED_AT: format_time(observed_at)}
    obj[SOURCE] = source
    if topic is not None:
        obj[TOPIC] = topic
    return obj
