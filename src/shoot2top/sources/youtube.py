"""YouTube Data API v3 source (to be written)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shoot2top.config import YouTubeSourceConfig
from shoot2top.deadletter import DeadLetters
from shoot2top.sources.base import Item
from shoot2top.sources.live import SYSTEM_CLOCK, Clock, LiveSource


class YouTubeSource(LiveSource):
    def __init__(
        self,
        config: YouTubeSourceConfig,
        *,
        api_key: str,
        resume: dict[str, Any] | None = None,
        dead_letters: DeadLetters | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(config.name, clock=clock)
        raise NotImplementedError

    def __iter__(self) -> Iterator[Item | None]:
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError
