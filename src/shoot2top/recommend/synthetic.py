"""An evaluation world with planted truth, for `bench/recommend.py` and the tests.

Several weeks of posts by the sample's twelve publishers (`shoot2top.sample`), in the
platforms' API shapes (the sample's own renderers), observed from 10 minutes to 8 days
after publication, with effects whose truth is known:

- **timing**: each publisher posts mostly in its waking hours, in its own time zone, and
  has two windows of the week (its own hours, on weekdays, weekends, every day or two
  chosen days) where a post reaches ×2–3 more, and one where it reaches half; on top,
  every platform shares a mild daily pattern (evenings ×1.25, nights ×0.8);
- **terms**: per publisher, two of its topics' hashtags lift reach ×2 and one halves it;
- **cross-promotion**: in the last (test) week, four stories trend (two hashtags, two
  keywords) with bursts of posts in several languages; every publisher of the story's
  topic has six **back-catalog** videos from the earlier weeks about that story, written
  the ways people write (the exact hashtag, spelling variants such as ``derby day`` or
  ``hail-storm``, the publisher's own language) — the planted matches;
- **growth**: a saturating curve per item (the sample's), and for a quarter of the items
  a second wave starting 6 h–5 d after publication (a share, a recommendation), so no
  forecast from the first hour is certain; the exact views (interactions for items
  without views) at 24 h and 7 d are kept as outcomes.

Reach is otherwise the sample's: heavy-tailed (Pareto) per item, scaled per publisher.
Same seed, same world. Items are rendered lazily in observation order (`World.batches`),
so memory holds the items' static parts, not every observation.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shoot2top.sample.engagement import METRIC_LAG, Engagement, draw_engagement
from shoot2top.sample.generate import STATIC_BUILDERS, observe
from shoot2top.sample.ids import IdMint, seeded_random
from shoot2top.sample.items import Item
from shoot2top.sample.world import PUBLISHERS, TOPICS, Publisher
from shoot2top.sample.writing import Copy, pick_hashtags, pick_language, write_copy
from shoot2top.warehouse.features import extract

START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
OFFSETS_MIN = (10, 30, 60, 120, 240, 360, 720, 1440, 2880, 4320, 7200, 10080, 11520)
MISSED_OBSERVATION = 0.08
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)

ZONES = {  # each publisher's home, by its language and audience
    "1412993408151511040": "Europe/London",  # Pitchside Live
    "2896731459": "Asia/Tokyo",  # Kawa Daily
    "1598812736409665536": "Asia/Riyadh",  # Noor Kitchen
    "738219501": "America/New_York",  # GG Wire
    "UCq7xMvN2cJ8wL0pR5tYb3Kd": "Europe/London",  # Pitchside Highlights
    "UCh4Tz9LmQa2VwXe7RsKd1Pg": "Asia/Kolkata",  # Masala Lab
    "UC3bNfW8yHk0JpLx5QvZr7Cm": "America/Chicago",  # Storm Chasers Network
    "UCe9Gd2SvYu6KqHn1BtWx4Lo": "America/Los_Angeles",  # Neon Arcade
    "104829301746215": "America/New_York",  # Metro Evening News
    "231874650298113": "America/Mexico_City",  # Sabor de Casa
    "100064512387790": "Asia/Dubai",  # Arena Sports Arabia
    "178245901163524": "UTC",  # Backstage Beats
}
# Posting activity by local hour: few posts at night, most in the day and evening.
ACTIVITY = [0.25] * 6 + [0.8] * 3 + [1.5] * 14 + [0.8]
DAY_SETS = {
    "weekdays": (0, 1, 2, 3, 4),
    "weekend": (5, 6),
    "every day": (0, 1, 2, 3, 4, 5, 6),
}


@dataclass(frozen=True)
class Window:
    """Hours of the week (local time) where a publisher's posts reach `factor` ×."""

    days: tuple[int, ...]  # 0 = Monday
    start_hour: int
    hours: int
    factor: float

    def slots(self) -> frozenset[int]:
        return frozenset(
            (day * 24 + self.start_hour + offset) % 168
            for day in self.days
            for offset in range(self.hours)
        )


def platform_factor(local_hour: int) -> float:
    """The pattern every publisher shares: evenings a little better, nights worse."""
    if 18 <= local_hour < 22:
        return 1.25
    if local_hour < 5:
        return 0.8
    return 1.0


