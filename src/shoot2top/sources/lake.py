"""Replay from the lake: a partition (glob) or time range, as one consistent stream.

Each writer's files stream in number order; writers are merged by the items' observed
time, so a partition replays the same way whichever writers made it. Damaged files and
non-conforming items go to the dead-letter report and the replay goes on (``strict``
stops instead). A file that cannot be *read* is not damaged: the store retries, and if it
stays unreadable the replay stops there, its position still before that file. The resume
state is, per writer folder, the next file and item to emit. Several replays of the same
selection can share the work: each `shard` takes a stable share of the writer folders.
"""

from __future__ import annotations

import heapq
import logging
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from shoot2top.codec import BadElement
from shoot2top.lake.layout import WriterFolder
from shoot2top.lake.reader import Selection, batch_files, read_batch, select_writers
from shoot2top.lake.store import LakeError, LakeStore, StoredFile
from shoot2top.posts import InvalidPost, describe
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.progress import human_bytes
from shoot2top.sources.base import Item, Source

log = logging.getLogger(__name__)

Position = list[int]  # [file number, index of the next item in that file]
_Entry = tuple[datetime, int, Item, int, int]
PACE_SLICE_S = 0.25


class LakeSource(Source):
    """Replays selected lake partitions, merged across writers by observed time."""

    def __init__(
        self,
        store: LakeStore,
        *,
        name: str = "lake",
        selection: Selection | None = None,
        pace: float = 0.0,
        strict: bool = False,
        resume: dict[str, Any] | None = None,
        dead_letters: DeadLetters | None = None,
        sleep: Callable[[float], None] = time.sleep,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        super().__init__(name)
        if pace < 0:
            raise ValueError(f"lake source {name!r}: pace must be >= 0 (0 = as fast as possible)")
        self.store = store
        self.selection = selection or Selection()
        self.pace = pace
        self.strict = strict
        self.dead_letters = dead_letters or DeadLetters(None)
        self.sleep = sleep
        index, count = shard
        if not 0 <= index < count:
            raise ValueError(f"lake source {name!r}: shard {index} of {count} does not exist")
        self.shard = shard
        self.positions: dict[str, Position] = {
            folder: list(position)
            for folder, position in (resume or {}).get("positions", {}).items()
        }
        self.files_read = 0
        self.damaged_files = 0

    def snapshot(self) -> dict[str, Any]:
        return {"positions": {folder: list(pos) for folder, pos in self.positions.items()}}

    def __iter__(self) -> Iterator[Item | None]:
        writers, strangers = select_writers(self.store, self.selection)
        for stranger in strangers:
            log.warning("%s: not a partition folder, ignored", self.store.location(stranger))
        writers = [writer for writer in writers if self._owns(writer)]
        self.bytes_total = 0  # each writer's stream adds its files as it lists them
        cursors = [self.positions.setdefault(writer.name, [0, 0]) for writer in writers]
        streams = [
            self._writer_entries(index, writer, cursors[index])
            for index, writer in enumerate(writers)
        ]
        heap = [entry for stream in streams if (entry := next(stream, None)) is not None]
        heapq.heapify(heap)
        first_observed: datetime | None = None
        started = time.monotonic()
        while heap:
            observed, index, item, number, next_index = heap[0]
            if self.pace:
                if first_observed is None:
                    first_observed, started = observed, time.monotonic()
                due = started + (observed - first_observed).total_seconds() / self.pace
                yield from self._wait_until(due)
            cursor = cursors[index]
            cursor[0], cursor[1] = number, next_index
            yield item
            following = next(streams[index], None)
            if following is None:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, following)

    def _owns(self, writer: WriterFolder) -> bool:
        """Parallel replay: each of `count` shards reads a stable share of the writers."""
        index, count = self.shard
        return count == 1 or zlib.crc32(writer.name.encode()) % count == index

    def _wait_until(self, due: float) -> Iterator[None]:
        """Sleep until `due`, yielding None every slice so the runner stays responsive."""
        while (remaining := due - time.monotonic()) > 0:
            self.sleep(min(remaining, PACE_SLICE_S))
            yield None

    def _writer_entries(
        self, writer_index: int, writer: WriterFolder, cursor: Position
    ) -> Iterator[_Entry]:
        """One writer's valid, selected items in file order, as merge-heap entries:
        (observed, writer index, item, file number, index of the next item).

        While this generator runs, every entry it yielded has been emitted, so it may move
        the writer's cursor past what it skips: a resume neither re-reads nor re-reports.
        """
        start_file, start_index = cursor
        files, strangers = batch_files(self.store, writer)
        for stranger in strangers:
            log.warning("%s: not a batch file, ignored", self.store.location(writer.name, stranger))
        keeps = self.selection.keeps if self.selection.has_time_range else None
        self.bytes_total = (self.bytes_total or 0) + sum(
            stored.size for number, stored in files if number >= start_file
        )
        for number, stored in files:
            if number < start_file:
                continue
            where = self.store.location(writer.name, stored.name)
            items = self._read_batch(writer, stored, where)
            first = start_index if number == start_file else 0
            for index in range(first, len(items)):
                item = items[index]
                if isinstance(item, BadElement):
                    self._reject(f"{where} item {index}", item.reason, raw=item.raw)
                    cursor[0], cursor[1] = number, index + 1
                    continue
                try:
                    observed = describe(item).observed_at
                except InvalidPost as error:
                    self._reject(f"{where} item {index}", str(error), item)
                    cursor[0], cursor[1] = number, index + 1
                    continue
                if keeps is None or keeps(observed):
                    yield observed, writer_index, item, number, index + 1
                else:
                    cursor[0], cursor[1] = number, index + 1
            cursor[0], cursor[1] = number + 1, 0

    def _read_batch(self, writer: WriterFolder, stored: StoredFile, where: str) -> list[Any]:
        """The items of one file; a damaged file is reported. A `LakeError` (the store
        did not give the bytes) propagates: it stops the replay before this file."""
        items, problem = read_batch(self.store, writer.name, stored)
        self.bytes_read += stored.size
        self.files_read += 1
        if problem:
            self._reject(where, problem)
        return items

    def report(self) -> str:
        return (
            f"read {self.files_read:,} files, {human_bytes(self.bytes_read)}; "
            f"{self.damaged_files:,} damaged"
        )

    def _reject(self, where: str, reason: str, item: Any = None, raw: str | None = None) -> None:
        if self.strict:
            raise LakeError(f"{where}: {reason}")
        if item is None and raw is None:
            self.damaged_files += 1
        log.warning("%s: %s (dead-lettered)", where, reason)
        self.dead_letters.record(self.name, where, reason, item, raw=raw)
