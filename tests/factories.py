"""Small, valid streamable objects for tests that do not need realistic payloads, and
small helpers over them."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shoot2top import codec

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tweet(item_id: str, observed: datetime, created: datetime | None = None) -> dict[str, Any]:
    created = created or observed
    return {
        "tweet": {
            "data": {
                "id": item_id,
                "text": f"tweet {item_id} #demo",
                "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "author_id": "42",
            },
            "includes": {"users": [{"id": "42", "username": "pub"}]},
        },
        "_observed_at": _z(observed),
        "_source": "test",
    }


def video(item_id: str, observed: datetime, created: datetime | None = None) -> dict[str, Any]:
    created = created or observed
    return {
        "video": {
            "kind": "youtube#video",
            "id": item_id,
            "snippet": {"publishedAt": _z(created), "channelId": "UC1", "title": item_id},
            "statistics": {"viewCount": "1"},
        },
        "_observed_at": _z(observed),
        "_source": "test",
    }


def post(item_id: str, observed: datetime, created: datetime | None = None) -> dict[str, Any]:
    created = created or observed
    return {
        "post": {
            "id": item_id,
            "created_time": created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "from": {"id": "99", "name": "Page"},
        },
        "_observed_at": _z(observed),
        "_source": "test",
    }


def stream(
    count: int, start_minute: float = 0.0, step_minutes: float = 1.0
) -> list[dict[str, Any]]:
    """`count` items cycling tweet/video/post, one every `step_minutes`."""
    makers = (tweet, video, post)
    return [
        makers[index % 3](f"id{index}", at(start_minute + index * step_minutes))
        for index in range(count)
    ]


def ids(items: list[dict[str, Any]]) -> list[str]:
    """Stable identities of items, in order (type and id)."""
    out = []
    for item in items:
        kind = next(key for key in item if not key.startswith("_"))
        payload = item[kind]
        out.append(f"{kind}:{payload['data']['id'] if kind == 'tweet' else payload['id']}")
    return out


def lake_arrays(root: Path) -> list[Any]:
    """Every item of a local lake, straight from its JSON arrays (no shoot2top reader),
    as many times as it was written: temp files (dot names) are not lake files."""
    return [
        item
        for path in sorted(root.glob("*/[!.]*"))
        if path.is_file()
        for item in codec.loads(path.read_bytes())
    ]


def lake_counts(root: Path) -> Counter[str]:
    """Items per type key, straight from the lake's JSON arrays."""
    counts: Counter[str] = Counter()
    for item in lake_arrays(root):
        (kind,) = [key for key in item if not key.startswith("_")]
        counts[kind] += 1
    return counts


def observations(items: list[dict[str, Any]]) -> Counter[str]:
    """How many times each observation (type, id, observed time) occurs in `items`."""
    return Counter(
        f"{ident}@{item.get('_observed_at')}" for ident, item in zip(ids(items), items, strict=True)
    )


def deliveries(root: Path) -> Counter[str]:
    """How many times each observation was written to a local lake sink: a sink that
    records every delivery, where a double shows (the warehouse's keys would hide it)."""
    return observations(lake_arrays(root))
