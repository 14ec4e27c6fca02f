"""The micro-trends the sample plants: a few hashtags and keywords that burst inside
short windows, far above their background rate, so trend detection has something known
to find (`planted_trends`), and which of them a background item picks up."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from shoot2top.sample.ids import seeded_random
from shoot2top.sample.world import DEFAULT_START, PLATFORMS, normalize_start


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
CANDIDATE_BY_TERM = {candidate.term: candidate for candidate in _TREND_CANDIDATES}

_TREND_WINDOW_EARLIEST = timedelta(hours=6)
_TREND_WINDOW_LATEST = timedelta(hours=60)
_TREND_WINDOW_GAP = timedelta(hours=3)
BURST_ITEMS_PER_OBSERVATION = 0.008  # burst size per trend, relative to `items`
_IN_WINDOW_ADOPTION = 0.5  # background items inside a window that pick up the term
_EARLY_ADOPTION = (timedelta(hours=12), 0.015)  # (lookback, chance) before the window
_LATE_ADOPTION = (timedelta(hours=6), 0.02)  # (tail, chance) after the window


def planted_trends(seed: int = 7, start: datetime = DEFAULT_START) -> list[PlantedTrend]:
    """The micro-trend bursts `generate_items` plants for the same seed and start.

    Two to four trends (at least one hashtag and one keyword), each in its own window of
    one to three hours, sorted by window start. Independent of ``items``.
    """
    start = normalize_start(start)
    rng = seeded_random(seed, "trends")
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


def adopted_trends(
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
