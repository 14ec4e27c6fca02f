"""Writing the lake: one writer's micro-batches, numbered files in partition folders.

The writer keeps the open batch (already-encoded items), closes it by item count or
encoded size, and publishes it as the next numbered file of its folder, atomically and
only if absent (`LakeStore.create`). It starts its folder at the rotation boundary (hour
or day, UTC) of the time it is given, and a fresh folder, with a new uuid, when that
time crosses the next boundary or the file numbers run out. What a file holds is
`encode_batch`'s JSON array, the inverse of `lake.reader.decode_batch`. Which time to
rotate by, and when an item is durable, is the caller's (the lake sink's) business.
"""

from __future__ import annotations

import gzip
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate

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


def encode_batch(encoded_items: list[codec.Buffer], *, compress: bool = False) -> bytes:
    """A micro-batch file's bytes: the items as one JSON array, gzip-compressed if asked
    (level 6, no timestamp: the same items give the same bytes)."""
    data = codec.encode_array(encoded_items)
    return gzip.compress(data, compresslevel=6, mtime=0) if compress else data


@dataclass(frozen=True, slots=True)
class Sealed:
    """A closed batch on its way to the store: where it goes, its bytes, its items."""

    folder: str
    name: str
    data: bytes
    items: list[codec.Buffer]


class LakeWriter:
    """One writer instance: an open batch, its current folder and next file number."""

    def __init__(
        self,
        store: LakeStore,
        *,
        rotation: str = "hour",
        batch_items: int = 1000,
        batch_bytes: int = 8 * 1024 * 1024,
        compress: bool = False,
        new_writer_id: Callable[[], str] | None = None,
        name: str = "lake",
    ) -> None:
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
        self.new_writer_id = new_writer_id
        self.folder: WriterFolder | None = None
        self.rotate_at = float("-inf")
        """When (epoch s) the current partition ends: `rotate` must come first then."""
        self.next_number = 0
        self.files_written = 0
        self.bytes_written = 0
        self.batch: list[codec.Buffer] = []
        self.batch_size = 0  # encoded bytes of the open batch, a separator each

    def rotate(self, now: float) -> None:
        """Start the partition `now` (epoch s) falls in, in a new writer folder. Publish
        the open batch first: it belongs to the partition that ended."""
        start = partition_start(datetime.fromtimestamp(now, UTC), self.rotation)
        self._open_folder(start)

    def add(self, encoded: codec.Buffer) -> bool:
        """Put one encoded item in the open batch; True when the batch is full."""
        self.batch.append(encoded)
        self.batch_size += len(encoded) + 1
        return self.full

    @property
    def full(self) -> bool:
        """The open batch reached its item count or encoded size: seal it before adding
        more (it stays full if its store failed)."""
        return len(self.batch) >= self.batch_items or self.batch_size >= self.batch_bytes

    def add_many(self, encoded: list[codec.Buffer], start: int = 0) -> tuple[int, bool]:
        """Put `encoded[start:]` in the open batch until it is full, as `add` one by one
        would; returns how many it took and whether the batch is full."""
        room = self.batch_items - len(self.batch)
        chunk = encoded[start : start + room]
        if not chunk:
            return 0, room <= 0
        sizes = list(accumulate(map((1).__add__, map(len, chunk))))  # with separators
        taken = min(bisect_left(sizes, self.batch_bytes - self.batch_size) + 1, len(chunk))
        self.batch += chunk[:taken]
        self.batch_size += sizes[taken - 1]
        return taken, self.full

    def publish(self) -> None:
        """Store the open batch as the folder's next file and empty it; raise (keeping
        the batch) if the store cannot. A retried write whose first attempt did land is
        fine if the file holds these bytes."""
        sealed = self.seal()
        if sealed is None:  # everything since the last file was dead-lettered
            return
        try:
            self.store_sealed(sealed)
        except BaseException:
            self.unseal(sealed)
            raise

    def seal(self) -> Sealed | None:
        """Close the open batch: its file's bytes, under the folder's next number, and
        empty it; None if it holds nothing. `store_sealed` stores it (on any thread)."""
        if not self.batch:
            return None
        if self.folder is None:
            raise ValueError("a lake writer publishes only after `rotate` opened a folder")
        if self.next_number > MAX_FILE_NUMBER:
            self._open_folder(self.folder.start)  # same partition, a fresh writer folder
        data = encode_batch(self.batch, compress=self.compress)
        sealed = Sealed(self.folder.name, file_name(self.next_number), data, self.batch)
        self.next_number += 1
        self.batch = []
        self.batch_size = 0
        return sealed

    def unseal(self, sealed: Sealed) -> None:
        """Put back the last sealed batch that could not be stored (nothing was added or
        sealed since), so that the next `publish` tries the same file again."""
        self.batch = sealed.items
        self.batch_size = sum(map(len, sealed.items)) + len(sealed.items)
        self.next_number -= 1

    def store_sealed(self, sealed: Sealed) -> None:
        """Create the sealed batch's file; raise if the store cannot. A retried write
        whose first attempt did land is fine if the file holds these bytes."""
        try:
            self.store.create(sealed.folder, sealed.name, sealed.data)
        except FileExists:
            if self.store.read(sealed.folder, sealed.name) != sealed.data:
                raise
        self.files_written += 1
        self.bytes_written += len(sealed.data)

    def _open_folder(self, start: datetime) -> None:
        writer_id = self.new_writer_id() if self.new_writer_id else None
        self.folder = WriterFolder.new(start, writer_id)
        self.rotate_at = (start + ROTATIONS[self.rotation]).timestamp()
        self.next_number = 0
