"""Deterministic sample stream of social-video items for X, YouTube and Facebook.

`generate_items` returns streamable objects in the platforms' real API wire shapes:

* ``{"tweet": ...}`` — an X API v2 filtered-stream message (``data`` + ``includes`` +
  ``matching_rules``) for one tweet (`x`);
* ``{"video": ...}`` — a YouTube Data API v3 ``videos.list`` item (`youtube`);
* ``{"post": ...}`` — a Facebook Graph API Page post or Page video (`facebook`).

Each object also carries ``_observed_at`` (UTC, second precision, ending in ``Z``),
``_source`` (``"sample"``) and ``_topic`` (the topic whose rule matched).

Every published item is observed repeatedly — at about +10m, +30m, +1h, +2h, +4h, +6h,
+12h, +24h, +48h and +72h after publication, while inside the three-day span (`items`) —
with the same id and created time and non-decreasing metrics that follow a saturating
curve (`engagement`). The publishers and topics are the `world`'s, the words `writing`'s;
a few hashtags and keywords burst inside short windows (`trends.planted_trends`).

Everything is drawn from `random.Random` instances seeded from ``seed`` (`ids`), so the
same arguments give byte-identical JSON.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from shoot2top.posts import PLATFORM_OF_TYPE, stamp
from shoot2top.sample.engagement import draw_engagement
from shoot2top.sample.facebook import post_static, render_post
from shoot2top.sample.ids import IdMint, seeded_random
from shoot2top.sample.items import (
    OBSERVATION_OFFSETS,
    Item,
    drop_excess_observations,
    observation_times,
)
from shoot2top.sample.trends import (
    BURST_ITEMS_PER_OBSERVATION,
    CANDIDATE_BY_TERM,
    PlantedTrend,
    adopted_trends,
    planted_trends,
)
from shoot2top.sample.world import (
    DEFAULT_START,
    PLATFORM_SHARE,
    PLATFORMS,
    PUBLISHERS,
    SPAN,
    normalize_start,
)
from shoot2top.sample.writing import write_copy
from shoot2top.sample.x import quote_static, render_tweet, retweet_static, tweet_static
from shoot2top.sample.youtube import render_video, video_static

__all__ = [  # what this module owns; the world, trends and items are their modules'
    "SOURCE",
    "STATIC_BUILDERS",
    "TYPE_OF_PLATFORM",
    "generate_items",
    "iter_items",
    "observe",
]

SOURCE = "sample"
TYPE_OF_PLATFORM = {platform: kind for kind, platform in PLATFORM_OF_TYPE.items()}
STATIC_BUILDERS = {"x": tweet_static, "youtube": video_static, "facebook": post_static}
RENDERERS = {"x": render_tweet, "youtube": render_video, "facebook": render_post}
# Of the background tweets, retweets and quotes of the other publishers' tweets: media
# accounts mostly post their own; a keyword stream of everyone's tweets is over half
# retweets. A retweet is observed as X's lookups show it: the original's counters.
RETWEET_SHARE = 0.2
QUOTE_SHARE = 0.05
SHARE_DELAY = (timedelta(minutes=5), timedelta(hours=24))  # after the original
QUOTE_REACH = 0.3  # of a quoting publisher's ordinary tweet


def generate_items(
    seed: int = 7, items: int = 3000, start: datetime = DEFAULT_START
) -> list[dict[str, Any]]:
    """Exactly ``items`` streamable objects, sorted ascending by ``_observed_at``.

    Items are published over `SPAN` (three days) from ``start`` and observed repeatedly;
    the same seed and arguments give identical output (compare ``json.dumps``). A naive
    ``start`` is taken as UTC; sub-second parts are dropped.
    """
    return list(iter_items(seed, items, start))


def iter_items(
    seed: int = 7, items: int = 3000, start: datetime = DEFAULT_START
) -> Iterator[dict[str, Any]]:
    """`generate_items` one item at a time, for a writer that shows its progress: the
    first item comes after the plan of every item is made (about a quarter of the time)."""
    if items < 0:
        raise ValueError(f"items must be >= 0, got {items}")
    start = normalize_start(start)
    end = start + SPAN
    rng = seeded_random(seed, "items")
    ids = IdMint(rng)
    trends = planted_trends(seed, start)
    published: list[Item] = []
    observation_counts = dict.fromkeys(PLATFORMS, 0)
    for trend in trends:
        for _ in range(max(1, round(items * BURST_ITEMS_PER_OBSERVATION))):
            published.append(_burst_item(rng, ids, trend, end))
            observation_counts[published[-1].platform] += len(published[-1].observations)
    sharing = seeded_random(seed, "shares")  # its own stream: the other items stay the same
    share_ids = ids.drawing_from(sharing)
    while sum(observation_counts.values()) < items:
        platform = _most_behind_platform(observation_counts)
        item = _background_item(rng, ids, platform, trends, start, end)
        if platform == "x":
            item = _share(sharing, share_ids, item, published) or item
        published.append(item)
        observation_counts[platform] += len(published[-1].observations)
    drop_excess_observations(rng, published, sum(observation_counts.values()) - items)
    schedule = sorted(
        ((moment, item) for item in published for moment in item.observations),
        key=lambda pair: (pair[0], pair[1].platform, pair[1].published),
    )
    for moment, item in schedule:
        yield observe(item, moment)


def _burst_item(rng: random.Random, ids: IdMint, trend: PlantedTrend, end: datetime) -> Item:
    platform = _pick_platform(rng, trend.platforms)
    window_seconds = int((trend.end - trend.start).total_seconds())
    published = trend.start + timedelta(seconds=rng.randrange(window_seconds))
    topic = CANDIDATE_BY_TERM[trend.term].topic
    return _new_item(rng, ids, platform, topic, published, [trend], end, boost=2.0)


def _background_item(
    rng: random.Random,
    ids: IdMint,
    platform: str,
    trends: list[PlantedTrend],
    start: datetime,
    end: datetime,
) -> Item:
    latest = int((SPAN - OBSERVATION_OFFSETS[0]).total_seconds())
    published = start + timedelta(seconds=rng.randrange(latest))
    adopted = adopted_trends(rng, platform, published, trends)
    return _new_item(rng, ids, platform, None, published, adopted, end, boost=1.0)


def _share(rng: random.Random, ids: IdMint, tweet: Item, planned: list[Item]) -> Item | None:
    """`tweet` made a retweet (`RETWEET_SHARE` of the background tweets) or a quote
    (`QUOTE_SHARE`) of a tweet posted up to a day before by another publisher — one of
    the same topic when there is one; the more reach, the likelier — at the same time
    and observed at the same moments; None to keep it an original tweet."""
    roll = rng.random()
    if roll >= RETWEET_SHARE + QUOTE_SHARE:
        return None
    published = tweet.published
    candidates = [
        item for item in planned
        if item.platform == "x" and item.referenced is None
        and SHARE_DELAY[0] <= published - item.published <= SHARE_DELAY[1]
    ]  # fmt: skip
    if not candidates:
        return None
    weights = [item.engagement.final_reach for item in candidates]
    original = rng.choices(candidates, weights=weights)[0]
    author = original.static["data"]["author_id"]
    others = [p for p in PUBLISHERS["x"] if p.id != author]
    sharer = rng.choice([p for p in others if original.topic in p.topics] or others)
    if roll < RETWEET_SHARE:
        static = retweet_static(rng, ids, sharer, original, published)
        engagement = original.engagement  # a retweet shows the original's counters
    else:
        static = quote_static(rng, ids, sharer, original, published)
        engagement = draw_engagement(rng, sharer, QUOTE_REACH)
    return Item("x", original.topic, published, engagement, static, tweet.observations, original)


def _most_behind_platform(observed: dict[str, int]) -> str:
    """The platform furthest below its share of observations so far (keeps the mix exact)."""
    total = sum(observed.values()) + 1
    return max(PLATFORMS, key=lambda p: PLATFORM_SHARE[p] * total - observed[p])


def _pick_platform(rng: random.Random, platforms: tuple[str, ...]) -> str:
    return rng.choices(platforms, weights=[PLATFORM_SHARE[p] for p in platforms])[0]


def _new_item(
    rng: random.Random,
    ids: IdMint,
    platform: str,
    topic: str | None,
    published: datetime,
    trends: list[PlantedTrend],
    end: datetime,
    boost: float,
) -> Item:
    publisher = rng.choice(PUBLISHERS[platform])
    keyword = next((t for t in trends if t.kind == "keyword"), None)
    if topic is None and keyword is not None:
        topic = CANDIDATE_BY_TERM[keyword.term].topic  # the keyword is what the item is about
    topic = topic or rng.choice(publisher.topics)
    copy = write_copy(rng, publisher, topic, trends)
    static = STATIC_BUILDERS[platform](rng, ids, publisher, copy, topic, published)
    return Item(
        platform=platform,
        topic=topic,
        published=published,
        engagement=draw_engagement(rng, publisher, boost),
        static=static,
        observations=observation_times(rng, published, end),
    )


def observe(item: Item, observed: datetime) -> dict[str, Any]:
    """The streamable object of `item` as observed at `observed`."""
    payload = RENDERERS[item.platform](item, observed)
    return stamp(
        TYPE_OF_PLATFORM[item.platform],
        payload,
        observed_at=observed,
        source=SOURCE,
        topic=item.topic,
    )
