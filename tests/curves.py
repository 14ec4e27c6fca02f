"""Performance series with known growth, for the recommendation tests that need no
warehouse: items whose reach follows ``final · (1 − e^(−t/τ))`` observed at fixed ages."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from shoot2top.recommend.catalog import Catalog, Item
from shoot2top.recommend.synthetic import World
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.performance import Point, Series

MONDAY = datetime(2026, 10, 5, tzinfo=UTC)
AGES_H = (1 / 6, 0.5, 1, 2, 6, 12, 24, 48, 96, 168, 192)


def series(
    item_id: str,
    created: datetime,
    final: float,
    *,
    publisher: str = "p1",
    platform: str = "youtube",
    media: str = "video",
    tau_h: float = 6.0,
    ages_h: Iterable[float] = AGES_H,
    title: str | None = None,
    interactions: bool = False,
) -> Series:
    """An item whose views (or, with `interactions`, likes only) follow the curve."""
    points = []
    for age in ages_h:
        value = float(int(final * (1 - math.exp(-age / tau_h))))
        at = created + timedelta(hours=age)
        points.append(Point(at, likes=value) if interactions else Point(at, views=value))
    return Series(platform, item_id, publisher, publisher.upper(), media, title, created, points)


def item(
    one: Series, hashtags: Iterable[str] = (), keywords: Iterable[str] = (), text: str = ""
) -> Item:
    return Item(one, tuple(hashtags), tuple(keywords), text or (one.title or ""))


def catalog(items: Iterable[Item], as_of: datetime | None = None) -> Catalog:
    return Catalog(list(items), as_of=as_of)


def loaded_world(server: Any, world: World) -> str:
    """A fresh database of `server` holding `world`, loaded by the warehouse loader."""
    dsn = server.new_database(migrated=True)
    loader = WarehouseLoader(dsn)
    for batch in world.batches():
        loader.load(batch)
    loader.close()
    return dsn


def posting_times(rng: random.Random, start: datetime, days: int, per_day: int) -> list[datetime]:
    """`per_day` posts a day at uniformly random times."""
    return sorted(
        start + timedelta(days=day, seconds=rng.randrange(86400))
        for day in range(days)
        for _ in range(per_day)
    )