@dataclass(frozen=True)
class PublisherTruth:
    platform: str
    publisher_id: str
    name: str
    zone: str
    windows: tuple[Window, ...]
    term_lifts: dict[str, float]  # normalized hashtag -> reach factor

    @property
    def good_slots(self) -> frozenset[int]:
        return frozenset().union(*(w.slots() for w in self.windows if w.factor > 1))

    def factor(self, moment: datetime) -> float:
        local = moment.astimezone(ZoneInfo(self.zone))
        slot = local.weekday() * 24 + local.hour
        found = 1.0
        for window in self.windows:
            if slot in window.slots():
                found *= window.factor
        return found * platform_factor(local.hour)

    def term_factor(self, hashtags: tuple[str, ...]) -> float:
        tags = {tag.casefold() for tag in hashtags}
        return math.prod(lift for tag, lift in self.term_lifts.items() if tag in tags)


@dataclass(frozen=True)
class Story:
    """A story that trends in the test week, and how people write about it."""

    term: str  # what the trend detector keys: a normalized hashtag or keyword
    kind: str  # hashtag | keyword
    topic: str
    spelling: str  # hashtags: the usual capitalisation
    headlines: tuple[str, ...]  # English, with {a} {b} from the topic's names
    foreign: dict[str, str]  # language -> headline


STORIES = (
    Story(
        "derbyday", "hashtag", "football", "DerbyDay",
        ("Derby day at {a}: the build-up", "It's derby day! {a} vs {b} tonight",
         "{a} fans ready for derby day", "Derby-day nerves before {a} vs {b}",
         "The derbyday atmosphere outside the {a} ground"),
        {"ja": "{a}のダービーデー、決戦前夜", "ar": "يوم الديربي: {a} ضد {b}",
         "hi": "डर्बी डे: {a} बनाम {b}", "es": "Día de derbi: {a} contra {b}"},
    ),
    Story(
        "hailstorm", "keyword", "weather", "",
        ("Massive hailstorm hitting {a} right now", "Hail storm warning for {a} tonight",
         "Hailstorms expected over {a} and {b}", "Hail-storm damage across {a}",
         "Cars dented after the hailstorm in {a}"),
        {"ja": "{a}で激しい雹の嵐、車に被害", "ar": "عاصفة برد قوية في {a}",
         "hi": "{a} में ओलावृष्टि और तूफान", "es": "Granizada en {a}: tormenta de granizo"},
    ),
    Story(
        "airfryerhack", "hashtag", "cooking", "AirFryerHack",
        ("Air fryer hack: crispy {a} in ten minutes",
         "The air-fryer hack for {a} everyone is trying",
         "Airfryer hack: {a} without the mess", "{a} in the air fryer? This hack works",
         "One air fryer hack, perfect {a}"),
        {"ja": "エアフライヤーで{a}、簡単裏技", "ar": "حيلة القلاية الهوائية: {a} مقرمش",
         "hi": "एयर फ्रायर हैक: कुरकुरा {a}", "es": "Truco de freidora de aire: {a} crujiente"},
    ),
    Story(
        "encore", "keyword", "music", "",
        ("Surprise encore from {a} tonight", "{a} came back for a third encore",
         "The encore chant for {a} is deafening", "Encore! {a} returns to the stage",
         "{a} encores with {b}"),
        {"ja": "{a}のアンコール映像、三回目", "ar": "{a} يعود إلى المسرح: إنكور",
         "hi": "{a} का शानदार एनकोर", "es": "El bis de {a}: encore sorpresa"},
    ),
)  # fmt: skip
STORY_BY_TERM = {story.term: story for story in STORIES}
MATCHES_PER_PUBLISHER = 6
BURST_ITEMS = 24


@dataclass(frozen=True)
class TrendTruth:
    term: str
    kind: str
    topic: str
    onset: datetime
    end: datetime


@dataclass(frozen=True)
class Outcome:
    """What an item reached, exactly, by the growth model: views, or interactions for
    items whose platform gives no views (Facebook Page posts)."""

    metric: str  # views | engagement
    at_24h: float
    at_7d: float


@dataclass(frozen=True)
class _Growth(Engagement):
    """The sample's saturating curve, plus an optional second wave."""

    second_share: float = 0.0
    second_at_h: float = 0.0

    def exact(self, metric: str, hours: float) -> float:
        tau = self.tau_hours * METRIC_LAG.get(metric, 1.0)
        value = self.final_reach * self.rates[metric] * (1 - math.exp(-hours / tau))
        if self.second_share and hours > self.second_at_h:
            late = hours - self.second_at_h
            value += (
                self.second_share * self.final_reach * self.rates[metric]
                * (1 - math.exp(-late / (2 * tau)))
            )  # fmt: skip
        return value

    def at(self, metric: str, published: datetime, observed: datetime) -> int:
        return int(self.exact(metric, (observed - published).total_seconds() / 3600))


