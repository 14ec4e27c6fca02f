"""Reading the lake: which writer folders a selection covers, and what a file holds.

Shared by replay, ``lake stats`` and ``lake verify`` so that all three agree on what a
damaged file is.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shoot2top import codec, encoded
from shoot2top.lake.layout import WriterFolder, file_number, is_writer_folder, matches
from shoot2top.lake.store import LakeStore, StoredFile
from shoot2top.limits import MAX_BATCH_BYTES
from shoot2top.posts import InvalidPost, PostInfo, describe

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
    data, problem = _read(store, folder, stored)
    return ([], problem) if data is None else decode_batch(data)


def _read(store: LakeStore, folder: str, stored: StoredFile) -> tuple[bytes | None, str | None]:
    """A file's bytes, or None and why it is not read (larger than `MAX_BATCH_BYTES`)."""
    if stored.size > MAX_BATCH_BYTES:
        return None, f"too large: the file is {stored.size:,} bytes, {_LIMIT}; not read"
    return store.read(folder, stored.name, limit=MAX_BATCH_BYTES), None


def decode_batch(data: bytes) -> tuple[list[Any], str | None]:
    """The items of one micro-batch file and, if it is damaged, what is wrong with it.

    A damaged file yields the complete items that precede the damage, so no valid item
    is lost to a truncated write; an item that is bad on its own (invalid UTF-8, too
    deep…) is a `BadElement` in the list, in its place, and the items after it survive.
    Gzip is inflated in one bounded step: never more than `MAX_BATCH_BYTES` of output.
    """
    array, problem = _array_bytes(data)
    if array is None:
        return [], problem
    try:
        value = codec.loads_exact(array)
    except codec.DecodeError:
        salvaged = codec.salvage(array)
        problems = [reason for reason in (problem, salvaged.problem) if reason]
        return salvaged.items, "; ".join(problems) or None
    if not isinstance(value, list):
        return [], f"not a JSON array but a JSON {type(value).__name__}"
    return value, problem


Described = tuple[list[Any], list[PostInfo | str], str | None]
"""A batch read for a runner moving JSON text: per element, the element (its stored text,
or decoded) and its identity, or why it is not a valid item; and the file's damage."""


def read_batch_encoded(store: LakeStore, folder: str, stored: StoredFile) -> Described:
    """`read_batch`, the items kept as their stored text (see `decode_batch_encoded`)."""
    data, problem = _read(store, folder, stored)
    return ([], [], problem) if data is None else decode_batch_encoded(data)


def decode_batch_encoded(data: bytes) -> Described:
    """The items of one micro-batch file, each with its identity: for a file orjson would
    decode, each item's stored text (`encoded`: nothing else decoded); for any other,
    exactly what `decode_batch` gives, decoded. An element that is not a valid item is
    what `decode_batch` gives of it (a value or a `BadElement`), with the reason."""
    array, problem = _array_bytes(data)
    if array is None or problem is not None:
        return _described_decoded(data)
    elements = encoded.split_array(array)
    if elements is None:
        return _described_decoded(data)
    items: list[Any] = elements
    reasons: list[PostInfo | str] = []
    for index, info in enumerate(encoded.describe_elements(array, elements)):
        if info is not None:
            reasons.append(info)
            continue
        try:  # the skeleton cannot tell: decode this one whole
            item, outcome = encoded.describe_exactly(elements[index])
        except codec.DecodeError:
            return _described_decoded(data)
        if isinstance(outcome, InvalidPost):
            if items is elements:
                items = list(elements)
            items[index] = item
            reasons.append(str(outcome))
        else:
            reasons.append(outcome)
    return items, reasons, None


def _described_decoded(data: bytes) -> Described:
    """`decode_batch_encoded` of a file the fast path cannot vouch for: its elements as
    `decode_batch` gives them, decoded (a sink encodes them, and refuses what it cannot
    encode, as for any decoded item)."""
    decoded, problem = decode_batch(data)
    return decoded, list(map(identity, decoded)), problem


def identity(element: Any) -> PostInfo | str:
    """A decoded element's identity, or why it is not a valid item."""
    if type(element) is codec.BadElement:
        return element.reason
    try:
        return describe(element)
    except InvalidPost as error:
        return str(error)


def _array_bytes(data: bytes) -> tuple[bytes | None, str | None]:
    """A file's JSON text (gzip inflated) and what is wrong with the file; None if it
    holds nothing to decode."""
    if not data:
        return None, "empty file (0 bytes)"
    problem = None
    if data.startswith(GZIP_MAGIC):
        inflated, problem = _inflate(data)
        if inflated is None:
            return None, problem
        data = inflated
    if len(data) > MAX_BATCH_BYTES:
        return None, f"too large: more than {len(data) - 1:,} bytes, {_LIMIT}"
    return data, problem


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
