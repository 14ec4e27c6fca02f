"""Feature extraction: from one streamable object to the warehouse's rows.

Per item: its publisher, its descriptive fields, its hashtags, mentions, URLs and
keywords, and one metric snapshot (the item's counters when it was observed). Every
optional field may be missing — deleted or withheld content, private statistics, partial
API answers — and then comes out as None, never as an error.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import Any

import regex

from shoot2top.posts import POST, TWEET, VIDEO, describe

# `regex`, not `re`: words must keep their combining marks (Devanagari vowel signs…).
HASHTAG = regex.compile(r"(?<![\w&])#([\p{L}\p{M}\p{N}_]+)")
MENTION = regex.compile(r"(?<![\w.])@([\p{L}\p{M}\p{N}_]{1,50})")
URL = regex.compile(r"https?://[^\s<>\"']+")
WORD = regex.compile(r"[\p{L}\p{N}][\p{L}\p{M}\p{N}_]*")
ISO_DURATION = re.compile(
    r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)

STOPWORDS = frozenset(
    word
    for line in (files("shoot2top.warehouse") / "stopwords.txt").read_text("utf-8").splitlines()
    if not line.startswith("#")
    for word in line.split()
)
MIN_LATIN_KEYWORD = 3


@dataclass(frozen=True, slots=True)
class Publisher:
    platform: str
    publisher_id: str
    name: str | None = None
    handle: str | None = None
    followers: int | None = None


@dataclass(frozen=True, slots=True)
class Metrics:
    """An item's counters at one observation; None where the platform gives none."""

    views: int | None = None
    likes: int | None = None
    shares: int | None = None
    comments: int | None = None
    quotes: int | None = None


@dataclass(slots=True)
class Features:
    """Everything the warehouse stores about one observation of one item."""

    platform: str
    item_type: str
    item_id: str
    created_at: datetime
    observed_at: datetime
    publisher: Publisher | None
    text: str | None = None
    title: str | None = None
    description: str | None = None
    language: str | None = None
    url: str | None = None
    media_type: str | None = None
    duration_s: float | None = None
    hashtags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    metrics: Metrics = Metrics()
    topic: str | None = None


def extract(obj: dict[str, Any]) -> Features:
    """Features of one streamable object; `InvalidPost` if it is not one."""
    info = describe(obj)
    payload = obj[info.type]
    features = Features(
        platform=info.platform,
        item_type=info.type,
        item_id=info.item_id,
        created_at=info.created_at,
        observed_at=info.observed_at,
        publisher=None,
        topic=info.topic if isinstance(info.topic, str) else None,
    )
    _EXTRACTORS[info.type](payload, features, info.publisher_id)
    words = " ".join(filter(None, (features.text, features.title, features.description)))
    features.keywords = keywords(words)
    return features


# ----------------------------------------------------------------------------- X


def _tweet(payload: dict[str, Any], out: Features, publisher_id: str | None) -> None:
    if "data" not in payload:
        return _legacy_tweet(payload, out, publisher_id)
    data = _dict(payload.get("data"))
    includes = _dict(payload.get("includes"))
    users = {user.get("id"): user for user in _dicts(includes.get("users"))}
    author = _dict(users.get(data.get("author_id")))
    if publisher_id is not None:
        metrics = _dict(author.get("public_metrics"))
        out.publisher = Publisher(
            out.platform,
            publisher_id,
            _str(author.get("name")),
            _str(author.get("username")),
            _int(metrics.get("followers_count")),
        )
    out.text = _str(data.get("text"))
    out.language = _str(data.get("lang"))
    handle = out.publisher.handle if out.publisher and out.publisher.handle else "i/web"
    out.url = f"https://x.com/{handle}/status/{out.item_id}"
    entities = _dict(data.get("entities"))
    out.hashtags = _unique(_hashtag(tag.get("tag")) for tag in _dicts(entities.get("hashtags")))
    out.mentions = _unique(_lower(m.get("username")) for m in _dicts(entities.get("mentions")))
    out.urls = _unique(
        _str(u.get("expanded_url")) or _str(u.get("url")) for u in _dicts(entities.get("urls"))
    )
    if not out.hashtags and out.text:
        out.hashtags = hashtags(out.text)
    media_keys = set(_dict(data.get("attachments")).get("media_keys") or [])
    media = [m for m in _dicts(includes.get("media")) if m.get("media_key") in media_keys]
    video = next((m for m in media if m.get("type") in ("video", "animated_gif")), None)
    out.media_type = (video or (media[0] if media else {})).get("type") or "text"
    counters = _dict(data.get("public_metrics"))
    views = None
    if video is not None:
        out.duration_s = _seconds(video.get("duration_ms"), 1000)
        views = _int(_dict(video.get("public_metrics")).get("view_count"))
    out.metrics = Metrics(
        views=views if views is not None else _int(counters.get("impression_count")),
        likes=_int(counters.get("like_count")),
        shares=_int(counters.get("retweet_count")),
        comments=_int(counters.get("reply_count")),
        quotes=_int(counters.get("quote_count")),
    )


