"""The trends stage inside `shoot2top ingest`: the pipeline hands it every item it
moves; at each checkpoint the stage decides on what it has, sends the events to its
sinks and gives its state to the checkpoint, so a resumed run gives the same events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shoot2top.analytics.detector import DetectorOptions
from shoot2top.analytics.outputs import EventSink
from shoot2top.analytics.stage import TrendStage
from shoot2top.analytics.watermark import LATENESS_S

CHECKPOINT_PREFIX = "analytics:"  # beside the sources' names, which have no colon
BATCH_ITEMS = 1000


class TrendsHook:
    """Buffers items, runs them through a `TrendStage`, sends its events."""

    def __init__(
        self,
        name: str,
        stage: TrendStage,
        sinks: Sequence[EventSink],
    ) -> None:
        self.name = name
        self.stage = stage
        self.sinks = list(sinks)
        self.events = 0
        self._buffer: list[Mapping[str, Any]] = []

    @property
    def checkpoint_key(self) -> str:
        return CHECKPOINT_PREFIX + self.name

    def write(self, item: Mapping[str, Any]) -> None:
        self._buffer.append(item)
        if len(self._buffer) >= BATCH_ITEMS:
            self.flush()

    def flush(self) -> None:
        items, self._buffer = self._buffer, []
        self._send(self.stage.process(items))

    def finish(self) -> None:
        """The end of input: close every bucket."""
        self.flush()
        self._send(self.stage.finish())

    def snapshot(self) -> dict[str, Any]:
        self.flush()
        return self.stage.snapshot()

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    def report(self) -> str:
        counters = ", ".join(f"{k} {v:,}" for k, v in self.stage.counters().items())
        return f"{self.events} trend event(s) to {len(self.sinks)} sink(s); items: {counters}"

    def _send(self, events: Sequence[Any]) -> None:
        if events:
            for sink in self.sinks:
                sink.send(events)
            self.events += len(events)


def trends_stage(options: Mapping[str, Any], resume: Mapping[str, Any] | None) -> TrendStage:
    """A fresh stage from config options, or the one a checkpoint saved."""
    if resume:
        return TrendStage.restore(dict(resume))
    detector = {k: v for k, v in options.items() if k in DetectorOptions.names()}
    return TrendStage(
        DetectorOptions(**detector),
        lateness_s=options.get("lateness_s", LATENESS_S),
        kinds=options.get("kinds") or ("hashtag", "cashtag", "keyword", "mention"),
    )
