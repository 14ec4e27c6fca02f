"""Replay from the lake: a partition (glob) or time range, as one consistent stream.

Each writer's files stream in number order; writers are merged by the items' observed
time, so a partition replays the same way whichever writers made it. The merge hands out
runs: the items of one file that come before every other writer's next item, sliced out
at once, so a batch costs per item only its validation (one `describe`). Damaged files and
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
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from operator import itemgetter, le
from typing import Any, cast

from shoot2top.codec import BadElement, fewer_collections
from shoot2top.lake.layout import WriterFolder
from shoot2top.lake.reader import (
    Selection,
    batch_files,
    identity,
    read_batch,
    read_batch_encoded,
    select_writers,
)
from shoot2top.lake.store import LakeError, LakeStore, StoredFile
from shoot2top.posts import PostInfo
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.progress import human_bytes
from shoot2top.sources.base import Item, Source

log = logging.getLogger(__name__)

Position = list[int]  # [file number, index of the next item in that file]
PACE_SLICE_S = 0.25
_Head = tuple[datetime, int, "_Writer"]
"""A writer's next item in the merge heap: (observed time, writer index, the writer)."""


@dataclass(slots=True)
class _Reject:
    """A damaged or non-conforming item, dead-lettered when the cursor passes it."""

    index: int
    reason: str
    item: Any = None
    raw: str | None = None


