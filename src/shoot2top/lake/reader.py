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

GZIP_MAGIC = b"\x1f\x8b"


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


def decode_batch(data: bytes) -> tuple[list[Any], str | None]:
    """The items of one micro-batch file and, if it is damaged, what is wrong with it.

    A damaged file yields the complete items that precede the damage, so no valid item
    is lost to a truncated write.
    """
    if not data:
        return [], "empty file (0 bytes)"
    problem = None
    if data.startswith(GZIP_MAGIC):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data)
        except zlib.error as error:
            return [], f"corrupt gzip data: {error}"
        if not inflater.eof:
            problem = "truncated gzip stream"
    try:
        value = codec.loads(data)
    except codec.DecodeError as error:
        items = codec.salvage_array(data)
        reason = problem or f"malformed JSON: {error}"
        return items, f"{reason}; recovered {len(items)} complete items before the damage"
    if not isinstance(value, list):
        return [], f"not a JSON array but a JSON {type(value).__name__}"
    return value, problem
