"""The dead-letter report: what could not be processed, where, and why.

Bad input never stops a stream: a component records the offending file or item here
(append-only JSON lines in the state directory) and goes on.

Each record is one ``write`` of one whole line to a file opened for appending, so
records never interleave. A write the disk cuts short (full disk, quota) is rolled back
when possible and always raises `DeadLetterError` naming the file: the caller stops
before moving past the input it could not record. A torn line left by a crash is
skipped by `entries` (and counted), and the next record starts on a line of its own.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shoot2top import codec
from shoot2top.posts import format_time

log = logging.getLogger(__name__)


class DeadLetterError(RuntimeError):
    """A record could not be written; the message names the file and the component."""


class DeadLetters:
    """Append-only JSON-lines file of rejected inputs; keeps a count per run."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)
        self.count = 0
        self.torn = 0  # lines `entries` could not read (a write cut short by a crash)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._line_open = False  # the file may end inside a torn record

    def record(
        self,
        component: str,
        where: str,
        reason: str,
        item: Any | None = None,
        *,
        raw: str | None = None,
    ) -> None:
        """Record one rejected file or item. `item` is kept as JSON when it can be
        encoded, else as faithful JSON text under ``item_text``; `raw` is the undecodable
        text of an input that never became an item."""
        entry: dict[str, Any] = {
            "at": format_time(datetime.now(UTC)),
            "component": component,
            "where": where,
            "reason": reason,
        }
        if raw is not None:
            entry["raw"] = raw
        if item is not None:
            entry["item"] = item
        try:
            line = codec.dumps(entry)
        except codec.EncodeError:
            del entry["item"]
            entry["item_text"] = codec.dead_letter_text(item)
            line = codec.dumps(entry)
        with self._lock:
            self.count += 1
            if self.path is not None:
                self._append(component, line + b"\n")

    def _append(self, component: str, line: bytes) -> None:
        assert self.path is not None
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
                self._line_open = _ends_inside_a_line(self._fd)
            if self._line_open:
                line = b"\n" + line  # never glue a record onto a torn one
            start = os.fstat(self._fd).st_size
            written = os.write(self._fd, line)
            if written < len(line):  # the disk filled up mid-record
                self._roll_back(start, written)
                raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (a record cut short)")
            self._line_open = False
        except OSError as error:
            raise DeadLetterError(
                f"dead-letter report {self.path}: cannot append a record from {component!r}: "
                f"{error.strerror or error}"
            ) from error

    def _roll_back(self, start: int, written: int) -> None:
        """Remove a partial record if nothing was appended after it; else leave it torn."""
        assert self._fd is not None
        try:
            if os.fstat(self._fd).st_size == start + written:
                os.ftruncate(self._fd, start)
                return
        except OSError:
            pass
        self._line_open = True

    def sync(self) -> None:
        """Make every record so far durable (before a checkpoint moves past them)."""
        with self._lock:
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError as error:
                    raise DeadLetterError(
                        f"dead-letter report {self.path}: cannot sync: {error.strerror}"
                    ) from error

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def entries(self) -> list[dict[str, Any]]:
        """Every readable record in the file (for reports and tests); torn lines are
        skipped, counted in `torn` and logged."""
        if self.path is None or not self.path.exists():
            return []
        records, self.torn = [], 0
        for number, line in enumerate(self.path.read_bytes().splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(codec.loads(line))
            except codec.DecodeError:
                self.torn += 1
                log.warning("%s line %d: a torn record (cut short), skipped", self.path, number)
        return records


def _ends_inside_a_line(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"
