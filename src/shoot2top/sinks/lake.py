"""The lake sink: captures a stream into the lake through a `LakeWriter`.

Batches close by item count, encoded size (the writer's rules) or age (default 1 s,
near-real-time). The writer's partition follows this sink's clock: when it crosses the
next boundary the open batch is stored and a new writer folder starts. The clock is
injectable: the sample generator writes in simulated time.

With ``background=True`` (the in-process runner's choice) a full batch is sealed here
and stored by a writer thread (file write, fsync, link, directory fsync: calls that
release the GIL), while the stream goes on. At most one batch is in flight, so memory
stays bounded; `flush` (what the runner calls before a checkpoint) waits until every
sealed batch is stored, so a checkpoint never gets ahead of durable output, and
`durable_ticket` counts only stored batches. A failed store raises at the next write,
tick or flush with the store's own error; the batch is kept and stored first on the
next attempt, before any later one (file numbers stay in order). Off by default: a
Storm bolt acks by durable tickets after each write, and wants them at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

from shoot2top import codec
from shoot2top.lake.store import LakeStore
from shoot2top.lake.writer import LakeWriter, Sealed
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
        background: bool = False,
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
        self.background = background
        self._publisher: ThreadPoolExecutor | None = None
        self._in_flight: tuple[Future[None], Sealed, int] | None = None  # and its last ticket
        self._failed: tuple[Sealed, int] | None = None  # the store refused it: stored first

    def _before_write(self) -> None:
        if self._in_flight is not None and self._in_flight[0].done():
            self._settle()  # its tickets are durable now; or its error is raised here
        if self.writer.full:  # it filled up as the store before it failed: store it as it
            self._batch_full()  # is, nothing added (or it grows past the writer's rules)
        now = self.clock()
        if now >= self.writer.rotate_at:
            self.flush()  # the open batch belongs to the partition that just ended
            self.writer.rotate(now)

    def _write(self, item: dict[str, Any]) -> None:
        encoded = self._encode(item)
        if encoded is not None and self.writer.add(encoded):
            self._batch_full()

    def write_batch(self, items: Sequence[dict[str, Any]]) -> int:
        """Like `write` for each item, with the clock read once: a batch is written at
        one time, so it lands in one partition."""
        if not items:
            return self.last_ticket
        return self._add_all(self._encode_all(items))

    @property
    def takes_encoded(self) -> bool:
        """True, unless a subclass changed `write_batch` (it would be bypassed)."""
        return type(self).write_batch is LakeSink.write_batch

    def write_encoded(self, items: Sequence[Any]) -> int:
        """`write_batch` of items given as JSON text (a lake replay's stored text, kept
        as it is) or decoded (encoded here): see `Sink._as_texts`."""
        if not items:
            return self.last_ticket
        return self._add_all(self._as_texts(items))

    def _add_all(self, encoded: Sequence[codec.Buffer | None]) -> int:
        """Add a batch's encoded items (None: dead-lettered, a ticket but no place),
        storing each batch that fills up; the clock is read once."""
        self._before_write()
        now = time.monotonic()
        if self.last_ticket == self.durable_ticket:
            self._pending_since = now
        if None in encoded:  # some were dead-lettered: they take a ticket, not a place
            for one in encoded:
                self.last_ticket += 1
                if one is not None and self.writer.add(one):
                    self._batch_full()
                    self._pending_since = now  # the next item starts a batch
            return self.last_ticket
        done = 0
        while done < len(encoded):
            taken, full = self.writer.add_many(cast(list[codec.Buffer], encoded), done)
            done += taken
            self.last_ticket += taken
            if full:
                self._batch_full()
                self._pending_since = now
        return self.last_ticket

    def _batch_full(self) -> None:
        """Store the full open batch: at once, or by the writer thread (`background`)."""
        if not self.background:
            self.flush()
            return
        self._settle()  # one batch in flight at most; raises the last store's error
        sealed = self.writer.seal()
        if sealed is None:
            return
        if self._publisher is None:
            self._publisher = ThreadPoolExecutor(1, thread_name_prefix=f"{self.name}-publish")
        future = self._publisher.submit(self.writer.store_sealed, sealed)
        self._in_flight = (future, sealed, self.last_ticket)

    def _settle(self) -> None:
        """Wait for the batch in flight (and store a refused one again first): the
        tickets through it are durable then. Raises the store's error, keeping the batch."""
        if self._failed is not None:
            sealed, through = self._failed
            self.writer.store_sealed(sealed)
            self._failed = None
            self.durable_ticket = through
        if self._in_flight is None:
            return
        future, sealed, through = self._in_flight
        try:
            future.result()
        except Exception:
            self._in_flight, self._failed = None, (sealed, through)
            raise
        # (interrupted while waiting, e.g. Ctrl-C in a notebook: the store goes on and
        # stays in flight, to be waited for again, never stored a second time beside it)
        self._in_flight = None
        self.durable_ticket = through

    def flush(self) -> None:
        if self._in_flight is not None or self._failed is not None:
            self._settle()
        super().flush()

    def tick(self, age_s: float | None = None) -> None:
        if self._in_flight is not None and self._in_flight[0].done():
            self._settle()
        super().tick(age_s)

    def _store(self) -> None:
        self.writer.publish()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._publisher is not None:
                self._publisher.shutdown(wait=True)

    def _abandon(self) -> None:
        """Drop the open batch and what waits to be stored again; a store in progress
        finishes by itself (a file more is a duplicate at worst, never a loss)."""
        self.writer.batch, self.writer.batch_size = [], 0
        self._in_flight = self._failed = None
        if self._publisher is not None:
            self._publisher.shutdown(wait=False)

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
