"""Feature extraction: from one streamable object to the warehouse's rows.

Per item: its publisher, its descriptive fields, its hashtags, mentions, URLs and
keywords, and one metric snapshot (the item's counters when it was observed). Every
optional field may be missing — deleted or withheld content, private statistics, partial
API answers — and then comes out as None, never as an error.

What an observation is *about* is decided here (docs/warehouse.md, "Identity"): a
retweet is an observation of the original tweet (from ``includes.tweets``) and only a
link for the retweeter; the versions of an edited tweet are one item, keyed by the
original id; a Facebook Page post of its own video and that Video node (and a live
video's) are one item, keyed by the video id.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any, NamedTuple

import regex

from shoot2top import platforms
from shoot2top.posts import PAGE, PLATFORM_OF_TYPE, describe, snowflake_time

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
ELLIPSIS = "\u2026"  # where X cuts a retweet's or a long tweet's text
# X's placeholder for withheld content ("This Post from @x has been withheld in Germany in
# response to a legal demand. Learn more."): its words are not the item's
WITHHELD = regex.compile(
    r"has been withheld in .{0,400}?(?:in response to a legal demand|based on local law)",
    regex.IGNORECASE | regex.DOTALL,
)
RETWEETED, QUOTED, REPLIED_TO = "retweeted", "quoted", "replied_to"
# Attachment types of a Page post that carry the Page's own upload (not a share or a link)
NATIVE_VIDEO_ATTACHMENTS = frozenset({"video_inline", "video_autoplay", "video_direct_response"})


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


class Reference(NamedTuple):
    """A tweet that points at another item: a retweet, a quote or a reply.

    `referencing_id` is the retweet (not an item: it only amplifies) or the quoting or
    replying item; `referenced_id` the item it points at; `publisher_id` who did it.
    """

    referencing_id: str
    kind: str  # retweeted | quoted | replied_to
    referenced_id: str
    publisher_id: str | None
    created_at: datetime


@dataclass(slots=True)
class Features:
    """Everything the warehouse stores about one observation of one item.

    `stored` is False when the observation is about no item the warehouse can describe
    (a retweet whose original is not in ``includes``): only its links and publishers
    load. `counted` is False for an edited tweet's superseded version, whose counters
    are no longer the item's. `detailed` says the observation knows the item's
    attributes (media, duration, author): one that does not never replaces one that does.
    """

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
    edit_version: int = 0  # the version's place in the edit history (0: the original)
    detailed: bool = True
    stored: bool = True
    counted: bool = True
    aliases: tuple[tuple[str, str], ...] = ()  # (another id of the item, kind)
    references: tuple[Reference, ...] = ()
    amplifier: Publisher | None = None  # the retweeter


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
    extractor = _EXTRACTORS.get(info.type) or _extractor(info.type)
    extractor(payload, features, info.publisher_id, obj)
    words = " ".join(filter(None, (features.text, features.title, features.description)))
    features.keywords = keywords(words) if features.stored else []
    return features


Extractor = Callable[[dict[str, Any], Features, str | None, dict[str, Any]], None]
_EXTRACTORS: dict[str, Extractor] = {}  # type key -> its platform's, imported on first use


def _extractor(type_key: str) -> Extractor:
    """The feature extractor of the platform whose items have `type_key`."""
    platform = platforms.by_name(PLATFORM_OF_TYPE[type_key])
    extractor: Extractor = platform.resolve("extractor")
    _EXTRACTORS[type_key] = extractor
    return extractor


# ----------------------------------------------------------------------------- X


def extract_tweet(
    payload: dict[str, Any], out: Features, publisher_id: str | None, obj: dict[str, Any]
) -> None:
    if "data" not in payload:
        return _legacy_tweet(payload, out, publisher_id)
    data = _dict(payload.get("data"))
    includes = _dict(payload.get("includes"))
    users = _by_key(includes.get("users"), "id")
    if "referenced_tweets" not in data:  # most tweets: no retweet, quote or reply
        return _tweet_item(data, includes, users, out, publisher_id, (), primary=True)
    tweets = _by_key(includes.get("tweets"), "id")
    referenced = [
        (kind, ref_id if isinstance(ref_id, str) else str(ref_id))
        for ref in _dicts(data.get("referenced_tweets"))
        if isinstance(kind := ref.get("type"), str)
        and (isinstance(ref_id := ref.get("id"), str) or type(ref_id) is int)
    ]
    original_id = next((ref_id for kind, ref_id in referenced if kind == RETWEETED), None)
    if original_id is not None:
        return _retweet(data, includes, users, tweets.get(original_id), original_id, out)
    foreign_media = {  # the quoted tweet's own media is not the quote's
        key
        for kind, ref_id in referenced
        if kind == QUOTED
        for key in _media_keys(_dict(tweets.get(ref_id)))
    }
    _tweet_item(data, includes, users, out, publisher_id, foreign_media, primary=True)
    out.references = tuple(
        Reference(out.item_id, kind, _item_id_of(tweets.get(ref_id), ref_id),
                  publisher_id, out.created_at)
        for kind, ref_id in referenced
    )  # fmt: skip


def _retweet(
    data: dict[str, Any],
    includes: dict[str, Any],
    users: dict[Any, dict[str, Any]],
    original: dict[str, Any] | None,
    original_id: str,
    out: Features,
) -> None:
    """A retweet observes the original (its text, metrics and author from ``includes``)
    and is, for the retweeter, only a link: who amplified what, when."""
    retweeter = _str(data.get("author_id"))
    if retweeter is not None:
        out.amplifier = _x_publisher(out.platform, retweeter, users)
    retweet_id, retweeted_at = out.item_id, out.created_at
    if original is None:
        out.stored = out.counted = False  # the original is not here: only the link loads
        out.references = (Reference(retweet_id, RETWEETED, original_id, retweeter, retweeted_at),)
        return
    if "attachments" not in original and "attachments" in data:
        original = {**original, "attachments": data["attachments"]}  # the same media
    author = original.get("author_id")
    author = author if isinstance(author, str) else None
    _tweet_item(original, includes, users, out, author, (), primary=False)
    out.references = (Reference(retweet_id, RETWEETED, out.item_id, retweeter, retweeted_at),)


def _tweet_item(
    data: dict[str, Any],
    includes: dict[str, Any],
    users: dict[Any, dict[str, Any]],
    out: Features,
    publisher_id: str | None,
    foreign_media: Container[Any],
    *,
    primary: bool,
) -> None:
    """One tweet as an item: identity (edits resolved), author, text, media, counters.
    `primary`: the tweet is the message's own (`out.created_at` is its created time)."""
    own_id = data.get("id")
    own_id = out.item_id = own_id if isinstance(own_id, str) else str(own_id)
    history = data.get("edit_history_tweet_ids")
    if type(history) is list and len(history) > 1:  # an edited tweet
        history = [str(v) for v in history if isinstance(v, str) or type(v) is int]
        if own_id in history:
            out.item_id = history[0]  # every version's history starts with the original
            out.edit_version = history.index(own_id)
            out.counted = own_id == history[-1]  # a superseded version's counters froze
            out.aliases = tuple((version, "edit") for version in history[1:])
    if own_id != out.item_id or not primary:  # the item was created when its original was
        created = describe_tweet_time(data) if own_id == out.item_id else None
        if created is None and out.item_id.isdecimal():
            created = datetime.fromtimestamp(snowflake_time(int(out.item_id)), UTC)
        if created is not None:
            out.created_at = created
    out.publisher = _x_publisher(out.platform, publisher_id, users) if publisher_id else None
    out.text = _str(data.get("text"))
    out.language = _str(data.get("lang"))
    handle = out.publisher.handle if out.publisher and out.publisher.handle else "i/web"
    out.url = f"https://x.com/{handle}/status/{own_id}"
    entities = data.get("entities")
    if isinstance(entities, dict):  # what X parsed: exact, also in truncated text
        out.hashtags = _unique(_hashtag(tag.get("tag")) for tag in _dicts(entities.get("hashtags")))
        out.mentions = _unique(_lower(m.get("username")) for m in _dicts(entities.get("mentions")))
        out.urls = _unique(
            _str(u.get("expanded_url")) or _str(u.get("url")) for u in _dicts(entities.get("urls"))
        )
    elif out.text:  # no entities asked for: read the text (cut words are left out)
        out.hashtags, out.mentions = hashtags(out.text), mentions(out.text)
        out.urls = urls(out.text)
    keys = [key for key in _media_keys(data) if key not in foreign_media]
    media = []
    if keys:
        catalog = _by_key(includes.get("media"), "media_key")
        media = [catalog[key] for key in keys if key in catalog]
    known_media = len(media) == len(keys)  # a lookup without includes knows no media
    out.detailed = known_media and publisher_id is not None
    video = next((m for m in media if m.get("type") in ("video", "animated_gif")), None)
    if video is not None:
        out.media_type = _str(video.get("type"))
    elif known_media:
        out.media_type = _str(media[0].get("type")) if media else "text"
    counters = _dict(data.get("public_metrics"))
    views = None
    if video is not None:
        out.duration_s = _seconds(video.get("duration_ms"), 1000)
        views = _int(_dict(video.get("public_metrics")).get("view_count"))
    elif known_media:  # no video: its impressions (unknown media: which is unknown)
        views = _int(counters.get("impression_count"))
    out.metrics = Metrics(
        views=views,
        likes=_int(counters.get("like_count")),
        shares=_int(counters.get("retweet_count")),
        comments=_int(counters.get("reply_count")),
        quotes=_int(counters.get("quote_count")),
    )


