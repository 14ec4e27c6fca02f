"""The trends topology's bolts: terms (the event clock), detect (by term), events (sinks).

Thin: `shoot2top.analytics.tasks` decides; these move tuples and ack a tuple only once
the state that counts it is saved (`ClockTask.save`, `DetectorTask.save`), so a killed
task resumes from its state file and the spouts resend exactly what it had not saved.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from streamparse import Bolt, Stream

from shoot2top.analytics.tasks import EventFilter
from shoot2top.analytics.topology import (
    EVENT_STREAM_FIELDS,
    USE_FIELDS,
    clock_task,
    detector_task,
    event_of,
    event_sinks,
    event_values,
    source_names,
    terms_component,
    use_of,
    use_values,
)
from shoot2top.analytics.watermark import Watermark
from shoot2top.runtime.topology import items_of
from spouts.source import task_index
from spouts.trends import END_STREAM

WATERMARK_STREAM = "watermarks"


def tasks_of(context: dict[str, Any], components: set[str]) -> list[int]:
    return sorted(int(t) for t, c in context["task->component"].items() if c in components)


class HoldingBolt(Bolt):
    """Holds its input tuples until its state is saved, then acks them."""

    auto_ack = False
    auto_anchor = False
    auto_fail = True

    def hold(self, tup: Any) -> None:
        self.held.append(tup)

    def release(self) -> None:
        for tup in self.held:
            self.ack(tup)
        self.held = []


class TermsBolt(HoldingBolt):
    outputs: ClassVar[list[Any]] = [
        Stream(fields=USE_FIELDS),
        Stream(fields=["watermark"], name=WATERMARK_STREAM),
    ]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.held: list[Any] = []
        self.task = clock_task(storm_conf, context["componentid"])
        self.spout_tasks = set(tasks_of(context, source_names(storm_conf)))
        self.ended: set[int] = set()
        self.resumed = False

    def process(self, tup: Any) -> None:
        self._resume()
        self.hold(tup)
        if tup.stream == END_STREAM:
            self.ended.add(int(tup.values[0]))
            finished = self.task.last is not None and self.task.last.final
            if self.ended >= self.spout_tasks and not finished:
                self._mark(self.task.finish(), tup)
            return
        out = self.task.process(items_of(tup.values[0]))
        for use in out.uses:
            self.emit(use_values(use), anchors=[tup])
        if out.watermark is not None:
            self._mark(out.watermark, tup)

    def process_tick(self, tup: Any) -> None:
        """Once a second: save and ack what is held, and repeat the last marker so that
        the detectors save and ack too (tuples of a replay that lags behind a restored
        clock would otherwise wait for the next bucket to close, and time out)."""
        self._resume()
        if self.held:
            marker = self.task.resume()
            if marker is not None:
                self.emit([json.dumps(marker.to_record())], stream=WATERMARK_STREAM)
            self.task.save()
            self.release()

    def _resume(self) -> None:
        """After a restart: the last marker again, for the detectors that missed it."""
        if not self.resumed:
            self.resumed = True
            marker = self.task.resume()
            if marker is not None:
                self.emit([json.dumps(marker.to_record())], stream=WATERMARK_STREAM)

    def _mark(self, marker: Watermark, tup: Any) -> None:
        self.emit([json.dumps(marker.to_record())], stream=WATERMARK_STREAM, anchors=[tup])
        self.task.save()
        self.release()


class DetectBolt(HoldingBolt):
    outputs: ClassVar[list[Any]] = [Stream(fields=EVENT_STREAM_FIELDS)]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.held: list[Any] = []
        index, _ = task_index(context)
        upstream = tasks_of(context, {terms_component(storm_conf)})
        self.task = detector_task(storm_conf, context["componentid"], index, upstream)

    def process(self, tup: Any) -> None:
        self.hold(tup)
        if tup.stream != WATERMARK_STREAM:
            self.task.add(use_of(tup.values))
            return
        events = self.task.offer(tup.task, Watermark.from_record(json.loads(tup.values[0])))
        for event in events or []:
            self.emit([event_values(event)], anchors=[tup])
        self.task.save()  # at every marker, even one that does not advance: then ack
        self.release()


class EventsBolt(Bolt):
    """Writes each new trend event to every trend sink; acks once they have it."""

    auto_ack = True
    auto_anchor = False
    auto_fail = True

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.fresh = EventFilter()
        self.sinks = event_sinks(storm_conf)

    def process(self, tup: Any) -> None:
        event = event_of(tup.values[0])
        if not self.fresh.fresh(event.to_record(), source=tup.task):
            return
        for sink in self.sinks:
            sink.send([event])
