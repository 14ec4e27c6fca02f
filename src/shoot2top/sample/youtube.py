"""YouTube Data API v3 ``videos.list`` items of sample videos (parts ``snippet``,
``statistics``, ``contentDetails``; statistics are strings, as the API returns them)."""

from __future__ import annotations

import base64
import hashlib
import math
import random
from datetime import datetime
from typing import Any

from shoot2top.sample.formats import clone, iso_duration, iso_z
from shoot2top.sample.ids import IdMint, youtube_id
from shoot2top.sample.items import Item
from shoot2top.sample.world import TOPICS, Publisher
from shoot2top.sample.writing import Copy


def video_static(
    rng: random.Random,
    ids: IdMint,
    publisher: Publisher,
    copy: Copy,
    topic: str,
    published: datetime,
) -> dict[str, Any]:
    video_id = ids.unique(lambda: youtube_id(rng))
    seconds = _youtube_duration_seconds(rng)
    title = copy.headline + (" " + copy.emoji if copy.emoji else "")
    if seconds < 60:
        title += " #shorts"
    paragraphs = []
    if copy.extra:
        paragraphs.append(copy.extra)
    if copy.hashtags:
        paragraphs.append(" ".join("#" + tag for tag in copy.hashtags))
    if rng.random() < 0.2:
        paragraphs.append(f"Subscribe: https://www.youtube.com/{publisher.handle}")
    description = "\n\n".join(paragraphs or [copy.headline])
    thumbnails = {
        size: {"url": f"https://i.ytimg.com/vi/{video_id}/{file}.jpg", "width": w, "height": h}
        for size, file, w, h in (("default", "default", 120, 90), ("high", "hqdefault", 480, 360))
    }
    snippet: dict[str, Any] = {
        "publishedAt": iso_z(published),
        "channelId": publisher.id,
        "title": title,
        "description": description,
        "thumbnails": thumbnails,
        "channelTitle": publisher.name,
    }
    if rng.random() < 0.65:
        tags = [tag.lower() for tag in copy.hashtags] + [topic, *copy.names]
        snippet["tags"] = list(dict.fromkeys(tags))[:6]
    snippet |= {
        "categoryId": TOPICS[topic].youtube_category,
        "liveBroadcastContent": "none",
        "defaultAudioLanguage": copy.language,
        "localized": {"title": title, "description": description},
    }
    content_details: dict[str, Any] = {
        "duration": iso_duration(seconds),
        "dimension": "2d",
        "definition": "hd" if rng.random() < 0.9 else "sd",
        "caption": "true" if rng.random() < 0.3 else "false",
        "licensedContent": rng.random() < 0.8,
        "contentRating": {},
        "projection": "rectangular",
    }
    return {
        "kind": "youtube#video",
        "etag": "",
        "id": video_id,
        "snippet": snippet,
        "contentDetails": content_details,
        "statistics": {},
    }


def _youtube_duration_seconds(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.25:  # a Short
        return rng.randrange(15, 60)
    if roll < 0.98:
        return max(60, int(rng.lognormvariate(math.log(360), 0.7)))
    return rng.randrange(3600, 3 * 3600)  # a stream replay


def render_video(item: Item, observed: datetime) -> dict[str, Any]:
    payload = clone(item.static)
    engagement, published = item.engagement, item.published
    statistics = {
        "viewCount": str(engagement.at("viewCount", published, observed)),
        "likeCount": str(engagement.at("likeCount", published, observed)),
        "favoriteCount": "0",
        "commentCount": str(engagement.at("commentCount", published, observed)),
    }
    payload["statistics"] = statistics
    payload["etag"] = _etag(payload["id"], statistics)
    return payload


def _etag(video_id: str, statistics: dict[str, str]) -> str:
    """27 base64url characters that change whenever the resource does."""
    digest = hashlib.sha1((video_id + repr(sorted(statistics.items()))).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