def describe_tweet_time(data: dict[str, Any]) -> datetime | None:
    """A v2 tweet's ``created_at``, or None when missing or malformed."""
    raw = data.get("created_at")
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _x_publisher(platform: str, user_id: str, users: dict[Any, dict[str, Any]]) -> Publisher:
    author = _dict(users.get(user_id))
    metrics = _dict(author.get("public_metrics"))
    return Publisher(
        platform,
        user_id,
        _str(author.get("name")),
        _str(author.get("username")),
        _int(metrics.get("followers_count")),
    )


def _media_keys(tweet: dict[str, Any]) -> list[Any]:
    keys = _dict(tweet.get("attachments")).get("media_keys")
    return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []


def _item_id_of(tweet: dict[str, Any] | None, tweet_id: str) -> str:
    """The item a referenced tweet belongs to: its original id when ``includes`` shows
    it is an edited version, else its own id."""
    history = _dict(tweet).get("edit_history_tweet_ids")
    if isinstance(history, list) and history and isinstance(history[0], str | int):
        return str(history[0])
    return tweet_id


def _legacy_tweet(payload: dict[str, Any], out: Features, publisher_id: str | None) -> None:
    """v1.1 tweets from the original lakes: flat, with `user` and `entities`; a retweet
    embeds its original as ``retweeted_status``."""
    original = payload.get("retweeted_status")
    if isinstance(original, dict) and isinstance(original.get("id_str"), str):
        retweeter = _dict(payload.get("user"))
        out.amplifier = (
            None
            if publisher_id is None
            else Publisher(
                out.platform, publisher_id, _str(retweeter.get("name")),
                _str(retweeter.get("screen_name")), _int(retweeter.get("followers_count")),
            )
        )  # fmt: skip
        retweet_id, retweeted_at = out.item_id, out.created_at
        out.item_id = original["id_str"]
        try:
            out.created_at = datetime.strptime(
                str(original.get("created_at")), "%a %b %d %H:%M:%S %z %Y"
            ).astimezone(UTC)
        except ValueError:
            out.stored = out.counted = False
        author = _dict(original.get("user")).get("id_str")
        _legacy_fields(original, out, author if isinstance(author, str) else None)
        out.references = (
            Reference(retweet_id, RETWEETED, out.item_id, publisher_id, retweeted_at),
        )
        return
    _legacy_fields(payload, out, publisher_id)


