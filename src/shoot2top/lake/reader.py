"""Reading the lake: which writer folders a selection covers, and what a file holds.

Shared by replay, ``lake stats`` and ``lake verify`` so that all three agree on what a
damaged file is.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shoot2top import codec
from shoot2top.lake.layout import WriterFolder, file_number, is_writer_folder, matches
from shoot2top.lake.store import LakeStore, StoredFile
from shoot2top.limits import MAX_BATCH_BYTES

GZIP_MAGIC = b"\x1f\x8b"
_LIMIT = f"more than the {MAX_BATCH_BYTES // 1024 // 1024} MiB a micro-batch may hold"


@dataclass(frozen=True, slots=True)
class Selection:
    """Which partitions to read: a folder-name glob and/or an observed-time range."""

    glob: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def has_time_range(self) -> bool:
        return self.since is not None or self.until is not None

    def covers(self, folder: WriterFolder) -> bool:
        """Folders are chosen by glob only: a folder's start is when it was *written*,
        and a replayed or late item can be observed long before that, so a time range
        must read every folder the glob selects (narrow it with a glob when you can)."""
        return matches(folder, self.glob)

    def keeps(self, observed: datetime) -> bool:
        if self.since is not None and observed < self.since:
            return False
        return self.until is None or observed < self.until


def select_writers(store: LakeStore, selection: Selection) -> tuple[list[WriterFolder], list[str]]:
    """Selected writer folders in time order, and the names that are not writer folders."""
    writers, strangers = [], []
    for name in store.list_folders():
        if is_writer_folder(name):
            folder = WriterFolder.parse(name)
            if selection.covers(folder):
                writers.append(folder)
        elif not name.startswith("."):
            strangers.append(name)
    return sorted(writers), strangers


def batch_files(
    store: LakeStore, folder: WriterFolder
) -> tuple[list[tuple[int, StoredFile]], list[str]]:
    """A writer's micro-batch files by number, and the names that are not batch files."""
    numbered, strangers = [], []
    for stored in store.list_files(folder.name):
        number = file_number(stored.name)
        if number is None:
            strangers.append(stored.name)
        else:
            numbered.append((number, stored))
    return sorted(numbered, key=lambda pair: pair[0]), strangers


def read_batch(store: LakeStore, folder: str, stored: StoredFile) -> tuple[list[Any], str | None]:
    """Read and decode one micro-batch file (see `decode_batch`). A file larger than
    `MAX_BATCH_BYTES` is refused unread. A failure to *read* is not damage: it raises
    `LakeError` (`LakeUnavailable` once the store's retries are spent)."""
    if stored.size > MAX_BATCH_BYTES:
        return [], f"too large: the file is {stored.size:,} bytes, {_LIMIT}; not read"
    return decode_batch(store.read(folder, stored.name, limit=MAX_BATCH_BYTES))


def decode_batch(data: bytes) -> tuple[list[Any], str | None]:
    """The items of one micro-batch file and, if it is damaged, what is wrong with it.

    A damaged file yields the complete items that precede the damage, so no valid item
    is lost to a truncated write; an item that is bad on its own (invalid UTF-8, too
    deep…) is a `BadElement` in the list, in its place, and the items after it survive.
    Gzip is inflated in one bounded step: never more than `MAX_BATCH_BYTES` of output.
    """
    if not data:
        return [], "empty file (0 bytes)"
    problem = None
    if data.startswith(GZIP_MAGIC):
        inflated, problem = _inflate(data)
        if inflated is None:
            return [], problem
        data = inflated
    if len(data) > MAX_BATCH_BYTES:
        return [], f"too large: more than {len(data) - 1:,} bytes, {_LIMIT}"
    try:
        value = codec.loads_exact(data)
    except codec.DecodeError:
        salvaged = codec.salvage(data)
        problems = [reason for reason in (problem, salvaged.problem) if reason]
        return salvaged.items, "; ".join(problems) or None
    if not isinstance(value, list):
        return [], f"not a JSON array but a JSON {type(value).__name__}"
    return value, problem


def _inflate(data: bytes) -> tuple[bytes | None, str | None]:
    """Gzip members inflated up to `MAX_BATCH_BYTES` + 1 bytes, and what is wrong."""
    out: list[bytes] = []
    size = 0
    rest = data
    while rest:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = inflater.decompress(rest, MAX_BATCH_BYTES + 1 - size)
        except zlib.error as error:
            return None, f"corrupt gzip data: {error}"
        out.append(chunk)
        size += len(chunk)
        if size > MAX_BATCH_BYTES:
            return None, (
                f"too large: inflates to more than {MAX_BATCH_BYTES:,} bytes, {_LIMIT} "
                "(a decompression bomb?); not inflated further"
            )
        if not inflater.eof:
            return b"".join(out), "truncated gzip stream"
        rest = inflater.unused_data
        if rest and not rest.startswith(GZIP_MAGIC):
            return b"".join(out), f"{len(rest)} stray bytes after the gzip stream"
    return b"".join(out), None
