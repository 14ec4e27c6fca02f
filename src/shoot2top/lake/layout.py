"""Names in the data lake, exactly as the original design lays them out.

    <root>/<partition start, UTC to the second>-<uuid4>/0000000, 0000001, ...

A *writer folder* holds one writer's micro-batches for one partition; writers that start
a partition at the same rotation boundary share its timestamp, so the glob
``2015-12-18T00:00:00-*`` selects that partition across every writer.
"""

from __future__ import annotations

import fnmatch
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PARTITION_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
FILE_NUMBER_DIGITS = 7
MAX_FILE_NUMBER = 10**FILE_NUMBER_DIGITS - 1
ROTATIONS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}

_WRITER_RE = re.compile(
    r"^(?P<start>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})-"
    r"(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
_FILE_RE = re.compile(r"^\d{7}$")


class LayoutError(ValueError):
    """A name does not follow the lake layout."""


@dataclass(frozen=True, order=True, slots=True)
class WriterFolder:
    """One writer's folder in one partition: ``<start>-<uuid>``."""

    start: datetime
    writer_id: str

    @property
    def name(self) -> str:
        return f"{self.start.strftime(PARTITION_TIME_FORMAT)}-{self.writer_id}"

    @classmethod
    def parse(cls, name: str) -> WriterFolder:
        match = _WRITER_RE.match(name)
        if not match:
            raise LayoutError(
                f"{name!r} is not a partition folder name (<YYYY-MM-DDTHH:MM:SS>-<uuid4>)"
            )
        start = datetime.strptime(match["start"], PARTITION_TIME_FORMAT).replace(tzinfo=UTC)
        return cls(start=start, writer_id=match["uuid"])

    @classmethod
    def new(cls, start: datetime, writer_id: str | None = None) -> WriterFolder:
        return cls(start=start, writer_id=writer_id or str(uuid.uuid4()))


def is_writer_folder(name: str) -> bool:
    return _WRITER_RE.match(name) is not None


def file_name(number: int) -> str:
    """``0000000`` for 0; numbers are per writer folder and never reused."""
    if not 0 <= number <= MAX_FILE_NUMBER:
        raise LayoutError(f"file number {number} is outside 0..{MAX_FILE_NUMBER}")
    return f"{number:0{FILE_NUMBER_DIGITS}d}"


def file_number(name: str) -> int | None:
    """The number of a micro-batch file, or None for anything else (temp files, indexes)."""
    return int(name) if _FILE_RE.match(name) else None


def partition_start(moment: datetime, rotation: str) -> datetime:
    """The rotation boundary at or before `moment`: where a writer starting now begins."""
    if rotation not in ROTATIONS:
        raise LayoutError(f"rotation {rotation!r} is not one of {sorted(ROTATIONS)}")
    moment = moment.astimezone(UTC)
    if rotation == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def matches(folder: WriterFolder, glob: str | None) -> bool:
    """Whether a writer folder is selected by a partition glob (None selects all)."""
    return glob is None or fnmatch.fnmatchcase(folder.name, glob)
