"""Items built from the platforms' documented response shapes, for identity and figures
tests: X API v2 tweets with ``referenced_tweets``, ``includes.tweets``/``users``/``media``,
``edit_history_tweet_ids`` and ``entities``; Graph API Page posts, Page videos (Video
nodes with ``video_insights``) and live videos (LiveVideo nodes); YouTube Data API v3
``videos.list`` resources. Every builder returns the streamable object the sources emit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TWITTER_EPOCH_MS = 1288834974657


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def x_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def fb_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def snowflake(moment: datetime, sequence: int = 1) -> str:
    """An X id minted at `moment`."""
    return str(((int(moment.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22) | sequence)


# ----------------------------------------------------------------------------- X API v2


def x_user(user_id: str, username: str, followers: int = 1000) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": username.title(),
        "username": username,
        "public_metrics": {
            "followers_count": followers,
            "following_count": 10,
            "tweet_count": 500,
            "listed_count": 3,
        },
    }


def x_metrics(
    likes: int = 0, retweets: int = 0, replies: int = 0, quotes: int = 0, impressions: int = 0
) -> dict[str, int]:
    return {
        "retweet_count": retweets,
        "reply_count": replies,
        "like_count": likes,
        "quote_count": quotes,
        "bookmark_count": 0,
        "impression_count": impressions,
    }


def x_tweet(
    tweet_id: str,
    text: str,
    author: str,
    created: datetime,
    *,
    metrics: dict[str, int] | None = None,
    entities: dict[str, Any] | None = None,
    media_keys: list[str] | None = None,
    referenced: list[tuple[str, str]] | None = None,
    history: list[str] | None = None,
) -> dict[str, Any]:
    """A v2 Tweet object (``tweet.fields`` as the X source asks for them)."""
    tweet: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "edit_history_tweet_ids": history or [tweet_id],
        "created_at": x_time(created),
        "author_id": author,
        "lang": "en",
        "public_metrics": metrics or x_metrics(),
    }
    if entities is not None:
        tweet["entities"] = entities
    if media_keys:
        tweet["attachments"] = {"media_keys": media_keys}
    if referenced:
        tweet["referenced_tweets"] = [{"type": kind, "id": ref} for kind, ref in referenced]
    return tweet


def x_video(media_key: str, views: int, duration_ms: int = 42_000) -> dict[str, Any]:
    return {
        "media_key": media_key,
        "type": "video",
        "duration_ms": duration_ms,
        "public_metrics": {"view_count": views},
        "preview_image_url": f"https://pbs.twimg.com/ext_tw_video_thumb/{media_key}.jpg",
        "width": 1280,
        "height": 720,
    }


def hashtag_entities(text: str, *tags: str) -> dict[str, Any]:
    found = []
    for tag in tags:
        start = text.index("#" + tag)
        found.append({"start": start, "end": start + len(tag) + 1, "tag": tag})
    return {"hashtags": found}


def x_item(
    data: dict[str, Any],
    observed: datetime,
    *,
    users: list[dict[str, Any]] | None = None,
    media: list[dict[str, Any]] | None = None,
    tweets: list[dict[str, Any]] | None = None,
    topic: str | None = "space",
    source: str = "x.filtered_stream",
) -> dict[str, Any]:
    """A filtered-stream message for one tweet, as the X source stamps it."""
    includes: dict[str, Any] = {}
    if users:
        includes["users"] = users
    if media:
        includes["media"] = media
    if tweets:
        includes["tweets"] = tweets
    payload: dict[str, Any] = {"data": data, "includes": includes}
    if topic is not None:
        payload["matching_rules"] = [{"id": "1590000000000000000", "tag": topic}]
    item: dict[str, Any] = {"tweet": payload, "_observed_at": z(observed), "_source": source}
    if topic is not None:
        item["_topic"] = topic
    return item


# ----------------------------------------------------------------------------- Graph API

PAGE = {"id": "104829301746215", "name": "Metro Evening News"}


def _summaries(reactions: int, comments: int) -> dict[str, Any]:
    return {
        "reactions": {"data": [], "summary": {"total_count": reactions, "viewer_reaction": "NONE"}},
        "comments": {
            "data": [],
            "summary": {"order": "ranked", "total_count": comments, "can_comment": True},
        },
    }


def fb_item(payload: dict[str, Any], observed: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "post": payload,
        "_observed_at": z(observed),
        "_source": "facebook.posts",
        "_topic": "MetroEveningNews",
        **extra,
    }


def fb_post(
    post_number: str,
    created: datetime,
    message: str,
    *,
    reactions: int = 0,
    comments: int = 0,
    shares: int | None = None,
    video_id: str | None = None,
    status_type: str = "added_video",
    from_page: bool = True,
) -> dict[str, Any]:
    """A Page post (``/{page}/posts`` with the source's fields); with `video_id`, a post
    of that video (attachment ``video_inline`` targeting the Video node)."""
    post: dict[str, Any] = {
        "id": f"{PAGE['id']}_{post_number}",
        "created_time": fb_time(created),
        "message": message,
        "permalink_url": f"https://www.facebook.com/{PAGE['id']}/posts/{post_number}",
        "status_type": status_type if video_id else "mobile_status_update",
    }
    if from_page:
        post["from"] = dict(PAGE)
    if shares is not None:
        post["shares"] = {"count": shares}
    post.update(_summaries(reactions, comments))
    if video_id is not None:
        url = f"https://www.facebook.com/MetroEveningNews/videos/{video_id}/"
        post["attachments"] = {
            "data": [
                {
                    "media_type": "video",
                    "type": "video_inline",
                    "url": url,
                    "title": message,
                    "target": {"id": video_id, "url": url},
                }
            ]
        }
    return post


def fb_insights(video_id: str, views: int) -> dict[str, Any]:
    return {
        "data": [
            {
                "name": "total_video_views",
                "period": "lifetime",
                "values": [{"value": views}],
                "title": "Lifetime Total Video Views",
                "description": "Lifetime: Total number of times your video was viewed for 3 "
                "seconds or more. (Total Count)",
                "id": f"{video_id}/video_insights/total_video_views/lifetime",
            }
        ]
    }


def fb_video(
    video_id: str,
    created: datetime,
    title: str,
    *,
    views: int | None = None,
    reactions: int = 0,
    comments: int = 0,
    length: float = 95.5,
    from_page: bool = True,
) -> dict[str, Any]:
    """A Video node (``/{page}/videos``) with its ``video_insights`` merged in."""
    video: dict[str, Any] = {
        "id": video_id,
        "created_time": fb_time(created),
        "updated_time": fb_time(created + timedelta(minutes=2)),
        "title": title,
        "description": f"{title} #news",
        "length": length,
        "permalink_url": f"/MetroEveningNews/videos/{video_id}/",
    }
    if from_page:
        video["from"] = dict(PAGE)
    video.update(_summaries(reactions, comments))
    if views is not None:
        video["video_insights"] = fb_insights(video_id, views)
    return video


def fb_live_video(
    live_id: str,
    created: datetime,
    title: str,
    *,
    status: str = "LIVE",
    video_id: str | None = None,
    live_views: int = 0,
    reactions: int = 0,
    comments: int = 0,
) -> dict[str, Any]:
    """A LiveVideo node (``/{page}/live_videos``): ``creation_time``, ``status``, the
    Video node of the broadcast in ``video``, concurrent viewers in ``live_views``."""
    live: dict[str, Any] = {
        "id": live_id,
        "title": title,
        "description": f"{title} live",
        "status": status,
        "creation_time": fb_time(created),
        "broadcast_start_time": fb_time(created + timedelta(seconds=30)),
        "permalink_url": f"/MetroEveningNews/videos/{video_id or live_id}/",
        "live_views": live_views,
        "from": dict(PAGE),
    }
    if video_id is not None:
        live["video"] = {"id": video_id}
    live.update(_summaries(reactions, comments))
    return live


# ----------------------------------------------------------------------------- YouTube


def yt_video(
    video_id: str,
    published: datetime,
    title: str,
    observed: datetime,
    *,
    views: int | None = 100,
    likes: int | None = 10,
    comments: int | None = 1,
    parts: tuple[str, ...] = ("snippet", "statistics", "contentDetails"),
) -> dict[str, Any]:
    """A ``videos.list`` resource with the requested parts; a counter the owner hides
    (likes) or has turned off (comments) is absent from ``statistics``."""
    resource: dict[str, Any] = {"kind": "youtube#video", "etag": "e" + video_id, "id": video_id}
    if "snippet" in parts:
        resource["snippet"] = {
            "publishedAt": z(published),
            "channelId": "UCnews",
            "title": title,
            "description": f"{title} #highlights",
            "channelTitle": "News Channel",
            "liveBroadcastContent": "none",
        }
    if "contentDetails" in parts:
        resource["contentDetails"] = {"duration": "PT4M13S", "definition": "hd"}
    if "statistics" in parts:
        statistics = {"viewCount": views, "likeCount": likes, "commentCount": comments}
        resource["statistics"] = {
            name: str(value) for name, value in statistics.items() if value is not None
        }
    return {"video": resource, "_observed_at": z(observed), "_source": "youtube.refresh"}
