"""The toy platform's parts: its source config, its live source and its extractor.

The source makes `clips` items (``{"clip": {...}}``) instead of calling an API, and
resumes after the last one it emitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from shoot2top.config import COMPONENT_NAME, SecretRef, Strict
from shoot2top.posts import stamp
from shoot2top.sources.base import Item, Source
from shoot2top.warehouse.features import Features, Metrics, Publisher, hashtags

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class ToySourceConfig(Strict):
    """Clips of the toy platform."""

    type: Literal["toy"]
    name: str = Field("toy", pattern=COMPONENT_NAME)
    parallelism: Literal[1] = 1
    api_key: SecretRef
    clips: int = Field(5, ge=1)


class ToySource(Source):
    def __init__(
        self,
        config: ToySourceConfig,
        *,
        api_key: str,
        resume: dict[str, Any] | None = None,
        dead_letters: Any = None,
    ) -> None:
        super().__init__(config.name)
        if not api_key:
            raise ValueError(f"source {config.name!r}: api_key is empty")
        self.config = config
        self.emitted = int((resume or {}).get("emitted", 0))

    def __iter__(self) -> Iterator[Item | None]:
        while self.emitted < self.config.clips:
            index = self.emitted
            posted = T0 + timedelta(minutes=index)
            payload = {
                "clip_id": f"c{index}",
                "creator": "maker1",
                "creator_name": "Maker One",
                "posted_at": posted.isoformat(),
                "caption": f"Clip {index} of the kitchen series #Cooking #toy{index}",
                "plays": 100 * (index + 1),
                "hearts": index,
            }
            self.emitted += 1
            yield stamp("clip", payload, observed_at=posted + timedelta(minutes=5), source="toy")

    def snapshot(self) -> dict[str, Any]:
        return {"emitted": self.emitted}


def extract_clip(
    payload: dict[str, Any], out: Features, publisher_id: str | None, obj: dict[str, Any]
) -> None:
    if publisher_id is not None:
        out.publisher = Publisher(out.platform, publisher_id, payload.get("creator_name"))
    out.text = payload.get("caption")
    out.url = f"https://toy.example/clips/{out.item_id}"
    out.media_type = "video"
    out.hashtags = hashtags(out.text or "")
    out.metrics = Metrics(views=payload.get("plays"), likes=payload.get("hearts"))
