"""What is in a lake: listing (no reads), statistics and verification (every file read).

Backs ``shoot2top lake ls|stats|verify``. Verification reports sequence gaps, damaged
files, non-conforming items and stray names, each by its address.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shoot2top.codec import BadElement
from shoot2top.lake.layout import PARTITION_TIME_FORMAT, WriterFolder
from shoot2top.lake.reader import Selection, batch_files, read_batch, select_writers
from shoot2top.lake.store import LakeError, LakeStore, LakeUnavailable
from shoot2top.posts import InvalidPost, describe, format_time


@dataclass
class PartitionListing:
    """One partition (a start time) across all the writers that started it."""

    start: str
    writers: int = 0
    files: int = 0
    bytes: int = 0


def list_partitions(store: LakeStore, selection: Selection) -> list[PartitionListing]:
    """Partitions, writers, files and bytes, from listings alone."""
    writers, _ = select_writers(store, selection)
    partitions: dict[str, PartitionListing] = {}
    for writer in writers:
        start = writer.start.strftime(PARTITION_TIME_FORMAT)
        listing = partitions.setdefault(start, PartitionListing(start))
        files, _ = batch_files(store, writer)
        listing.writers += 1
        listing.files += len(files)
        listing.bytes += sum(stored.size for _, stored in files)
    return list(partitions.values())


@dataclass
class LakeStats:
    """Contents of the selected partitions, from reading every file."""

    partitions: int = 0
    writers: int = 0
    files: int = 0
    bytes: int = 0
    items: int = 0
    per_type: Counter[str] = field(default_factory=Counter)
    first_observed: datetime | None = None
    last_observed: datetime | None = None
    first_created: datetime | None = None
    last_created: datetime | None = None
    problems: list[dict[str, str]] = field(default_factory=list)

    def count(self, observed: datetime, created: datetime, kind: str) -> None:
        self.items += 1
        self.per_type[kind] += 1
        self.first_observed = min(filter(None, (self.first_observed, observed)))
        self.last_observed = max(filter(None, (self.last_observed, observed)))
        self.first_created = min(filter(None, (self.first_created, created)))
        self.last_created = max(filter(None, (self.last_created, created)))

    def problem(self, where: str, kind: str, detail: str) -> None:
        self.problems.append({"where": where, "problem": kind, "detail": detail})

    def as_json(self) -> dict[str, Any]:
        def when(moment: datetime | None) -> str | None:
            return None if moment is None else format_time(moment)

        return {
            "partitions": self.partitions,
            "writers": self.writers,
            "files": self.files,
            "bytes": self.bytes,
            "items": self.items,
            "per_type": dict(sorted(self.per_type.items())),
            "observed": [when(self.first_observed), when(self.last_observed)],
            "created": [when(self.first_created), when(self.last_created)],
            "problems": self.problems,
        }


def scan(
    store: LakeStore,
    selection: Selection,
    on_file: Callable[[int], None] | None = None,
) -> LakeStats:
    """Read every selected file: counts, time ranges and every problem found."""
    stats = LakeStats()
    writers, strangers = select_writers(store, selection)
    for name in strangers:
        stats.problem(store.location(name), "stray", "not a partition folder (<start>-<uuid4>)")
    stats.writers = len(writers)
    stats.partitions = len({writer.start for writer in writers})
    for writer in writers:
        _scan_writer(store, writer, selection, stats, on_file)
    return stats


def _scan_writer(
    store: LakeStore,
    writer: WriterFolder,
    selection: Selection,
    stats: LakeStats,
    on_file: Callable[[int], None] | None,
) -> None:
    files, strangers = batch_files(store, writer)
    for name in strangers:
        stats.problem(store.location(writer.name, name), "stray", "not a batch file (0000000)")
    expected = 0
    for number, stored in files:
        where = store.location(writer.name, stored.name)
        if number != expected:
            missing = (
                f"{expected:07d}" if number == expected + 1 else f"{expected:07d}..{number - 1:07d}"
            )
            stats.problem(store.location(writer.name), "gap", f"missing file(s) {missing}")
        expected = number + 1
        stats.files += 1
        stats.bytes += stored.size
        if on_file:
            on_file(stored.size)
        try:
            items, damage = read_batch(store, writer.name, stored)
        except LakeUnavailable:
            raise  # the store is down: nothing more can be verified
        except LakeError as error:
            stats.problem(where, "unreadable", str(error))
            continue
        if damage:
            stats.problem(where, "damaged", damage)
        for index, item in enumerate(items):
            if isinstance(item, BadElement):
                stats.problem(f"{where} item {index}", "damaged item", item.reason)
                continue
            try:
                info = describe(item)
            except InvalidPost as error:
                stats.problem(f"{where} item {index}", "invalid item", str(error))
                continue
            if selection.keeps(info.observed_at):
                stats.count(info.observed_at, info.created_at, info.type)