def _legacy_fields(payload: dict[str, Any], out: Features, publisher_id: str | None) -> None:
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


def extract_video(
    payload: dict[str, Any], out: Features, publisher_id: str | None, obj: dict[str, Any]
) -> None:
    snippet = _dict(payload.get("snippet"))
    # A deleted or private video, or a read without these parts, knows nothing of them
    out.detailed = bool(snippet) and isinstance(payload.get("contentDetails"), dict)
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


def extract_post(
    payload: dict[str, Any], out: Features, publisher_id: str | None, obj: dict[str, Any]
) -> None:
    """A Page post, a Page video (a Video node: it has ``length``) or a live video (a
    LiveVideo node: ``creation_time`` and ``status``). A post of the Page's own video,
    the Video node and a broadcast's LiveVideo are one item: the video."""
    page = _dict(payload.get("from")) or _dict(obj.get(PAGE))
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
    is_live = "created_time" not in payload and "creation_time" in payload
    if is_page_video:
        out.media_type = "video"
        out.duration_s = _seconds(payload.get("length"), 1)
    elif is_live:
        out.media_type = "video"  # a broadcast is a video; its Video node has the length
        video_id = _dict(payload.get("video")).get("id")
        _rekey(out, video_id, "live_video")
    elif attachments:
        first = attachments[0]
        out.media_type = _str(first.get("media_type")) or "link"
        if _is_own_video(payload, first):
            _rekey(out, _dict(first.get("target")).get("id"), "post")
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
    if is_page_video or is_live:
        shares = None  # the Video and LiveVideo nodes have no share counter
    else:  # the Graph API omits `shares` on a post nobody has shared yet
        shares = _int(_dict(payload.get("shares")).get("count")) if "shares" in payload else 0
    out.metrics = Metrics(
        views=views,  # a live video's `live_views` counts viewers now, not views: not used
        likes=_int(_dict(_dict(payload.get("reactions")).get("summary")).get("total_count")),
        shares=shares,
        comments=_int(_dict(_dict(payload.get("comments")).get("summary")).get("total_count")),
    )