@dataclass
class World:
    """The generated world: its truth, and its items rendered on demand."""

    seed: int
    start: datetime
    weeks: int
    test_start: datetime  # the last week is the test week
    published_until: datetime
    observed_until: datetime
    publishers: dict[tuple[str, str], PublisherTruth]
    trends: list[TrendTruth]
    matches: dict[tuple[str, str, str], frozenset[str]]  # (term, platform, publisher) -> ids
    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list, repr=False)

    @property
    def observations(self) -> int:
        return sum(len(item.observations) for item in self.items)

    def batches(self, size: int = 5000) -> Iterator[list[dict[str, Any]]]:
        """Every observation as a streamable object, in observation order, in batches."""
        schedule = sorted(
            ((moment, index) for index, item in enumerate(self.items)
             for moment in item.observations),
        )  # fmt: skip
        for begin in range(0, len(schedule), size):
            yield [observe(self.items[i], moment) for moment, i in schedule[begin : begin + size]]


def generate(seed: int = 11, *, weeks: int = 4, posts_per_day: float = 10.0) -> World:
    """A world of `weeks` weeks of posts (the last one is the test week), observed until
    8 days after the last post. Deterministic for a seed."""
    if weeks < 2:
        raise ValueError(f"weeks must be at least 2 (training and test), got {weeks}")
    rng = seeded_random(seed, "recommend-eval")
    ids = IdMint(rng)
    test_start = START + (weeks - 1) * WEEK
    published_until = START + weeks * WEEK
    observed_until = published_until + timedelta(minutes=OFFSETS_MIN[-1]) + DAY
    truths = {
        (p.platform, p.id): _publisher_truth(rng, p) for ps in PUBLISHERS.values() for p in ps
    }
    world = World(seed, START, weeks, test_start, published_until, observed_until, truths, [], {})
    items: list[tuple[Item, Publisher]] = []
    for publisher in (p for ps in PUBLISHERS.values() for p in ps):
        truth = truths[(publisher.platform, publisher.id)]
        for published in _posting_times(rng, truth, posts_per_day, START, published_until):
            topic = rng.choice(publisher.topics)
            copy = write_copy(rng, publisher, topic, [])
            items.append((_make(rng, ids, publisher, truth, copy, topic, published), publisher))
    for story in STORIES:
        trend = _trend_window(rng, story, test_start, published_until)
        world.trends.append(trend)
        publishers = [p for ps in PUBLISHERS.values() for p in ps if story.topic in p.topics]
        for _ in range(BURST_ITEMS):
            publisher = rng.choice(publishers)
            published = trend.onset + (trend.end - trend.onset) * rng.random()
            copy = _story_copy(rng, story, publisher, with_term=True)
            truth = truths[(publisher.platform, publisher.id)]
            items.append((_make(rng, ids, publisher, truth, copy, story.topic, published, 2.0),
                          publisher))  # fmt: skip
        for publisher in publishers:
            truth = truths[(publisher.platform, publisher.id)]
            matched = []
            for variant in range(MATCHES_PER_PUBLISHER):
                published = START + (test_start - DAY - START) * rng.random()
                copy = _story_copy(rng, story, publisher, variant=variant)
                item = _make(rng, ids, publisher, truth, copy, story.topic, published, video=True)
                items.append((item, publisher))
                matched.append(item)
            world.matches[(story.term, publisher.platform, publisher.id)] = frozenset(
                _warehouse_key(item)[1] for item in matched
            )
    world.trends.sort(key=lambda trend: trend.onset)
    for item, _ in items:
        item.observations = [t for t in item.observations if t <= observed_until]
        world.outcomes[_warehouse_key(item)] = _outcome(item)
    world.items = [item for item, _ in items]
    return world


def _publisher_truth(rng: random.Random, publisher: Publisher) -> PublisherTruth:
    windows = []
    for factor in (rng.uniform(2.0, 3.0), rng.uniform(2.0, 3.0), 0.5):
        days = DAY_SETS.get(rng.choice(("weekdays", "weekend", "every day", "two days")))
        if days is None:
            days = tuple(sorted(rng.sample(range(7), 2)))
        windows.append(Window(days, rng.randrange(7, 22), rng.choice((2, 3)), round(factor, 2)))
    tags = sorted({tag.casefold() for topic in publisher.topics for tag in TOPICS[topic].hashtags})
    helps, helps2, hurts = rng.sample(tags, 3)
    return PublisherTruth(
        publisher.platform, publisher.id, publisher.name, ZONES[publisher.id], tuple(windows),
        {helps: 2.0, helps2: 2.0, hurts: 0.5},
    )  # fmt: skip


