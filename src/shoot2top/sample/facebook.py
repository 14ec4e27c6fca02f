"""Facebook Graph API objects of sample items: Page posts (``<page_id>_<post_id>``) whose
attachment is the Page's video, and Page videos with lifetime ``video_insights``, with
reactions, comments and shares summaries."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from shoot2top.sample.formats import clone, fb_time
from shoot2top.sample.ids import IdMint
from shoot2top.sample.items import Item
from shoot2top.sample.world import Publisher
from shoot2top.sample.writing import Copy

_PAGE_VIDEO_SHARE = 0.4
_TOTAL_VIDEO_VIEWS_DESCRIPTION = (
    "Lifetime: Total number of times your video was viewed for 3 seconds or more. (Total Count)"
)


def post_static(
    rng: random.Random,
    ids: IdMint,
    publisher: Publisher,
    copy: Copy,
    topic: str,
    published: datetime,
) -> dict[str, Any]:
    title = copy.headline
    message = copy.headline + (" " + copy.emoji if copy.emoji else "")
    if copy.extra:
        message += "\n\n" + copy.extra
    if copy.hashtags:
        message += "\n\n" + " ".join("#" + tag for tag in copy.hashtags)
    page = {"name": publisher.name, "id": publisher.id}
    video_id = ids.unique(lambda: str(rng.randrange(10**15, 10**16)))
    if rng.random() < _PAGE_VIDEO_SHARE:
        updated = published + timedelta(seconds=rng.randrange(30, 900))
        return {
            "id": video_id,
            "created_time": fb_time(published),
            "updated_time": fb_time(updated),
            "title": title,
            "description": message,
            "length": round(rng.lognormvariate(math.log(90), 0.8) + 5, 1),
            "permalink_url": f"/{publisher.handle}/videos/{video_id}/",
            "from": page,
        }
    post_id = ids.unique(lambda: str(rng.randrange(10**15, 10**16)))
    video_url = f"https://www.facebook.com/{publisher.handle}/videos/{video_id}/"
    attachment = {
        "media_type": "video",
        "type": "video_inline",
        "url": video_url,
        "title": title,
        "target": {"id": video_id, "url": video_url},
    }
    return {
        "id": f"{publisher.id}_{post_id}",
        "created_time": fb_time(published),
        "message": message,
        "permalink_url": f"https://www.facebook.com/{publisher.id}/posts/{post_id}",
        "from": page,
        "attachments": {"data": [attachment]},
    }


def render_post(item: Item, observed: datetime) -> dict[str, Any]:
    static = clone(item.static)
    engagement, published = item.engagement, item.published
    shares = engagement.at("shares", published, observed)
    reactions = {
        "data": [],
        "summary": {
            "total_count": engagement.at("reactions", published, observed),
            "viewer_reaction": "NONE",
        },
    }
    comments = {
        "data": [],
        "summary": {
            "order": "ranked",
            "total_count": engagement.at("comments", published, observed),
            "can_comment": True,
        },
    }
    payload: dict[str, Any] = {}
    for key, value in static.items():
        if key == "attachments":
            continue
        payload[key] = value
        if key == "from" and shares > 0 and "attachments" in static:
            payload["shares"] = {"count": shares}
    payload["reactions"] = reactions
    payload["comments"] = comments
    if "attachments" in static:
        payload["attachments"] = static["attachments"]
    else:
        payload["video_insights"] = _video_insights(
            static["id"], engagement.at("views", published, observed)
        )
    return payload


def _video_insights(video_id: str, views: int) -> dict[str, Any]:
    return {
        "data": [
            {
                "name": "total_video_views",
                "period": "lifetime",
                "values": [{"value": views}],
                "title": "Lifetime Total Video Views",
                "description": _TOTAL_VIDEO_VIEWS_DESCRIPTION,
                "id": f"{video_id}/video_insights/total_video_views/lifetime",
            }
        ]
    }
