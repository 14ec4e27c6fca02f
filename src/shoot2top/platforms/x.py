"""X (Twitter): items are ``tweet`` objects, API v2 filtered-stream messages or legacy
v1.1 tweets from the original lakes."""

from __future__ import annotations

from typing import Any

from shoot2top.platforms.table import Platform


def tweet_identity(payload: dict[str, Any], _: dict[str, Any]) -> tuple[Any, Any, Any]:
    data = payload.get("data")
    if isinstance(data, dict):  # an X API v2 filtered-stream message
        return data.get("id"), data.get("author_id"), data.get("created_at")
    user = payload.get("user")  # a legacy v1.1 tweet from the original lakes
    author = user.get("id_str") if isinstance(user, dict) else None
    return payload.get("id_str"), author, payload.get("created_at")


PLATFORM = Platform(
    name="x",
    type_key="tweet",
    identity=tweet_identity,
    extractor="shoot2top.warehouse.features:extract_tweet",
    source_config="shoot2top.config:XSourceConfig",
    source="shoot2top.sources.x:XSource",
    secrets=("bearer_token",),
    identity_fields={
        "data": {"id": None, "author_id": None, "created_at": None},
        "user": {"id_str": None},
        "id_str": None,
        "created_at": None,
    },
)
