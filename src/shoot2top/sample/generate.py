"""Deterministic sample stream of social-video items for X, YouTube and Facebook.

`generate_items` returns streamable objects in the platforms' real API wire shapes:

* ``{"tweet": ...}`` — an X API v2 filtered-stream message (``data`` + ``includes`` +
  ``matching_rules``) for one tweet;
* ``{"video": ...}`` — a YouTube Data API v3 ``videos.list`` item (parts ``snippet``,
  ``statistics``, ``contentDetails``; statistics are strings, as the API returns them);
* ``{"post": ...}`` — a Facebook Graph API Page post (``<page_id>_<post_id>``) or Page
  video (with lifetime ``video_insights``).

Each object also carries ``_observed_at`` (UTC, second precision, ending in ``Z``),
``_source`` (``"sample"``) and ``_topic`` (the topic whose rule matched).

Every published item is observed repeatedly — at about +10m, +30m, +1h, +2h, +4h, +6h,
+12h, +24h, +48h and +72h after publication, while inside the three-day span — with the
same id and created time and non-decreasing metrics that follow a saturating curve
``reach * (1 - exp(-t / tau))``. Final reach is heavy-tailed and scaled per publisher.

A few hashtags and keywords burst inside short windows (see `planted_trends`), far above
their background rate, so trend detection has something known to find.

Everything is drawn from `random.Random` instances seeded from ``seed`` (through
SHA-256, never ``hash()``), so the same arguments give byte-identical JSON.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shoot2top.posts import PLATFORM_OF_TYPE, TWITTER_EPOCH_MS, stamp

__all__ = [
    "DEFAULT_START",
    "OBSERVATION_OFFSETS",
    "PLATFORMS",
    "PUBLISHERS",
    "SOURCE",
    "SPAN",
    "TOPICS",
    "TYPE_OF_PLATFORM",
    "PlantedTrend",
    "Publisher",
    "generate_items",
    "planted_trends",
]

DEFAULT_START = datetime(2026, 11, 20, tzinfo=UTC)
SPAN = timedelta(days=3)
SOURCE = "sample"
PLATFORMS = ("x", "youtube", "facebook")
TYPE_OF_PLATFORM = {platform: kind for kind, platform in PLATFORM_OF_TYPE.items()}
PLATFORM_SHARE = {"x": 0.45, "youtube": 0.30, "facebook": 0.25}
OBSERVATION_OFFSETS: tuple[timedelta, ...] = tuple(
    timedelta(minutes=minutes) for minutes in (10, 30, 60, 120, 240, 360, 720, 1440, 2880, 4320)
)

_MISSED_OBSERVATION_CHANCE = 0.08
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE64URL = _BASE62 + "-_"
_YOUTUBE_ID_LAST = "AEIMQUYcgkosw048"


# --------------------------------------------------------------------------- publishers


@dataclass(frozen=True)
class Publisher:
    """An account that publishes items: an X user, a YouTube channel or a Facebook Page."""

    platform: str  # "x", "youtube" or "facebook"
    id: str  # X user id, YouTube channel id (UC...), Facebook Page id
    name: str  # display name / channel title / Page name
    handle: str  # X username, YouTube @handle, Facebook Page vanity name
    followers: int  # followers / subscribers / Page followers
    language: str  # main language of its items
    topics: tuple[str, ...]  # topics it publishes about
    typical_reach: int  # lifetime views (impressions on X) of an ordinary item


PUBLISHERS: dict[str, tuple[Publisher, ...]] = {
    "x": (
        Publisher(
            "x", "1412993408151511040", "Pitchside Live", "PitchsideLive",
            1_250_000, "en", ("football", "music"), 60_000,
        ),
        Publisher(
            "x", "2896731459", "Kawa Daily ニュース", "kawa_daily",
            310_000, "ja", ("election", "weather", "gaming"), 18_000,
        ),
        Publisher(
            "x", "1598812736409665536", "Noor Kitchen | مطبخ نور", "noorkitchen",
            84_000, "ar", ("cooking", "weather"), 6_000,
        ),
        Publisher(
            "x", "738219501", "GG Wire", "ggwire",
            2_100_000, "en", ("gaming", "music", "election"), 120_000,
        ),
    ),
    "youtube": (
        Publisher(
            "youtube", "UCq7xMvN2cJ8wL0pR5tYb3Kd", "Pitchside Highlights", "@pitchsidehighlights",
            4_800_000, "en", ("football",), 250_000,
        ),
        Publisher(
            "youtube", "UCh4Tz9LmQa2VwXe7RsKd1Pg", "Masala Lab", "@masalalab",
            1_900_000, "hi", ("cooking",), 90_000,
        ),
        Publisher(
            "youtube", "UC3bNfW8yHk0JpLx5QvZr7Cm", "Storm Chasers Network", "@stormchasersnet",
            640_000, "en", ("weather", "election"), 40_000,
        ),
        Publisher(
            "youtube", "UCe9Gd2SvYu6KqHn1BtWx4Lo", "Neon Arcade", "@neonarcade",
            3_300_000, "en", ("gaming", "music"), 150_000,
        ),
    ),
    "facebook": (
        Publisher(
            "facebook", "104829301746215", "Metro Evening News", "MetroEveningNews",
            2_700_000, "en", ("election", "weather"), 80_000,
        ),
        Publisher(
            "facebook", "231874650298113", "Sabor de Casa", "SabordeCasa",
            950_000, "es", ("cooking",), 35_000,
        ),
        Publisher(
            "facebook", "100064512387790", "Arena Sports Arabia", "ArenaSportsArabia",
            5_600_000, "ar", ("football",), 150_000,
        ),
        Publisher(
            "facebook", "178245901163524", "Backstage Beats", "BackstageBeats",
            420_000, "en", ("music", "gaming"), 15_000,
        ),
    ),
}  # fmt: skip


# --------------------------------------------------------------------------- topics


@dataclass(frozen=True)
class _Topic:
    names: tuple[str, ...]  # fill {a} and {b} in headlines
    headlines: tuple[str, ...]  # English
    foreign: dict[str, str]  # language -> headline
    foreign_hashtag: dict[str, str]  # language -> hashtag
    hashtags: tuple[str, ...]
    emoji: tuple[str, ...]
    youtube_category: str


TOPICS: dict[str, _Topic] = {
    "football": _Topic(
        names=("Arsenal", "Real Madrid", "Flamengo", "Al Hilal", "Bayern", "Kashima Antlers"),
        headlines=(
            "Full highlights: {a} vs {b}",
            "Late winner sends {a} top of the table",
            "{a} fans were loud tonight against {b}",
            "Is this the goal of the season? {a} vs {b}",
            "Post-match reaction from the {a} dressing room",
            "Tactical breakdown: how {a} pressed {b}",
        ),
        foreign={
            "ja": "{a}対{b}のハイライト、劇的な決勝ゴール！",
            "ar": "ملخص مباراة {a} ضد {b} وهدف رائع",
            "hi": "{a} बनाम {b} मैच की झलकियाँ",
            "es": "¡Golazo de {a} contra {b}!",
        },
        foreign_hashtag={"ja": "サッカー", "ar": "كرة_القدم", "hi": "फुटबॉल", "es": "Fútbol"},
        hashtags=("Football", "MatchDay", "Goal", "Highlights", "UCL"),
        emoji=("⚽", "🔥", "🏆", "👏"),
        youtube_category="17",
    ),
    "election": _Topic(
        names=("Ohio", "Bavaria", "Kerala", "Osaka", "São Paulo", "Ontario"),
        headlines=(
            "Live results: early count from {a}",
            "Turnout in {a} already above {b}",
            "Polls close in two hours in {a}",
            "What the {a} result means for {b}",
            "Fact check: claims from last night's debate in {a}",
            "Queues outside polling stations in {a} this morning",
        ),
        foreign={
            "ja": "{a}の開票速報をお伝えします",
            "ar": "نتائج الانتخابات في {a} لحظة بلحظة",
            "hi": "{a} में मतदान जारी है",
            "es": "Resultados en vivo desde {a}",
        },
        foreign_hashtag={"ja": "選挙", "ar": "الانتخابات", "hi": "चुनाव", "es": "Elecciones"},
        hashtags=("Election2026", "Vote", "Results", "Democracy", "Debate"),
        emoji=("🗳️", "📊", "📰", "✅"),
        youtube_category="25",
    ),
    "cooking": _Topic(
        names=("ramen", "shakshuka", "biryani", "tacos", "sourdough", "dumplings", "paella"),
        headlines=(
            "15-minute {a} that actually works",
            "My grandmother's {a} recipe",
            "Trying the viral {a} so you don't have to",
            "{a} vs {b}: which one wins?",
            "One-pan {a} for busy weeknights",
            "Street food tour: the best {a} in town",
        ),
        foreign={
            "ja": "簡単{a}レシピ、10分でできる",
            "ar": "وصفة {a} سهلة وسريعة",
            "hi": "घर पर बनाएं स्वादिष्ट {a}",
            "es": "Receta fácil de {a} para hoy",
        },
        foreign_hashtag={"ja": "料理", "ar": "طبخ", "hi": "खाना", "es": "Receta"},
        hashtags=("Recipe", "Foodie", "HomeCooking", "EasyRecipes", "StreetFood"),
        emoji=("🍜", "😋", "🔥", "👩‍🍳"),
        youtube_category="26",
    ),
    "music": _Topic(
        names=("Nova Kim", "The Lanterns", "DJ Sora", "Amara Lee", "Los Faros", "Kaito"),
        headlines=(
            "Live at the arena with {a}: full set",
            "First listen: the new {a} single",
            "Behind the scenes with {a} on tour",
            "{a} covers {b} and it's perfect",
            "Crowd singing every word with {a}",
            "Studio session: how {a} built that beat",
        ),
        foreign={
            "ja": "{a}のライブ映像を公開",
            "ar": "أغنية جديدة من {a}",
            "hi": "{a} का नया गाना सुनिए",
            "es": "{a} en vivo esta noche",
        },
        foreign_hashtag={"ja": "音楽", "ar": "موسيقى", "hi": "संगीत", "es": "Música"},
        hashtags=("NewMusic", "LiveMusic", "Concert", "NowPlaying", "Tour"),
        emoji=("🎶", "🎤", "🎧", "❤️"),
        youtube_category="10",
    ),
    "gaming": _Topic(
        names=("Starfall", "Neon Drift", "Castle Ruin", "Orbit Wars", "Tiny Kingdoms"),
        headlines=(
            "Speedrun world record attempt in {a}",
            "{a} update explained in five minutes",
            "Clutch 1v4 in {a} ranked",
            "Is {a} worth it this year?",
            "{a} vs {b}: graphics comparison",
            "Final boss of {a}, no damage",
        ),
        foreign={
            "ja": "{a}の世界記録に挑戦！",
            "ar": "أفضل لحظات {a}",
            "hi": "{a} का नया अपडेट",
            "es": "Nuevo récord en {a}",
        },
        foreign_hashtag={"ja": "ゲーム", "ar": "ألعاب", "hi": "गेमिंग", "es": "Videojuegos"},
        hashtags=("Gaming", "Esports", "Speedrun", "GamingClips", "Twitch"),
        emoji=("🎮", "🕹️", "🏆", "😤"),
        youtube_category="20",
    ),
    "weather": _Topic(
        names=("Lisbon", "Manila", "Chicago", "Mumbai", "Osaka", "Cairo"),
        headlines=(
            "Storm update for {a}: heavy rain through tonight",
            "Timelapse of the fog rolling into {a}",
            "Snow arriving in {a} earlier than forecast",
            "Flood warning issued for {a}",
            "Sunset over {a} after the rain",
            "Week ahead forecast for {a} and {b}",
        ),
        foreign={
            "ja": "{a}で大雨警報が発表されました",
            "ar": "تحذير من أمطار غزيرة في {a}",
            "hi": "{a} में भारी बारिश की चेतावनी",
            "es": "Alerta de tormenta en {a}",
        },
        foreign_hashtag={"ja": "天気", "ar": "طقس", "hi": "मौसम", "es": "Clima"},
        hashtags=("Weather", "Storm", "Forecast", "WeatherUpdate", "Climate"),
        emoji=("🌧️", "⛈️", "🌪️", "☀️"),
        youtube_category="25",
    ),
}

_EXTRA_LINES = (
    "Watch till the end.",
    "Thoughts?",
    "Full video below.",
    "Share with someone who needs this.",
    "Which part was your favourite?",
    "More tomorrow.",
)


# --------------------------------------------------------------------------- trends


@dataclass(frozen=True)
class PlantedTrend:
    """A micro-trend burst planted by `generate_items`.

    Items *published* (created) inside ``[start, end)`` on ``platforms`` carry the term
    far more often than the rest of the stream; outside the window it is absent or rare.
    Their observations keep arriving for days after the window, so count distinct item
    ids by created time (or first sighting), not raw observations by ``_observed_at``.
    """

    term: str  # hashtag (without '#') or keyword, lowercase
    kind: str  # "hashtag" or "keyword"
    start: datetime  # burst window start (UTC)
    end: datetime  # burst window end (exclusive)
    platforms: tuple[str, ...]


@dataclass(frozen=True)
class _TrendCandidate:
    term: str
    kind: str
    topic: str
    spelling: str  # hashtags: the usual capitalisation
    lines: tuple[str, ...] = ()  # keywords: English headlines containing the keyword


_TREND_CANDIDATES = (
    _TrendCandidate("derbyday", "hashtag", "football", "DerbyDay"),
    _TrendCandidate("recountnow", "hashtag", "election", "RecountNow"),
    _TrendCandidate("airfryerhack", "hashtag", "cooking", "AirFryerHack"),
    _TrendCandidate("midnightdrop", "hashtag", "music", "MidnightDrop"),
    _TrendCandidate(
        "hailstorm",
        "keyword",
        "weather",
        "",
        (
            "Massive hailstorm hitting {a} right now",
            "Hailstorm footage from {a}, stay indoors",
            "Cars dented after the hailstorm in {a}",
        ),
    ),
    _TrendCandidate(
        "blackout",
        "keyword",
        "football",
        "",
        (
            "Stadium blackout stops the {a} game",
            "Floodlight blackout at the {a} ground, players waiting",
            "Blackout in the stadium, phones lighting up the stands at {a}",
        ),
    ),
    _TrendCandidate(
        "encore",
        "keyword",
        "music",
        "",
        (
            "Surprise encore from {a} tonight",
            "{a} came back for a third encore",
            "The encore chant for {a} is deafening",
        ),
    ),
)
_CANDIDATE_BY_TERM = {candidate.term: candidate for candidate in _TREND_CANDIDATES}

_TREND_WINDOW_EARLIEST = timedelta(hours=6)
_TREND_WINDOW_LATEST = timedelta(hours=60)
_TREND_WINDOW_GAP = timedelta(hours=3)
_BURST_ITEMS_PER_OBSERVATION = 0.008  # burst size per trend, relative to `items`
_IN_WINDOW_ADOPTION = 0.5  # background items inside a window that pick up the term
_EARLY_ADOPTION = (timedelta(hours=12), 0.015)  # (lookback, chance) before the window
_LATE_ADOPTION = (timedelta(hours=6), 0.02)  # (tail, chance) after the window


def planted_trends(seed: int = 7, start: datetime = DEFAULT_START) -> list[PlantedTrend]:
    """The micro-trend bursts `generate_items` plants for the same seed and start.

    Two to four trends (at least one hashtag and one keyword), each in its own window of
    one to three hours, sorted by window start. Independent of ``items``.
    """
    start = _normalize_start(start)
    rng = _rng(seed, "trends")
    hashtags = [c for c in _TREND_CANDIDATES if c.kind == "hashtag"]
    keywords = [c for c in _TREND_CANDIDATES if c.kind == "keyword"]
    chosen = [rng.choice(hashtags), rng.choice(keywords)]
    others = [c for c in _TREND_CANDIDATES if c not in chosen]
    chosen += rng.sample(others, rng.randint(0, 2))
    trends: list[PlantedTrend] = []
    for candidate in chosen:
        window_start, window_end = _pick_window(rng, start, trends)
        chosen_platforms = rng.sample(PLATFORMS, rng.choice((2, 3)))
        platforms = tuple(p for p in PLATFORMS if p in chosen_platforms)
        trends.append(
            PlantedTrend(candidate.term, candidate.kind, window_start, window_end, platforms)
        )
    return sorted(trends, key=lambda trend: trend.start)


def _pick_window(
    rng: random.Random, start: datetime, taken: list[PlantedTrend]
) -> tuple[datetime, datetime]:
    earliest = int(_TREND_WINDOW_EARLIEST.total_seconds() // 60)
    latest = int(_TREND_WINDOW_LATEST.total_seconds() // 60)
    while True:
        window_start = start + timedelta(minutes=rng.randrange(earliest, latest, 5))
        window_end = window_start + timedelta(minutes=rng.randrange(60, 181, 15))
        if all(
            window_end + _TREND_WINDOW_GAP <= trend.start
            or trend.end + _TREND_WINDOW_GAP <= window_start
            for trend in taken
        ):
            return window_start, window_end


def _adopted_trends(
    rng: random.Random, platform: str, published: datetime, trends: list[PlantedTrend]
) -> list[PlantedTrend]:
    """The trends a background item picks up: often inside a window, rarely near it."""
    adopted = []
    for trend in trends:
        if platform not in trend.platforms:
            continue
        if trend.start <= published < trend.end:
            chance = _IN_WINDOW_ADOPTION
        elif trend.start - _EARLY_ADOPTION[0] <= published < trend.start:
            chance = _EARLY_ADOPTION[1]
        elif trend.end <= published < trend.end + _LATE_ADOPTION[0]:
            chance = _LATE_ADOPTION[1]
        else:
            continue
        if rng.random() < chance:
            adopted.append(trend)
    return adopted


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class _Copy:
    """The words of one item, before a platform lays them out."""

    language: str
    headline: str
    extra: str | None
    emoji: str | None
    hashtags: tuple[str, ...]  # without '#'
    names: tuple[str, str]


@dataclass(frozen=True)
class _Engagement:
    """Lifetime reach, how fast it arrives, and each metric as a fraction of reach."""

    final_reach: float
    tau_hours: float
    rates: dict[str, float]

    def at(self, metric: str, published: datetime, observed: datetime) -> int:
        hours = (observed - published).total_seconds() / 3600
        tau = self.tau_hours * _METRIC_LAG.get(metric, 1.0)
        return int(self.final_reach * self.rates[metric] * (1 - math.exp(-hours / tau)))


@dataclass
class _Item:
    """One published item: static payload parts, engagement model and observation times."""

    platform: str
    topic: str
    published: datetime
    engagement: _Engagement
    static: dict[str, Any]
    observations: list[datetime]


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
    start = _normalize_start(start)
    end = start + SPAN
    rng = _rng(seed, "items")
    ids = _IdMint(rng)
    trends = planted_trends(seed, start)
    published: list[_Item] = []
    observation_counts = dict.fromkeys(PLATFORMS, 0)
    for trend in trends:
        for _ in range(max(1, round(items * _BURST_ITEMS_PER_OBSERVATION))):
            published.append(_burst_item(rng, ids, trend, end))
            observation_counts[published[-1].platform] += len(published[-1].observations)
    while sum(observation_counts.values()) < items:
        platform = _most_behind_platform(observation_counts)
        published.append(_background_item(rng, ids, platform, trends, start, end))
        observation_counts[platform] += len(published[-1].observations)
    _drop_excess_observations(rng, published, sum(observation_counts.values()) - items)
    schedule = sorted(
        ((moment, item) for item in published for moment in item.observations),
        key=lambda pair: (pair[0], pair[1].platform, pair[1].published),
    )
    for moment, item in schedule:
        yield _observe(item, moment)


def _burst_item(rng: random.Random, ids: _IdMint, trend: PlantedTrend, end: datetime) -> _Item:
    platform = _pick_platform(rng, trend.platforms)
    window_seconds = int((trend.end - trend.start).total_seconds())
    published = trend.start + timedelta(seconds=rng.randrange(window_seconds))
    topic = _CANDIDATE_BY_TERM[trend.term].topic
    return _new_item(rng, ids, platform, topic, published, [trend], end, boost=2.0)


def _background_item(
    rng: random.Random,
    ids: _IdMint,
    platform: str,
    trends: list[PlantedTrend],
    start: datetime,
    end: datetime,
) -> _Item:
    latest = int((SPAN - OBSERVATION_OFFSETS[0]).total_seconds())
    published = start + timedelta(seconds=rng.randrange(latest))
    adopted = _adopted_trends(rng, platform, published, trends)
    return _new_item(rng, ids, platform, None, published, adopted, end, boost=1.0)


def _most_behind_platform(observed: dict[str, int]) -> str:
    """The platform furthest below its share of observations so far (keeps the mix exact)."""
    total = sum(observed.values()) + 1
    return max(PLATFORMS, key=lambda p: PLATFORM_SHARE[p] * total - observed[p])


def _pick_platform(rng: random.Random, platforms: tuple[str, ...]) -> str:
    return rng.choices(platforms, weights=[PLATFORM_SHARE[p] for p in platforms])[0]


def _new_item(
    rng: random.Random,
    ids: _IdMint,
    platform: str,
    topic: str | None,
    published: datetime,
    trends: list[PlantedTrend],
    end: datetime,
    boost: float,
) -> _Item:
    publisher = rng.choice(PUBLISHERS[platform])
    keyword = next((t for t in trends if t.kind == "keyword"), None)
    if topic is None and keyword is not None:
        topic = _CANDIDATE_BY_TERM[keyword.term].topic  # the keyword is what the item is about
    topic = topic or rng.choice(publisher.topics)
    copy = _write_copy(rng, publisher, topic, trends)
    builders = {"x": _tweet_static, "youtube": _video_static, "facebook": _post_static}
    static = builders[platform](rng, ids, publisher, copy, topic, published)
    return _Item(
        platform=platform,
        topic=topic,
        published=published,
        engagement=_draw_engagement(rng, publisher, boost),
        static=static,
        observations=_observation_times(rng, published, end),
    )


def _observation_times(rng: random.Random, published: datetime, end: datetime) -> list[datetime]:
    """Polls at the standard offsets (slightly late or early), a few missed, none past end."""
    times = []
    for index, offset in enumerate(OBSERVATION_OFFSETS):
        if index > 0 and rng.random() < _MISSED_OBSERVATION_CHANCE:
            continue
        jitter = offset.total_seconds() * rng.uniform(-0.03, 0.08) + rng.randrange(60)
        observed = published + offset + timedelta(seconds=int(jitter))
        if observed <= end:
            times.append(observed)
    return times


def _drop_excess_observations(rng: random.Random, published: list[_Item], excess: int) -> None:
    """Forget ``excess`` random observations so the total is exact.

    First sightings are kept unless there are too few later ones (tiny ``items``).
    """
    if excess <= 0:
        return
    later = [(i, j) for i, item in enumerate(published) for j in range(1, len(item.observations))]
    dropped = set(rng.sample(later, min(excess, len(later))))
    if excess > len(later):
        firsts = [(i, 0) for i, item in enumerate(published) if item.observations]
        dropped |= set(rng.sample(firsts, excess - len(later)))
    for i, item in enumerate(published):
        item.observations = [t for j, t in enumerate(item.observations) if (i, j) not in dropped]


def _observe(item: _Item, observed: datetime) -> dict[str, Any]:
    renderers = {"x": _render_tweet, "youtube": _render_video, "facebook": _render_post}
    payload = renderers[item.platform](item, observed)
    return stamp(
        TYPE_OF_PLATFORM[item.platform],
        payload,
        observed_at=observed,
        source=SOURCE,
        topic=item.topic,
    )


# --------------------------------------------------------------------------- copy


def _write_copy(
    rng: random.Random, publisher: Publisher, topic_name: str, trends: list[PlantedTrend]
) -> _Copy:
    topic = TOPICS[topic_name]
    language = _pick_language(rng, publisher)
    a, b = rng.sample(topic.names, 2)
    keyword = next((t for t in trends if t.kind == "keyword"), None)
    if keyword is not None:
        language = "en"
        candidate = _CANDIDATE_BY_TERM[keyword.term]
        a, b = rng.sample(TOPICS[candidate.topic].names, 2)
        headline = rng.choice(candidate.lines).format(a=a)
    elif language == "en":
        headline = rng.choice(topic.headlines).format(a=a, b=b)
    else:
        headline = topic.foreign[language].format(a=a, b=b)
    extra = rng.choice(_EXTRA_LINES) if language == "en" and rng.random() < 0.3 else None
    emoji = rng.choice(topic.emoji) if rng.random() < 0.45 else None
    hashtags = _pick_hashtags(rng, topic, language)
    for trend in trends:
        if trend.kind == "hashtag" and trend.term not in {h.lower() for h in hashtags}:
            spelling = _CANDIDATE_BY_TERM[trend.term].spelling
            hashtags.append(spelling if rng.random() < 0.7 else trend.term)
    return _Copy(language, headline, extra, emoji, tuple(hashtags), (a, b))


def _pick_language(rng: random.Random, publisher: Publisher) -> str:
    if publisher.language == "en":
        return rng.choice(("ja", "ar", "hi", "es")) if rng.random() < 0.08 else "en"
    return publisher.language if rng.random() < 0.6 else "en"


def _pick_hashtags(rng: random.Random, topic: _Topic, language: str) -> list[str]:
    if rng.random() < 0.25:
        return []
    hashtags = rng.sample(topic.hashtags, rng.choices((1, 2, 3), weights=(45, 35, 20))[0])
    if language != "en" and rng.random() < 0.7:
        hashtags.insert(0, topic.foreign_hashtag[language])
    return hashtags


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


# --------------------------------------------------------------------------- engagement

_TAU_HOURS = {"x": 1.5, "youtube": 6.0, "facebook": 3.0}
_METRIC_RATES = {
    "x": {
        "impression_count": 1.0,
        "view_count": 0.38,
        "like_count": 0.018,
        "retweet_count": 0.0025,
        "reply_count": 0.0012,
        "quote_count": 0.0004,
        "bookmark_count": 0.0015,
    },
    "youtube": {"viewCount": 1.0, "likeCount": 0.035, "commentCount": 0.0025},
    "facebook": {"views": 1.0, "reactions": 0.03, "comments": 0.004, "shares": 0.0025},
}
_METRIC_LAG = {  # engagement that trails the views: a longer time constant
    "like_count": 1.1,
    "likeCount": 1.1,
    "reactions": 1.1,
    "retweet_count": 1.2,
    "shares": 1.2,
    "reply_count": 1.35,
    "comments": 1.35,
    "commentCount": 1.35,
    "quote_count": 1.35,
    "bookmark_count": 1.5,
}
_MAX_VIRALITY = 400.0


def _draw_engagement(rng: random.Random, publisher: Publisher, boost: float) -> _Engagement:
    """Heavy-tailed final reach (Pareto) scaled by the publisher; per-item rates."""
    virality = min(rng.paretovariate(1.3), _MAX_VIRALITY)
    tau = rng.lognormvariate(math.log(_TAU_HOURS[publisher.platform]), 0.45)
    rates = {
        metric: rate * (1.0 if rate == 1.0 else rng.lognormvariate(0.0, 0.4))
        for metric, rate in _METRIC_RATES[publisher.platform].items()
    }
    return _Engagement(publisher.typical_reach * 0.5 * virality * boost, tau, rates)


# --------------------------------------------------------------------------- X


def _tweet_static(
    rng: random.Random,
    ids: _IdMint,
    publisher: Publisher,
    copy: _Copy,
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
        code = _token(rng, 10, _BASE62)
        kind = "video" if media_type == "video" else "photo"
        text.add(" ")
        text.url(
            f"https://t.co/{code}",
            expanded_url=f"https://x.com/{publisher.handle}/status/{tweet_id}/{kind}/1",
            display_url=f"pic.x.com/{code}",
            media_key=media["media_key"],
        )
    elif rng.random() < 0.4:
        video_id = _youtube_id(rng)
        text.add(" ")
        text.url(
            f"https://t.co/{_token(rng, 10, _BASE62)}",
            expanded_url=f"https://www.youtube.com/watch?v={video_id}",
            display_url=f"youtube.com/watch?v={video_id[:3]}…",
        )
    data: dict[str, Any] = {
        "id": tweet_id,
        "text": text.text,
        "created_at": _iso_ms_z(published_ms),
        "author_id": publisher.id,
        "lang": copy.language,
        "conversation_id": tweet_id,
        "possibly_sensitive": False,
        "edit_history_tweet_ids": [tweet_id],
    }
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


def _x_media(
    rng: random.Random, ids: _IdMint, media_type: str, published_ms: int
) -> dict[str, Any]:
    media_id = ids.snowflake(published_ms - rng.randrange(5_000, 120_000))
    width, height = rng.choice(((1920, 1080), (1280, 720), (1080, 1920), (720, 1280)))
    if media_type == "photo":
        return {
            "media_key": f"3_{media_id}",
            "type": "photo",
            "url": f"https://pbs.twimg.com/media/{_token(rng, 15, _BASE64URL)}.jpg",
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
            f"{_token(rng, 16, _BASE64URL)}.jpg"
        ),
        "public_metrics": {"view_count": 0},
        "variants": [
            {
                "bit_rate": 2176000,
                "content_type": "video/mp4",
                "url": (
                    f"https://video.twimg.com/ext_tw_video/{media_id}/pu/vid/avc1/"
                    f"{width}x{height}/{_token(rng, 16, _BASE64URL)}.mp4"
                ),
            }
        ],
    }


def _x_user(publisher: Publisher) -> dict[str, Any]:
    """The author object; its details derive from the publisher id, not the seed."""
    stable = _rng(0, "x-user:" + publisher.id)
    created = datetime(2009, 1, 1, tzinfo=UTC) + timedelta(seconds=stable.randrange(400_000_000))
    return {
        "id": publisher.id,
        "name": publisher.name,
        "username": publisher.handle,
        "created_at": _iso_ms_z(int(created.timestamp() * 1000)),
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


def _render_tweet(item: _Item, observed: datetime) -> dict[str, Any]:
    payload = _clone(item.static)
    engagement, published = item.engagement, item.published
    names = ("retweet_count", "reply_count", "like_count", "quote_count", "bookmark_count")
    metrics = {name: engagement.at(name, published, observed) for name in names}
    metrics["impression_count"] = engagement.at("impression_count", published, observed)
    payload["data"]["public_metrics"] = metrics
    for media in payload["includes"].get("media", ()):
        if media["type"] == "video":
            media["public_metrics"]["view_count"] = engagement.at("view_count", published, observed)
    return payload


# --------------------------------------------------------------------------- YouTube


def _video_static(
    rng: random.Random,
    ids: _IdMint,
    publisher: Publisher,
    copy: _Copy,
    topic: str,
    published: datetime,
) -> dict[str, Any]:
    video_id = ids.unique(lambda: _youtube_id(rng))
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
        "publishedAt": _iso_z(published),
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
        "duration": _iso_duration(seconds),
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


def _render_video(item: _Item, observed: datetime) -> dict[str, Any]:
    payload = _clone(item.static)
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


# --------------------------------------------------------------------------- Facebook

_PAGE_VIDEO_SHARE = 0.4
_TOTAL_VIDEO_VIEWS_DESCRIPTION = (
    "Lifetime: Total number of times your video was viewed for 3 seconds or more. (Total Count)"
)


def _post_static(
    rng: random.Random,
    ids: _IdMint,
    publisher: Publisher,
    copy: _Copy,
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
            "created_time": _fb_time(published),
            "updated_time": _fb_time(updated),
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
        "created_time": _fb_time(published),
        "message": message,
        "permalink_url": f"https://www.facebook.com/{publisher.id}/posts/{post_id}",
        "from": page,
        "attachments": {"data": [attachment]},
    }


def _render_post(item: _Item, observed: datetime) -> dict[str, Any]:
    static = _clone(item.static)
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


# --------------------------------------------------------------------------- helpers


class _IdMint:
    """Draws platform ids from the item stream's generator, never repeating one."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def unique(self, draw: Callable[[], str]) -> str:
        while True:
            candidate = draw()
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate

    def snowflake(self, unix_ms: int) -> str:
        """An X snowflake id: milliseconds since the X epoch, then 22 random bits."""
        prefix = (unix_ms - TWITTER_EPOCH_MS) << 22
        return self.unique(lambda: str(prefix | self._rng.getrandbits(22)))


def _rng(seed: int, purpose: str) -> random.Random:
    digest = hashlib.sha256(f"shoot2top.sample:{seed}:{purpose}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _normalize_start(start: datetime) -> datetime:
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return start.astimezone(UTC).replace(microsecond=0)


def _token(rng: random.Random, length: int, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _youtube_id(rng: random.Random) -> str:
    return _token(rng, 10, _BASE64URL) + rng.choice(_YOUTUBE_ID_LAST)


def _clone(value: Any) -> Any:
    """A deep copy of plain JSON data, so observations never share mutable parts."""
    if isinstance(value, dict):
        return {key: _clone(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_clone(inner) for inner in value]
    return value


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_ms_z(unix_ms: int) -> str:
    moment = datetime.fromtimestamp(unix_ms // 1000, tz=UTC)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{unix_ms % 1000:03d}Z"


def _fb_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _iso_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if secs or text == "PT":
        text += f"{secs}S"
    return text
