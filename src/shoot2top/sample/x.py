"""X API v2 filtered-stream messages of sample tweets (``data`` + ``includes`` +
``matching_rules``): text with entity offsets, media with ``view_count``, the author in
``includes.users``, counters that grow with each observation.

Retweets and quotes come as X sends them with the ``referenced_tweets.id`` and
``referenced_tweets.id.author_id`` expansions: ``data.referenced_tweets`` names the
tweet they point at, which comes whole (its text, entities and counters at that moment)
in ``includes.tweets``, its author beside theirs in ``includes.users``. A retweet's text
is ``RT @author: `` and the original's text, cut at 140 characters with "…"; its
entities are what the cut text shows, its attachments the original's media, its own
counters zero but ``retweet_count`` (the original's), as X shows them. A quote is its
own tweet, with its own counters and a link to the quoted one."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from shoot2top.posts import TWITTER_EPOCH_MS
from shoot2top.sample.formats import clone, iso_ms_z
from shoot2top.sample.ids import BASE62, BASE64URL, IdMint, seeded_random, token, youtube_id
from shoot2top.sample.items import Item
from shoot2top.sample.world import PUBLISHERS, TOPICS, Publisher
from shoot2top.sample.writing import Copy

RETWEET_TEXT_LIMIT = 140  # X cuts "RT @author: text" here
ELLIPSIS = "\u2026"
QUOTE_LINES = (
    "Worth a watch.",
    "This is the one.",
    "Everyone needs to see this.",
    "Called it.",
    "Still not over this.",
    "Big night.",
    "Saving this one.",
)


class _TextWithEntities:
    """Builds tweet text while recording entity offsets (in code points, end exclusive)."""

    def __init__(self) -> None:
        self.text = ""
        self.hashtags: list[dict[str, Any]] = []
        self.mentions: list[dict[str, Any]] = []
        self.urls: list[dict[str, Any]] = []

    def add(self, text: str) -> None:
        self.text += text

    def hashtag(self, tag: str) -> None:
        start = len(self.text)
        self.text += "#" + tag
        self.hashtags.append({"start": start, "end": len(self.text), "tag": tag})

    def mention(self, username: str, user_id: str) -> None:
        start = len(self.text)
        self.text += "@" + username
        self.mentions.append(
            {"start": start, "end": len(self.text), "username": username, "id": user_id}
        )

    def url(self, short_url: str, **details: str) -> None:
        start = len(self.text)
        self.text += short_url
        self.urls.append({"start": start, "end": len(self.text), "url": short_url, **details})

    def entities(self) -> dict[str, Any]:
        lists = {"hashtags": self.hashtags, "mentions": self.mentions, "urls": self.urls}
        return {name: entries for name, entries in lists.items() if entries}


def tweet_static(
    rng: random.Random,
    ids: IdMint,
    publisher: Publisher,
    copy: Copy,
    topic: str,
    published: datetime,
) -> dict[str, Any]:
    published_ms = int(published.timestamp() * 1000) + rng.randrange(1000)
    tweet_id = ids.snowflake(published_ms)
    media_type = rng.choices(("video", "photo", None), weights=(60, 20, 20))[0]
    text = _TextWithEntities()
    text.add(copy.headline)
    if copy.extra:
        text.add(" " + copy.extra)
    if copy.emoji:
        text.add(" " + copy.emoji)
    if rng.random() < 0.12:
        other = rng.choice([p for p in PUBLISHERS["x"] if p is not publisher])
        text.add(" via ")
        text.mention(other.handle, other.id)
    for tag in copy.hashtags:
        text.add(" ")
        text.hashtag(tag)
    media = None
    if media_type is not None:
        media = _x_media(rng, ids, media_type, published_ms)
        code = token(rng, 10, BASE62)
        kind = "video" if media_type == "video" else "photo"
        text.add(" ")
        text.url(
            f"https://t.co/{code}",
            expanded_url=f"https://x.com/{publisher.handle}/status/{tweet_id}/{kind}/1",
            display_url=f"pic.x.com/{code}",
            media_key=media["media_key"],
        )
    elif rng.random() < 0.4:
        video_id = youtube_id(rng)
        text.add(" ")
        text.url(
            f"https://t.co/{token(rng, 10, BASE62)}",
            expanded_url=f"https://www.youtube.com/watch?v={video_id}",
            display_url=f"youtube.com/watch?v={video_id[:3]}…",
        )
    data = _tweet_data(tweet_id, text.text, published_ms, publisher.id, copy.language)
    entities = text.entities()
    if entities:
        data["entities"] = entities
    if media is not None:
        data["attachments"] = {"media_keys": [media["media_key"]]}
    data["public_metrics"] = {}
    includes: dict[str, Any] = {"users": [_x_user(publisher)]}
    if media is not None:
        includes["media"] = [media]
    rule = {"id": _rule_id(topic), "tag": topic}
    return {"data": data, "includes": includes, "matching_rules": [rule]}


def _tweet_data(
    tweet_id: str, text: str, published_ms: int, author_id: str, lang: str
) -> dict[str, Any]:
    """The fields every tweet's ``data`` starts with, in X's order."""
    return {
        "id": tweet_id,
        "text": text,
        "created_at": iso_ms_z(published_ms),
        "author_id": author_id,
        "lang": lang,
        "conversation_id": tweet_id,
        "possibly_sensitive": False,
        "edit_history_tweet_ids": [tweet_id],
    }


def retweet_static(
    rng: random.Random, ids: IdMint, retweeter: Publisher, original: Item, published: datetime
) -> dict[str, Any]:
    """`retweeter`'s retweet of `original` at `published` (counters filled at render)."""
    source = original.static
    tweet = source["data"]
    author = source["includes"]["users"][0]
    published_ms = int(published.timestamp() * 1000) + rng.randrange(1000)
    tweet_id = ids.snowflake(published_ms)
    prefix = f"RT @{author['username']}: "
    text = prefix + tweet["text"]
    cut = len(text) > RETWEET_TEXT_LIMIT
    if cut:
        text = text[: RETWEET_TEXT_LIMIT - 1] + ELLIPSIS
    shown = len(text) - cut  # characters of the original still whole
    rt_mention = {"start": 3, "end": 4 + len(author["username"]),
                  "username": author["username"], "id": author["id"]}  # fmt: skip
    entities: dict[str, list[dict[str, Any]]] = {"mentions": [rt_mention]}
    for name in ("hashtags", "mentions", "urls"):
        for entity in tweet.get("entities", {}).get(name, ()):
            start, end = entity["start"] + len(prefix), entity["end"] + len(prefix)
            if end < shown or (not cut and end <= shown):  # a cut entity is not one
                entities.setdefault(name, []).append({**entity, "start": start, "end": end})
    data: dict[str, Any] = {
        **_tweet_data(tweet_id, text, published_ms, retweeter.id, tweet["lang"]),
        "referenced_tweets": [{"type": "retweeted", "id": tweet["id"]}],
        "entities": {name: entities[name] for name in ("hashtags", "mentions", "urls")
                     if name in entities},
    }  # fmt: skip
    if "attachments" in tweet:
        data["attachments"] = clone(tweet["attachments"])
    data["public_metrics"] = {}
    includes: dict[str, Any] = {
        "users": [_x_user(retweeter), clone(author)],
        "tweets": [clone(tweet)],
    }
    if "media" in source["includes"]:
        includes["media"] = clone(source["includes"]["media"])
    return {"data": data, "includes": includes, "matching_rules": clone(source["matching_rules"])}


