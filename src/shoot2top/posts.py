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

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from shoot2top import platforms
from shoot2top.platforms import facebook, x, youtube
from shoot2top.platforms.facebook import PAGE as PAGE  # item metadata, Facebook's
from shoot2top.platforms.facebook import page_of_post_id as page_of_post_id

TWEET = x.PLATFORM.type_key
VIDEO = youtube.PLATFORM.type_key
POST = facebook.PLATFORM.type_key
_PLATFORMS = platforms.registered("shoot2top.posts")
PLATFORM_OF_TYPE = {platform.type_key: platform.name for platform in _PLATFORMS}
TYPES = tuple(PLATFORM_OF_TYPE)
PLATFORM_NAMES = tuple(PLATFORM_OF_TYPE.values())  # "x", "youtube", "facebook"…
# Where each platform keeps an item's id, its publisher's id and its created time.
_IDENTITY = {platform.type_key: platform.identity for platform in _PLATFORMS}
_EXPECTED_TYPES = f"expected one of {', '.join(TYPES)}"

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
        return f"no type key: {_EXPECTED_TYPES}"
    if len(type_keys) > 1:
        return f"several type keys {sorted(type_keys)}: expected exactly one"
    kind = type_keys[0]
    if kind not in PLATFORM_OF_TYPE:
        return f"unknown type key {kind!r}: {_EXPECTED_TYPES}"
    return f"{kind!r} payload is {type(obj[kind]).__name__}, expected an object"


def parse_time(value: Any, what: str | Callable[[], str]) -> datetime:
    """Parse an API or metadata timestamp into an aware UTC datetime.

    `what` names the field in the error; pass a callable to build it only on failure.
    """
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None and parsed.tzinfo is not UTC:
            parsed = parsed.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        name = what if isinstance(what, str) else what()
        if not isinstance(value, str):
            raise InvalidPost(f"{name} is {value!r}, expected an ISO-8601 string") from None
        raise InvalidPost(f"{name} {value!r} is not an ISO-8601 timestamp") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """The canonical metadata timestamp: UTC, ISO-8601, ending in Z."""
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


TWITTER_EPOCH_MS = 1288834974657  # X's ids are "snowflakes": they carry their creation time


def snowflake_time(tweet_id: int) -> float:
    """When an X id was minted (epoch s): its top bits are milliseconds since X's epoch."""
    return ((tweet_id >> 22) + TWITTER_EPOCH_MS) / 1000


_LEGACY_TWEET_TIME = "%a %b %d %H:%M:%S %z %Y"


class PostInfo(NamedTuple):
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
    item_id, publisher, created_raw = _IDENTITY[kind](obj[kind], obj)
    if item_id is None or item_id == "":
        raise InvalidPost(f"{kind} has no id")
    if type(item_id) is not str:  # the hot path is a string: no call
        item_id = identifier(item_id, lambda: f"{kind} id")
    if publisher is not None and type(publisher) is not str:
        publisher = identifier(publisher, lambda: f"{kind} {item_id} publisher id")
    if created_raw is None:
        raise InvalidPost(f"{kind} {item_id} has no created time")
    created = _utc_time(created_raw) or _parse_created(kind, created_raw, item_id)
    observed_raw = obj.get(OBSERVED_AT)
    if observed_raw is None:
        observed = created
    else:
        observed = _utc_time(observed_raw) or parse_time(
            observed_raw, lambda: f"{kind} {item_id} {OBSERVED_AT}"
        )
    info = (kind, PLATFORM_OF_TYPE[kind], item_id, publisher, created, observed,
            obj.get(SOURCE), obj.get(TOPIC))  # fmt: skip
    return _new_info(PostInfo, info)


_new_info = tuple.__new__  # PostInfo's fields in order, without NamedTuple's Python __new__
_fromisoformat = datetime.fromisoformat


def _utc_time(value: Any) -> datetime | None:
    """The hot path of `parse_time` (and `_parse_created`): an ISO-8601 string in UTC or
    without a zone; None for anything else (those functions decide, and word errors)."""
    if type(value) is str:
        try:
            parsed = _fromisoformat(value)
        except ValueError:
            return None
        zone = parsed.tzinfo
        if zone is UTC:
            return parsed
        if zone is None:
            return parsed.replace(tzinfo=UTC)
    return None


def identifier(value: Any, what: Callable[[], str]) -> str:
    """An id as text: ids are strings or integers (X's v1.1 numbers); anything else (an
    object, a list, a boolean, a float) raises `InvalidPost` naming the field."""
    kind = type(value)
    if kind is str or (kind is int):
        return value if kind is str else str(value)
    text = repr(value)
    shown = text if len(text) <= 60 else text[:57] + "..."
    raise InvalidPost(f"{what()} is {kind.__name__} {shown}, expected a string or an integer")


def _parse_created(kind: str, raw: Any, item_id: Any) -> datetime:
    if kind == TWEET and isinstance(raw, str) and not raw[:4].isdigit():
        try:
            return datetime.strptime(raw, _LEGACY_TWEET_TIME).astimezone(UTC)
        except ValueError:
            raise InvalidPost(f"{kind} {item_id} created time {raw!r} is not a timestamp") from None
    return parse_time(raw, lambda: f"{kind} {item_id} created time")


def observed_time(obj: dict[str, Any]) -> datetime:
    """When a valid item was observed: its ``_observed_at``, else its created time.

    The cheap path for the replay merge; `describe` checks everything else.
    """
    raw = obj.get(OBSERVED_AT)
    if raw is None:
        return describe(obj).created_at
    return parse_time(raw, OBSERVED_AT)


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
        raise InvalidPost(f"unknown type key {payload_type!r}: {_EXPECTED_TYPES}")
    obj: dict[str, Any] = {payload_type: payload, OBSERVED_AT: format_time(observed_at)}
    obj[SOURCE] = source
    if topic is not None:
        obj[TOPIC] = topic
    return obj
