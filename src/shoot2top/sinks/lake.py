"""The lake sink: captures a stream into the lake through a `LakeWriter`.

Batches close by item count, encoded size (the writer's rules) or age (default 1 s,
near-real-time). The writer's partition follows this sink's clock: when it crosses the
next boundary the open batch is stored and a new writer folder starts. The clock is
injectable: the sample generator writes in simulated time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from shoot2top.lake.store import LakeStore
from shoot2top.lake.writer import LakeWriter
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.progress import human_bytes
from shoot2top.sinks.base import Sink

Clock = Callable[[], float]
"""Seconds since the epoch (UTC), like `time.time`: cheap enough to read per item."""


class LakeSink(Sink):
    """Writes micro-batches into a local or S3 lake; one writer folder per partition."""

    def __init__(
        self,
        store: LakeStore,
        *,
        name: str = "lake",
        rotation: str = "hour",
        batch_items: int = 1000,
        batch_bytes: int = 8 * 1024 * 1024,
        batch_age_s: float = 1.0,
        compress: bool = False,
        clock: Clock = time.time,
        new_writer_id: Callable[[], str] | None = None,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        super().__init__(name, batch_age_s=batch_age_s, dead_letters=dead_letters)
        self.writer = LakeWriter(
            store,
            rotation=rotation,
            batch_items=batch_items,
            batch_bytes=batch_bytes,
            compress=compress,
            new_writer_id=new_writer_id,
            name=name,
        )
        self.clock = clock

    def _before_write(self) -> None:
        now = self.clock()
        if now >= self.writer.rotate_at:
            self.flush()  # the open batch belongs to the partition that just ended
            self.writer.rotate(now)

    def _write(self, item: dict[str, Any]) -> None:
        encoded = self._encode(item)
        if encoded is not None and self.writer.add(encoded):
            self.flush()

    def write_batch(self, items: Sequence[dict[str, Any]]) -> int:
        """Like `write` for each item, with the clock read once: a batch is written at
        one time, so it lands in one partition."""
        if not items:
            return self.last_ticket
        self._before_write()
        now = time.monotonic()
        if self.last_ticket == self.durable_ticket:
            self._pending_since = now
        encoded = self._encode_all(items)
        if None in encoded:  # some were dead-lettered: they take a ticket, not a place
            for one in encoded:
                self.last_ticket += 1
                if one is not None and self.writer.add(one):
                    self.flush()
                    self._pending_since = now  # the next item starts a batch
            return self.last_ticket
        done = 0
        while done < len(encoded):
            taken, full = self.writer.add_many(cast(list[bytes], encoded), done)
            done += taken
            self.last_ticket += taken
            if full:
                self.flush()
                self._pending_since = now
        return self.last_ticket

    def _store(self) -> None:
        self.writer.publish()

    def report(self) -> str:
        return (
            f"wrote {self.writer.files_written:,} files, {human_bytes(self.writer.bytes_written)}"
        )

    @property
    def bytes_written(self) -> int:
        return self.writer.bytes_written

    @property
    def files_written(self) -> int:
        return self.writer.files_written