def _is_own_video(post: dict[str, Any], attachment: dict[str, Any]) -> bool:
    """The attachment is the Page's own upload of a video (not a share of someone's)."""
    return (
        attachment.get("media_type") == "video"
        and _str(attachment.get("type")) in NATIVE_VIDEO_ATTACHMENTS
        and post.get("status_type") in (None, "added_video")
    )


def _rekey(out: Features, video_id: Any, kind: str) -> None:
    """The observation is of the video `video_id`: its own id becomes an alias. Only the
    Video node knows the duration, so this observation is not `detailed`."""
    if (isinstance(video_id, str) and video_id) or type(video_id) is int:
        out.aliases = ((out.item_id, kind),)
        out.item_id = str(video_id)
        out.detailed = False


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


def complete_words(text: str) -> str:
    """The text without what cannot be trusted as words: a withheld-content placeholder
    is no text at all, and a word (tag, link) cut by a trailing ellipsis is dropped —
    ``#Footba…`` is not a hashtag."""
    if "withheld" in text and WITHHELD.search(text):
        return ""
    stripped = text.rstrip()
    if stripped.endswith(ELLIPSIS):
        cut = max(stripped.rfind(" "), stripped.rfind("\n"), stripped.rfind("\t"))
        return stripped[: cut + 1] if cut >= 0 else ""
    return text


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _hashtags(text: str) -> tuple[str, ...]:
    text = URL.sub(" ", complete_words(text))
    return tuple(_unique(_hashtag(tag) for tag in HASHTAG.findall(text)))


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _mentions(text: str) -> tuple[str, ...]:
    text = URL.sub(" ", complete_words(text))
    return tuple(_unique(_lower(handle) for handle in MENTION.findall(text)))


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _urls(text: str) -> tuple[str, ...]:
    return tuple(_unique(url.rstrip(".,;:!?)") for url in URL.findall(complete_words(text))))


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _keywords(text: str) -> tuple[str, ...]:
    text = URL.sub(" ", complete_words(text))
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
    return _iso_seconds(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=1024)  # a video's duration is the same at every observation
def _iso_seconds(value: str) -> float | None:
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
    return _normalized(tag)


@functools.lru_cache(maxsize=CACHED_TEXTS)  # tags recur across items
def _normalized(tag: str) -> str:
    return unicodedata.normalize("NFKC", tag).casefold()


def _lower(value: Any) -> str | None:
    return value.casefold() if isinstance(value, str) and value else None


def _unique(values: Iterable[str | None]) -> list[str]:
    """The values in order of first appearance, once each, without None and ""."""
    return list(filter(None, dict.fromkeys(values)))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _by_key(value: Any, key: str) -> dict[Any, dict[str, Any]]:
    """The objects of an `includes` list by their id; one whose id is not a string or an
    integer (a malformed payload) cannot be referred to, so it is left out."""
    return {entry[key]: entry for entry in _dicts(value) if isinstance(entry.get(key), str | int)}


def _str(value: Any) -> str | None:
    if type(value) is str:  # the hot path: no isinstance
        return value or None
    return value if isinstance(value, str) and value != "" else None


def _int(value: Any) -> int | None:
    """Counters arrive as ints (X, Facebook) or decimal strings (YouTube)."""
    if type(value) is int:  # the hot path: no isinstance
        return value
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