def quote_static(
    rng: random.Random, ids: IdMint, quoter: Publisher, quoted: Item, published: datetime
) -> dict[str, Any]:
    """`quoter`'s quote of `quoted` at `published`: a line of its own and the link."""
    tweet = quoted.static["data"]
    author = quoted.static["includes"]["users"][0]
    published_ms = int(published.timestamp() * 1000) + rng.randrange(1000)
    tweet_id = ids.snowflake(published_ms)
    text = _TextWithEntities()
    text.add(rng.choice(QUOTE_LINES))
    if rng.random() < 0.4:
        text.add(" " + rng.choice(TOPICS[quoted.topic].emoji))
    text.add(" ")
    text.url(
        f"https://t.co/{token(rng, 10, BASE62)}",
        expanded_url=f"https://x.com/{author['username']}/status/{tweet['id']}",
        display_url=f"x.com/{author['username']}/st…",
    )
    data: dict[str, Any] = {
        **_tweet_data(tweet_id, text.text, published_ms, quoter.id, "en"),
        "referenced_tweets": [{"type": "quoted", "id": tweet["id"]}],
        "entities": text.entities(),
        "public_metrics": {},
    }
    includes = {"users": [_x_user(quoter), clone(author)], "tweets": [clone(tweet)]}
    rules = clone(quoted.static["matching_rules"])
    return {"data": data, "includes": includes, "matching_rules": rules}


