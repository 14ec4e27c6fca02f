"""The words of each sample item — language, headline, an extra line, emoji, hashtags —
written for a publisher and topic (and the trends it picked up) before a platform lays
them out."""

from __future__ import annotations

import random
from dataclasses import dataclass

from shoot2top.sample.trends import CANDIDATE_BY_TERM, PlantedTrend
from shoot2top.sample.world import EXTRA_LINES, TOPICS, Publisher, Topic


@dataclass(frozen=True)
class Copy:
    """The words of one item, before a platform lays them out."""

    language: str
    headline: str
    extra: str | None
    emoji: str | None
    hashtags: tuple[str, ...]  # without '#'
    names: tuple[str, str]


def write_copy(
    rng: random.Random, publisher: Publisher, topic_name: str, trends: list[PlantedTrend]
) -> Copy:
    topic = TOPICS[topic_name]
    language = pick_language(rng, publisher)
    a, b = rng.sample(topic.names, 2)
    keyword = next((t for t in trends if t.kind == "keyword"), None)
    if keyword is not None:
        language = "en"
        candidate = CANDIDATE_BY_TERM[keyword.term]
        a, b = rng.sample(TOPICS[candidate.topic].names, 2)
        headline = rng.choice(candidate.lines).format(a=a)
    elif language == "en":
        headline = rng.choice(topic.headlines).format(a=a, b=b)
    else:
        headline = topic.foreign[language].format(a=a, b=b)
    extra = rng.choice(EXTRA_LINES) if language == "en" and rng.random() < 0.3 else None
    emoji = rng.choice(topic.emoji) if rng.random() < 0.45 else None
    hashtags = pick_hashtags(rng, topic, language)
    for trend in trends:
        if trend.kind == "hashtag" and trend.term not in {h.lower() for h in hashtags}:
            spelling = CANDIDATE_BY_TERM[trend.term].spelling
            hashtags.append(spelling if rng.random() < 0.7 else trend.term)
    return Copy(language, headline, extra, emoji, tuple(hashtags), (a, b))


def pick_language(rng: random.Random, publisher: Publisher) -> str:
    if publisher.language == "en":
        return rng.choice(("ja", "ar", "hi", "es")) if rng.random() < 0.08 else "en"
    return publisher.language if rng.random() < 0.6 else "en"


def pick_hashtags(rng: random.Random, topic: Topic, language: str) -> list[str]:
    if rng.random() < 0.25:
        return []
    hashtags = rng.sample(topic.hashtags, rng.choices((1, 2, 3), weights=(45, 35, 20))[0])
    if language != "en" and rng.random() < 0.7:
        hashtags.insert(0, topic.foreign_hashtag[language])
    return hashtags
