"""The source spout of the trends topology: also says once, on the ``end`` stream, that
its input is exhausted (a lake replay read to its end), so the event clock can close
every bucket. A live source never ends."""

from __future__ import annotations

from typing import Any, ClassVar

from streamparse import Stream

from spouts.source import SourceSpout

END_STREAM = "end"


class TrendsSourceSpout(SourceSpout):
    outputs: ClassVar[list[Any]] = [
        Stream(fields=["items", "emitted_at"]),
        Stream(fields=["task"], name=END_STREAM),
    ]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        super().initialize(storm_conf, context)
        self.task_id = int(context["taskid"])
        self.ended = False

    def next_tuple(self) -> None:
        super().next_tuple()
        if not self.ended and self.tracked.exhausted:
            self.ended = True
            self.emit([self.task_id], stream=END_STREAM)