def _x_media(rng: random.Random, ids: IdMint, media_type: str, published_ms: int) -> dict[str, Any]:
    media_id = ids.snowflake(published_ms - rng.randrange(5_000, 120_000))
    width, height = rng.choice(((1920, 1080), (1280, 720), (1080, 1920), (720, 1280)))
    if media_type == "photo":
        return {
            "media_key": f"3_{media_id}",
            "type": "photo",
            "url": f"https://pbs.twimg.com/media/{token(rng, 15, BASE64URL)}.jpg",
            "height": height,
            "width": width,
        }
    return {
        "media_key": f"7_{media_id}",
        "type": "video",
        "duration_ms": rng.randrange(6_000, 140_000, 1),
        "height": height,
        "width": width,
        "preview_image_url": (
            f"https://pbs.twimg.com/ext_tw_video_thumb/{media_id}/pu/img/"
            f"{token(rng, 16, BASE64URL)}.jpg"
        ),
        "public_metrics": {"view_count": 0},
        "variants": [
            {
                "bit_rate": 2176000,
                "content_type": "video/mp4",
                "url": (
                    f"https://video.twimg.com/ext_tw_video/{media_id}/pu/vid/avc1/"
                    f"{width}x{height}/{token(rng, 16, BASE64URL)}.mp4"
                ),
            }
        ],
    }


def _x_user(publisher: Publisher) -> dict[str, Any]:
    """The author object; its details derive from the publisher id, not the seed."""
    stable = seeded_random(0, "x-user:" + publisher.id)
    created = datetime(2009, 1, 1, tzinfo=UTC) + timedelta(seconds=stable.randrange(400_000_000))
    return {
        "id": publisher.id,
        "name": publisher.name,
        "username": publisher.handle,
        "created_at": iso_ms_z(int(created.timestamp() * 1000)),
        "verified": publisher.followers > 1_000_000,
        "public_metrics": {
            "followers_count": publisher.followers,
            "following_count": stable.randrange(80, 2_000),
            "tweet_count": stable.randrange(5_000, 90_000),
            "listed_count": publisher.followers // stable.randrange(150, 400),
            "like_count": stable.randrange(1_000, 40_000),
        },
    }


def _rule_id(topic: str) -> str:
    """A stable filtered-stream rule id per topic (a snowflake from 2026-11-01)."""
    rule_ms = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
    low_bits = int.from_bytes(hashlib.sha256(topic.encode()).digest()[:3], "big") >> 2
    return str(((rule_ms - TWITTER_EPOCH_MS) << 22) | low_bits)


def render_tweet(item: Item, observed: datetime) -> dict[str, Any]:
    """The tweet as observed at `observed`; a retweet or quote with the tweet it points
    at as it stood then (a retweet's media are the original's, and so are their views)."""
    payload = clone(item.static)
    data, includes = payload["data"], payload["includes"]
    viewed, referenced = item, item.referenced
    data["public_metrics"] = _counters(item, observed)
    if referenced is not None:
        includes["tweets"][0]["public_metrics"] = _counters(referenced, observed)
        if data["referenced_tweets"][0]["type"] == "retweeted":
            shared = includes["tweets"][0]["public_metrics"]["retweet_count"]
            data["public_metrics"] = dict.fromkeys(_COUNTERS, 0) | {"retweet_count": shared}
            viewed = referenced
    for media in includes.get("media", ()):
        if media["type"] == "video":
            media["public_metrics"]["view_count"] = viewed.engagement.at(
                "view_count", viewed.published, observed
            )
    return payload


_COUNTERS = (
    "retweet_count", "reply_count", "like_count", "quote_count", "bookmark_count",
    "impression_count",
)  # fmt: skip


def _counters(item: Item, observed: datetime) -> dict[str, int]:
    """A tweet's ``public_metrics`` at `observed`, in X's order."""
    return {name: item.engagement.at(name, item.published, observed) for name in _COUNTERS}