@dataclass(slots=True)
class _Writer:
    """One writer folder in the merge: its files still to read, the valid selected
    items of the file it is in (with their observed times, types and indexes in the
    file), the next of them to hand out, and its cursor (the resume position)."""

    index: int
    folder: WriterFolder
    cursor: Position
    files: list[tuple[int, StoredFile]]
    next_file: int = 0
    number: int = -1
    size: int = 0  # items (good or bad) in the file
    where: str = ""
    items: list[Item] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    in_order: bool = True  # times never decrease: a run's end is a bisection
    head: int = 0
    rejects: list[_Reject] = field(default_factory=list)
    reported: int = 0

    def run_end(self, stop: int, bound: _Head) -> int:
        """Where this writer's run from `head` ends: before its first item that comes
        after `bound` (another writer's next item; equal times go to the lower index)."""
        times, time_bound, other = self.times, bound[0], bound[1]
        if self.in_order:
            cut = bisect_right if self.index < other else bisect_left
            return cut(times, time_bound, self.head + 1, stop)
        end = self.head + 1
        if self.index < other:
            while end < stop and times[end] <= time_bound:
                end += 1
        else:
            while end < stop and times[end] < time_bound:
                end += 1
        return end


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
        self.encoded = False
        self._writers: list[_Writer] | None = None  # listed on the first batch
        self._heap: list[_Head] = []  # every writer with an item to hand out
        self._to_load: list[_Writer] = []  # writers whose file is used up
        self._failure: Exception | None = None
        self._first_observed: datetime | None = None  # pace: the replay's time origin
        self._started = 0.0

    def snapshot(self) -> dict[str, Any]:
        return {"positions": {folder: list(pos) for folder, pos in self.positions.items()}}

    def __iter__(self) -> Iterator[Item | None]:
        while (batch := self.next_batch(1)) is not None:
            yield batch[0] if batch else None

    def next_batch(self, max_items: int) -> list[Item] | None:
        """Up to `max_items` items in merged order. A file that cannot be read stops the
        replay before it; the items merged before it are handed out first."""
        if self._failure is not None:
            raise self._failure
        if self._writers is None:
            self._writers = self._list()
            self._to_load = list(self._writers)
        batch: list[Item] = []
        try:
            with fewer_collections():
                self._fill(batch, max_items)
        except Exception as error:
            self._failure = error  # the replay stops here, at once or after this batch
            if not batch:
                raise
        if not batch and not self._heap and not self._to_load:
            return None
        return batch

    def _list(self) -> list[_Writer]:
        """The writer folders this replay reads, each with its files from its cursor on."""
        folders, strangers = select_writers(self.store, self.selection)
        for stranger in strangers:
            log.warning("%s: not a partition folder, ignored", self.store.location(stranger))
        if not folders:  # a mistyped path or S3 prefix, a glob that matches nothing
            glob = self.selection.glob
            what = f"no partition folder matches glob {glob!r}" if glob else "no partitions"
            log.warning("%s: %s: nothing to replay", self.store.location(""), what)
        self.bytes_total = 0
        writers: list[_Writer] = []
        for folder in (folder for folder in folders if self._owns(folder)):
            cursor = self.positions.setdefault(folder.name, [0, 0])
            files, strangers = batch_files(self.store, folder)
            for stranger in strangers:
                where = self.store.location(folder.name, stranger)
                log.warning("%s: not a batch file, ignored", where)
            files = [(number, stored) for number, stored in files if number >= cursor[0]]
            self.bytes_total += sum(stored.size for _, stored in files)
            writers.append(_Writer(len(writers), folder, cursor, files))
        return writers

    def _fill(self, batch: list[Item], max_items: int) -> None:
        """Merge into `batch` until it holds `max_items` or the input ends: by windows
        while every writer's file is in time order, else by runs (`_Writer.run_end`)."""
        heap = self._heap
        types: list[str] = []
        while len(batch) < max_items:
            while self._to_load:
                writer = self._to_load[0]
                if self._load(writer):
                    heapq.heappush(heap, (writer.times[0], writer.index, writer))
                del self._to_load[0]
            if not heap:
                break
            room = max_items - len(batch)
            if self.pace:
                if not self._due(heap[0][0], idle=not batch):
                    break
                room = 1
            elif len(heap) > 1 and all(entry[2].in_order for entry in heap):
                self._window(batch, types, room)
                continue
            writer = heap[0][2]
            start, stop = writer.head, min(len(writer.items), writer.head + room)
            if len(heap) == 1:
                end = stop
            else:
                end = writer.run_end(stop, heap[1] if len(heap) == 2 else min(heap[1], heap[2]))
            batch += writer.items[start:end]
            types += writer.types[start:end]
            if self._advance(writer, end):
                heapq.heapreplace(heap, (writer.times[end], writer.index, writer))
            else:
                heapq.heappop(heap)
        self.per_type.update(types)

    def _window(self, batch: list[Item], types: list[str], room: int) -> None:
        """Hand out, in merged order, every item up to the frontier: the earliest of the
        writers' last loaded items (ties: the lower index). With every file in time
        order, nothing any writer reads later can come before it, so a stable sort by
        time of the writers' slices (in writer order) is the item-by-item merge."""
        writers = [entry[2] for entry in sorted(self._heap, key=itemgetter(1))]
        frontier, last = min((writer.times[-1], writer.index) for writer in writers)
        times: list[datetime] = []
        items: list[Item] = []
        parts = []
        for writer in writers:
            cut = bisect_right if writer.index <= last else bisect_left
            end = cut(writer.times, frontier, writer.head)
            if end > writer.head:
                parts.append((writer, len(times), end))
                times += writer.times[writer.head : end]
                items += writer.items[writer.head : end]
        order = sorted(range(len(times)), key=times.__getitem__)
        if len(order) > room:  # the first `room`: a prefix of every writer's slice
            order = order[:room]
            taken = sorted(order)
            parts = [
                (writer, offset, writer.head + bisect_left(taken, offset + end - writer.head)
                 - bisect_left(taken, offset))
                for writer, offset, end in parts
            ]  # fmt: skip
        batch += [items[index] for index in order]
        heap = []
        for writer, _, end in parts:
            types += writer.types[writer.head : end]
            self._advance(writer, end)
        for writer in writers:
            if writer.head < len(writer.items):
                heap.append((writer.times[writer.head], writer.index, writer))
        heapq.heapify(heap)
        self._heap[:] = heap

    def _advance(self, writer: _Writer, end: int) -> bool:
        """The writer's items before `end` are handed out: move its head and cursor;
        False (and queued for its next file) when its file is used up."""
        if end == writer.head:
            return True
        writer.head = end
        if end < len(writer.items):
            self._pass(writer, writer.indexes[end - 1] + 1, writer.indexes[end])
            return True
        self._to_load.append(writer)
        self._pass(writer, writer.indexes[end - 1] + 1, writer.size)
        return False

    def _due(self, observed: datetime, *, idle: bool) -> bool:
        """Pace: whether the item observed at `observed` is due; if not and nothing is
        handed out yet, sleep a slice first (the runner stays responsive)."""
        if self._first_observed is None:
            self._first_observed, self._started = observed, time.monotonic()
        due = self._started + (observed - self._first_observed).total_seconds() / self.pace
        if (remaining := due - time.monotonic()) <= 0:
            return True
        if idle:
            self.sleep(min(remaining, PACE_SLICE_S))
            return due <= time.monotonic()
        return False

    def _owns(self, writer: WriterFolder) -> bool:
        """Parallel replay: each of `count` shards reads a stable share of the writers."""
        index, count = self.shard
        return count == 1 or zlib.crc32(writer.name.encode()) % count == index

    def _load(self, writer: _Writer) -> bool:
        """Read the writer's next file that holds a valid selected item; False when it
        has no more. Items before that one are passed (dead-lettered if bad). A
        `LakeError` leaves the cursor before the file it could not read."""
        keeps = self.selection.keeps if self.selection.has_time_range else None
        while writer.next_file < len(writer.files):
            number, stored = writer.files[writer.next_file]
            where = self.store.location(writer.folder.name, stored.name)
            decoded, infos = self._read_batch(writer.folder, stored, where)
            writer.next_file += 1
            first = writer.cursor[1] if writer.cursor[0] == number else 0
            items: list[Item] = []
            times: list[datetime] = []
            types: list[str] = []
            indexes: list[int] = []
            rejects: list[_Reject] = []
            keep_item, keep_time = items.append, times.append  # bound once per file
            keep_type, keep_index = types.append, indexes.append
            for index in range(first, len(decoded)):
                info = infos[index]
                if type(info) is not PostInfo:  # why the element is not a valid item
                    item = decoded[index]
                    if type(item) is BadElement:
                        rejects.append(_Reject(index, item.reason, raw=item.raw))
                    else:
                        rejects.append(_Reject(index, cast(str, info), item))
                    continue
                if keeps is None or keeps(info.observed_at):
                    keep_item(decoded[index])
                    keep_time(info.observed_at)
                    keep_type(info.type)
                    keep_index(index)
            writer.number, writer.size, writer.where = number, len(decoded), where
            writer.items, writer.times, writer.types, writer.indexes = items, times, types, indexes
            writer.in_order = all(map(le, times, islice(times, 1, None)))
            writer.head, writer.rejects, writer.reported = 0, rejects, 0
            writer.cursor[0], writer.cursor[1] = number, first
            self._pass(writer, first, indexes[0] if items else len(decoded))
            if items:
                return True
        return False

    def _pass(self, writer: _Writer, handed_out: int, upto: int) -> None:
        """Move the writer's cursor past what was handed out (file index `handed_out`)
        and on to `upto`, dead-lettering the bad items it passes; past the end of the
        file, to the next file."""
        writer.cursor[1] = handed_out
        rejects = writer.rejects
        while writer.reported < len(rejects) and rejects[writer.reported].index < upto:
            bad = rejects[writer.reported]
            self._reject(f"{writer.where} item {bad.index}", bad.reason, bad.item, raw=bad.raw)
            writer.reported += 1
            writer.cursor[1] = bad.index + 1
        if upto >= writer.size:
            writer.cursor[0], writer.cursor[1] = writer.number + 1, 0
        else:
            writer.cursor[1] = upto

    def _read_batch(
        self, writer: WriterFolder, stored: StoredFile, where: str
    ) -> tuple[list[Any], Sequence[PostInfo | str]]:
        """The elements of one file and, for each, its identity or why it is not a valid
        item; a damaged file is reported. Decoded items, or (`hand_out_encoded`) items
        as their JSON text. A `LakeError` (the store did not give the bytes) propagates:
        it stops the replay before this file."""
        if self.encoded:
            items, infos, problem = read_batch_encoded(self.store, writer.name, stored)
        else:
            items, problem = read_batch(self.store, writer.name, stored)
            infos = list(map(identity, items))
        self.bytes_read += stored.size
        self.files_read += 1
        if problem:
            self._reject(where, problem)
        return items, infos

    def hand_out_encoded(self) -> bool:
        """From the next file on, hand out items as their stored JSON text (a file the
        fast path cannot vouch for: decoded). Validation, order, dead letters and
        positions are the same; only what no one reads is not decoded."""
        self.encoded = True
        return True

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