def _legacy_tweet(payload: dict[str, Any], out: Features, publisher_id: str | None) -> None:
    """v1.1 tweets from the original lakes: flat, with `user` and `entities`."""
    user = _dict(payload.get("user"))
    if publisher_id is not None:
        out.publisher = Publisher(
            out.platform,
            publisher_id,
            _str(user.get("name")),
            _str(user.get("screen_name")),
            _int(user.get("followers_count")),
        )
    out.text = _str(payload.get("full_text")) or _str(payload.get("text"))
    out.language = _str(payload.get("lang"))
    entities = _dict(payload.get("entities"))
    out.hashtags = _unique(_hashtag(tag.get("text")) for tag in _dicts(entities.get("hashtags")))
    out.mentions = _unique(
        _lower(m.get("screen_name")) for m in _dicts(entities.get("user_mentions"))
    )
    out.urls = _unique(_str(u.get("expanded_url")) for u in _dicts(entities.get("urls")))
    out.url = f"https://x.com/{user.get('screen_name') or 'i/web'}/status/{out.item_id}"
    out.media_type = "text"
    out.metrics = Metrics(
        likes=_int(payload.get("favorite_count")),
        shares=_int(payload.get("retweet_count")),
        comments=_int(payload.get("reply_count")),
        quotes=_int(payload.get("quote_count")),
    )


# ----------------------------------------------------------------------------- YouTube


def _video(payload: dict[str, Any], out: Features, publisher_id: str | None) -> None:
    snippet = _dict(payload.get("snippet"))
    if publisher_id is not None:
        out.publisher = Publisher(out.platform, publisher_id, _str(snippet.get("channelTitle")))
    out.title = _str(snippet.get("title"))
    out.description = _str(snippet.get("description"))
    out.language = _str(snippet.get("defaultAudioLanguage")) or _str(snippet.get("defaultLanguage"))
    out.url = f"https://www.youtube.com/watch?v={out.item_id}"
    out.media_type = "video"
    out.duration_s = iso_duration(_dict(payload.get("contentDetails")).get("duration"))
    text = " ".join(filter(None, (out.title, out.description)))
    out.hashtags = hashtags(text)
    out.mentions = mentions(text)
    out.urls = urls(out.description or "")
    statistics = _dict(payload.get("statistics"))
    out.metrics = Metrics(
        views=_int(statistics.get("viewCount")),
        likes=_int(statistics.get("likeCount")),
        comments=_int(statistics.get("commentCount")),
    )


# ----------------------------------------------------------------------------- Facebook


