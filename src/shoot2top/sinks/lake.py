"""The lake sink: captures a stream as numbered JSON-array micro-batches.

Batches close by item count, encoded size or age (default 1 s, near-real-time). A
writer starts its folder at the current rotation boundary (hour or day, UTC); when the
clock crosses the next boundary it closes the open batch and starts a new folder, with a
new uuid. The clock is injectable: the sample generator writes in simulated time.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shoot2top import codec
from shoot2top.lake.layout import (
    MAX_FILE_NUMBER,
    ROTATIONS,
    WriterFolder,
    file_name,
    partition_start,
)
from shoot2top.lake.store import FileExists, LakeStore
from shoot2top.limits import MAX_SINK_BATCH_BYTES
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
        if batch_items < 1 or not 1 <= batch_bytes <= MAX_SINK_BATCH_BYTES:
            raise ValueError(
                f"lake sink {name!r}: batch_items and batch_bytes must be >= 1, and batch_bytes "
                f"at most {MAX_SINK_BATCH_BYTES:,} (got {batch_items}, {batch_bytes})"
            )
        if rotation not in ROTATIONS:
            raise ValueError(f"lake sink {name!r}: rotation {rotation!r} is not hour or day")
        self.store = store
        self.rotation = rotation
        self.batch_items = batch_items
        self.batch_bytes = batch_bytes
        self.compress = compress
        self.clock = clock
        self.new_writer_id = new_writer_id
        self.folder: WriterFolder | None = None
        self._rotate_at = float("-inf")
        self.next_number = 0
        self.files_written = 0
        self.bytes_written = 0
        self._batch: list[bytes] = []
        self._batch_size = 0

    def _before_write(self) -> None:
        now = self.clock()
        if now >= self._rotate_at:
            self.flush()  # the open batch belongs to the partition that just ended
            self._open_folder(partition_start(datetime.fromtimestamp(now, UTC), self.rotation))

    def _write(self, item: dict[str, Any]) -> None:
        encoded = self._encode(item)
        if encoded is None:
            return
        self._batch.append(encoded)
        self._batch_size += len(encoded) + 1
        if len(self._batch) >= self.batch_items or self._batch_size >= self.batch_bytes:
            self.flush()

    def _store(self) -> None:
        assert self.folder is not None
        if not self._batch:  # everything since the last file was dead-lettered
            return
        if self.next_number > MAX_FILE_NUMBER:
            self._open_folder(self.folder.start)  # same partition, a fresh writer folder
        data = codec.encode_array(self._batch)
        if self.compress:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        folder, name = self.folder.name, file_name(self.next_number)
        try:
            self.store.create(folder, name, data)
        except FileExists:
            # A retried PUT whose first attempt did land: fine if it holds these bytes.
            if self.store.read(folder, name) != data:
                raise
        self.next_number += 1
        self.files_written += 1
        self.bytes_written += len(data)
        self._batch = []
        self._batch_size = 0

    def report(self) -> str:
        return f"wrote {self.files_written:,} files, {human_bytes(self.bytes_written)}"

    def _open_folder(self, start: datetime) -> None:
        writer_id = self.new_writer_id() if self.new_writer_id else None
        self.folder = WriterFolder.new(start, writer_id)
        self._rotate_at = (start + ROTATIONS[self.rotation]).timestamp()
        self.next_number = 0
