"""The bolt for every shoot2top sink: acks a tuple only once its item is durable.

The sink is the pipeline's sink whose name is this component's id. Tuples are acked when
their batch is stored (lake file visible, warehouse transaction committed) and failed
when a write fails, so their spouts send them again.
"""

from __future__ import annotations

from typing import Any

from streamparse import Bolt

from shoot2top.runtime.topology import acking_sink, items_of


class SinkBolt(Bolt):
    auto_ack = False  # acked when durable, not when processed
    auto_anchor = False  # emits nothing
    auto_fail = True  # an unexpected error fails the tuple at hand

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.writer = acking_sink(storm_conf, context["componentid"])

    def process(self, tup: Any) -> None:
        emitted_at = tup.values[1] if len(tup.values) > 1 else None
        self._answer(*self.writer.write(tup.id, items_of(tup.values[0]), emitted_at))

    def process_tick(self, tup: Any) -> None:
        self._answer(*self.writer.tick())

    def _answer(self, durable: list[Any], lost: list[Any]) -> None:
        for tuple_id in durable:
            self.ack(tuple_id)
        for tuple_id in lost:
            self.fail(tuple_id)