def _post(payload: dict[str, Any], out: Features, publisher_id: str | None) -> None:
    page = _dict(payload.get("from"))
    if publisher_id is not None:
        out.publisher = Publisher(out.platform, publisher_id, _str(page.get("name")))
    out.text = _str(payload.get("message"))
    out.title = _str(payload.get("title"))
    out.description = _str(payload.get("description"))
    permalink = _str(payload.get("permalink_url"))
    if permalink and permalink.startswith("/"):
        permalink = f"https://www.facebook.com{permalink}"
    out.url = permalink
    attachments = _dicts(_dict(payload.get("attachments")).get("data"))
    is_page_video = "length" in payload
    if is_page_video:
        out.media_type = "video"
        out.duration_s = _seconds(payload.get("length"), 1)
    elif attachments:
        out.media_type = _str(attachments[0].get("media_type")) or "link"
    else:
        out.media_type = "status"
    text = " ".join(filter(None, (out.text, out.title, out.description)))
    out.hashtags = hashtags(text)
    out.mentions = mentions(text)
    out.urls = urls(out.text or out.description or "")
    insights = _dicts(_dict(payload.get("video_insights")).get("data"))
    views = next(
        (
            _int(_dicts(metric.get("values"))[0].get("value"))
            for metric in insights
            if metric.get("name") == "total_video_views" and _dicts(metric.get("values"))
        ),
        None,
    )
    if is_page_video:
        shares = None  # the Video node has no share counter
    else:  # the Graph API omits `shares` on a post nobody has shared yet
        shares = _int(_dict(payload.get("shares")).get("count")) if "shares" in payload else 0
    out.metrics = Metrics(
        views=views,
        likes=_int(_dict(_dict(payload.get("reactions")).get("summary")).get("total_count")),
        shares=shares,
        comments=_int(_dict(_dict(payload.get("comments")).get("summary")).get("total_count")),
    )


_EXTRACTORS = {TWEET: _tweet, VIDEO: _video, POST: _post}


# ----------------------------------------------------------------------------- text


def hashtags(text: str) -> list[str]:
    """Normalized hashtags (casefolded, NFKC) in order of first appearance."""
    return _short_cached(_hashtags, text)


def mentions(text: str) -> list[str]:
    """Mentioned handles, casefolded; ``@name`` inside a URL is not a mention."""
    return _short_cached(_mentions, text)


def urls(text: str) -> list[str]:
    return _short_cached(_urls, text)


def keywords(text: str) -> list[str]:
    """Normalized words without hashtags, mentions, URLs and stopwords.

    Latin words shorter than three letters are dropped; other scripts (Japanese, Arabic,
    Devanagari…) are kept intact, only NFKC-normalized and casefolded.
    """
    return _short_cached(_keywords, text)


# Short texts are cached: the same item is observed many times with the same text.
CACHED_TEXT_CHARS = 600  # tweets and titles; long descriptions are not worth the memory
CACHED_TEXTS = 1 << 16  # per function; texts of <= 600 chars: tens of MB at most


def _short_cached(function: Any, text: str) -> list[str]:
    if len(text) > CACHED_TEXT_CHARS:
        return list(function.__wrapped__(text))
    return list(function(text))


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _hashtags(text: str) -> tuple[str, ...]:
    return tuple(_unique(_hashtag(tag) for tag in HASHTAG.findall(URL.sub(" ", text))))


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _mentions(text: str) -> tuple[str, ...]:
    return tuple(_unique(_lower(handle) for handle in MENTION.findall(URL.sub(" ", text))))


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _urls(text: str) -> tuple[str, ...]:
    return tuple(_unique(url.rstrip(".,;:!?)") for url in URL.findall(text)))


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _keywords(text: str) -> tuple[str, ...]:
    text = URL.sub(" ", text)
    text = HASHTAG.sub(" ", text)
    text = MENTION.sub(" ", text)
    found = []
    for word in WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        if word in STOPWORDS or word.isdigit() or word.startswith("_"):
            continue
        if word.isascii() and len(word) < MIN_LATIN_KEYWORD:
            continue
        found.append(word)
    return tuple(_unique(found))


def iso_duration(value: Any) -> float | None:
    """Seconds in an ISO-8601 duration such as ``PT4M13S`` (YouTube's contentDetails)."""
    if not isinstance(value, str):
        return None
    match = ISO_DURATION.match(value)
    if not match:
        return None
    parts = {name: float(number) for name, number in match.groupdict().items() if number}
    return (
        parts.get("days", 0) * 86400
        + parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0)
    )


# ----------------------------------------------------------------------------- helpers


def _hashtag(tag: Any) -> str | None:
    if not isinstance(tag, str) or not tag:
        return None
    return unicodedata.normalize("NFKC", tag).casefold()


def _lower(value: Any) -> str | None:
    return value.casefold() if isinstance(value, str) and value else None


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _int(value: Any) -> int | None:
    """Counters arrive as ints (X, Facebook) or decimal strings (YouTube)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdecimal():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _seconds(value: Any, per_second: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value / per_second