def _posting_times(
    rng: random.Random, truth: PublisherTruth, per_day: float, start: datetime, end: datetime
) -> Iterator[datetime]:
    zone = ZoneInfo(truth.zone)
    day = start
    while day < end:
        count = max(0, round(rng.gauss(per_day, math.sqrt(per_day))))
        local_day = day.astimezone(zone).replace(hour=0, minute=0, second=0)
        for _ in range(count):
            hour = rng.choices(range(24), weights=ACTIVITY)[0]
            local = local_day + timedelta(hours=hour, seconds=rng.randrange(3600))
            moment = local.astimezone(UTC)
            if start <= moment < end:
                yield moment
        day += DAY


def _trend_window(
    rng: random.Random, story: Story, test_start: datetime, end: datetime
) -> TrendTruth:
    onset = test_start + timedelta(minutes=rng.randrange(12 * 60, 5 * 24 * 60, 5))
    length = timedelta(minutes=rng.randrange(180, 361, 15))
    return TrendTruth(story.term, story.kind, story.topic, onset, min(onset + length, end))


def _story_copy(
    rng: random.Random,
    story: Story,
    publisher: Publisher,
    *,
    with_term: bool = False,
    variant: int | None = None,
) -> Copy:
    """Words about a story: a burst post (`with_term`: it carries the trending term) or
    back-catalog variant `variant` (0: the exact hashtag; last: the publisher's language
    where it has one; others: the English ways of writing it)."""
    topic = TOPICS[story.topic]
    a, b = rng.sample(topic.names, 2)
    language = pick_language(rng, publisher)
    foreign = publisher.language != "en" and (
        variant == MATCHES_PER_PUBLISHER - 1 or (variant is None and language != "en")
    )
    if foreign:
        language = publisher.language
        headline = story.foreign[language].format(a=a, b=b)
    else:
        language = "en"
        index = rng.randrange(len(story.headlines)) if variant is None else variant
        headline = story.headlines[index % len(story.headlines)].format(a=a, b=b)
    hashtags = pick_hashtags(rng, topic, language)
    if story.kind == "hashtag" and (with_term or variant == 0):
        hashtags.append(story.spelling)
    if story.kind == "keyword" and with_term and story.term not in headline.casefold():
        headline = f"{headline} ({story.term})"
    return Copy(language, headline, None, None, tuple(hashtags), (a, b))


def _make(
    rng: random.Random,
    ids: IdMint,
    publisher: Publisher,
    truth: PublisherTruth,
    copy: Copy,
    topic: str,
    published: datetime,
    boost: float = 1.0,
    *,
    video: bool = False,
) -> Item:
    """An item with the planted effects on its reach; `video`: drawn until it is one."""
    build = STATIC_BUILDERS[publisher.platform]
    static = build(rng, ids, publisher, copy, topic, published)
    while video and not _is_video(publisher.platform, static):
        static = build(rng, ids, publisher, copy, topic, published)
    effect = boost * truth.factor(published) * truth.term_factor(copy.hashtags)
    base = draw_engagement(rng, publisher, effect)
    second = rng.uniform(0.3, 1.5) if rng.random() < 0.25 else 0.0
    growth = _Growth(base.final_reach, base.tau_hours, base.rates, second, rng.uniform(6, 120))
    return Item(publisher.platform, topic, published, growth, static, _observations(rng, published))


def _is_video(platform: str, static: dict[str, Any]) -> bool:
    if platform == "x":
        return any(m.get("type") == "video" for m in static["includes"].get("media", ()))
    if platform == "facebook":
        attachments = static.get("attachments", {}).get("data", [])
        return "length" in static or any(a.get("media_type") == "video" for a in attachments)
    return True


def _observations(rng: random.Random, published: datetime) -> list[datetime]:
    times = []
    for index, minutes in enumerate(OFFSETS_MIN):
        if index > 0 and rng.random() < MISSED_OBSERVATION:
            continue
        jitter = minutes * 60 * rng.uniform(-0.03, 0.08) + rng.randrange(60)
        times.append(published + timedelta(minutes=minutes, seconds=int(jitter)))
    return times


def _warehouse_key(item: Item) -> tuple[str, str]:
    """The item's (platform, id) as the warehouse keys it (a Facebook post of the Page's
    own video is the video)."""
    features = extract(observe(item, item.published + timedelta(minutes=10)))
    return (features.platform, features.item_id)


def _outcome(item: Item) -> Outcome:
    growth = item.engagement
    assert isinstance(growth, _Growth)
    static = item.static
    if item.platform == "x":
        video = _is_video("x", static)
        counters: tuple[str, ...] = ("view_count",) if video else ("impression_count",)
        metric = "views"
    elif item.platform == "youtube":
        counters, metric = ("viewCount",), "views"
    elif "length" in static:
        counters, metric = ("views",), "views"
    else:
        counters, metric = ("reactions", "comments", "shares"), "engagement"
    return Outcome(
        metric,
        sum(growth.exact(counter, 24.0) for counter in counters),
        sum(growth.exact(counter, 168.0) for counter in counters),
    )
