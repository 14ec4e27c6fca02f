"""A published sample item — its static payload, its engagement curve, the moments it is
observed — and the polling schedule: the standard offsets, slightly late or early, a
few polls missed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shoot2top.sample.engagement import Engagement

OBSERVATION_OFFSETS: tuple[timedelta, ...] = tuple(
    timedelta(minutes=minutes) for minutes in (10, 30, 60, 120, 240, 360, 720, 1440, 2880, 4320)
)
_MISSED_OBSERVATION_CHANCE = 0.08


@dataclass
class Item:
    """One published item: static payload parts, engagement model and observation times."""

    platform: str
    topic: str
    published: datetime
    engagement: Engagement
    static: dict[str, Any]
    observations: list[datetime]
    referenced: Item | None = None  # the original of a retweet, the tweet a quote quotes


def observation_times(rng: random.Random, published: datetime, end: datetime) -> list[datetime]:
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


def drop_excess_observations(rng: random.Random, published: list[Item], excess: int) -> None:
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
