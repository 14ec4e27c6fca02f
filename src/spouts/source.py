"""The spout for every shoot2top source: tuples of items ready at once, with message ids.

The source is the pipeline's source whose name is this component's id; the delivery
logic (pending, retries, dead letters, ack-safe checkpoints) is `TrackedSource`'s.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from streamparse import Spout

from shoot2top.runtime.topology import tracked_source, tuple_of_json

EMITS_PER_NEXT = 10


def task_index(context: dict[str, Any]) -> tuple[int, int]:
    """This task's index among its component's tasks, and their number."""
    component = context["componentid"]
    tasks = sorted(
        int(task) for task, name in context["task->component"].items() if name == component
    )
    return tasks.index(int(context["taskid"])), len(tasks)


class SourceSpout(Spout):
    outputs: ClassVar[list[str]] = ["items", "emitted_at"]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        index, count = task_index(context)
        self.tracked = tracked_source(storm_conf, context["componentid"], index, count)

    def next_tuple(self) -> None:
        # Each `next` is a round trip with the JVM: send a burst, not a single tuple.
        for _ in range(EMITS_PER_NEXT):
            due = self.tracked.next()
            if due is None:
                return
            message_id = due[0]
            self.emit(tuple_of_json(self.tracked.text(message_id), time.time()), tup_id=message_id)

    def ack(self, tup_id: Any) -> None:
        self.tracked.ack(int(tup_id))

    def fail(self, tup_id: Any) -> None:
        self.tracked.fail(int(tup_id))
