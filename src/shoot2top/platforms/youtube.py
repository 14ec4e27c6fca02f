"""YouTube: items are ``video`` objects, Data API v3 video resources."""

from __future__ import annotations

from typing import Any

from shoot2top.platforms.table import Platform


def video_identity(payload: dict[str, Any], _: dict[str, Any]) -> tuple[Any, Any, Any]:
    snippet = payload.get("snippet")
    if not isinstance(snippet, dict):
        return payload.get("id"), None, None
    return payload.get("id"), snippet.get("channelId"), snippet.get("publishedAt")


PLATFORM = Platform(
    name="youtube",
    type_key="video",
    identity=video_identity,
    extractor="shoot2top.warehouse.features:extract_video",
    source_config="shoot2top.config:YouTubeSourceConfig",
    source="shoot2top.sources.youtube:YouTubeSource",
    secrets=("api_key",),
    identity_fields={"id": None, "snippet": {"channelId": None, "publishedAt": None}},
)
