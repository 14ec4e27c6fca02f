"""The source spout of the trends topology: also says, on the ``end`` stream, that its
input is exhausted (a lake replay read to its end), so the event clock can close every
bucket — every second from then on, so that a terms task restarted after it heard it (or
one that lost the tuple) hears it again. A live source never ends."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from streamparse import Stream

from spouts.source import SourceSpout

END_STREAM = "end"
END_EVERY_S = 1.0


class TrendsSourceSpout(SourceSpout):
    outputs: ClassVar[list[Any]] = [
        Stream(fields=["items", "emitted_at"]),
        Stream(fields=["task"], name=END_STREAM),
    ]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        super().initialize(storm_conf, context)
        self.task_id = int(context["taskid"])
        self.next_end = 0.0

    def next_tuple(self) -> None:
        super().next_tuple()
        if self.tracked.exhausted and time.monotonic() >= self.next_end:
            self.next_end = time.monotonic() + END_EVERY_S
            self.emit([self.task_id], stream=END_STREAM)
