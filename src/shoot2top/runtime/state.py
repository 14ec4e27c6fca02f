"""Where a pipeline keeps its state: checkpoints, the dead-letter report and its lock.

<state_dir>/<pipeline name>/checkpoint.json    resume state of every source
<state_dir>/<pipeline name>/deadletter.jsonl   rejected files and items
<state_dir>/<pipeline name>/lock               held by the one run using this state
<state_dir>/<pipeline name>/status.json        what the run is doing (`shoot2top.runtime.status`)
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path
from typing import Any

from shoot2top import codec
from shoot2top.lake.store import fsync_directory

PIPELINE_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
"""A pipeline name: a single path component that is not hidden, '.' or '..'."""


class StateError(RuntimeError):
    """The state directory cannot be read or written; the message names the file."""


class Checkpoints:
    """The resume state of a pipeline's sources, replaced atomically on each save."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            state = codec.loads(self.path.read_bytes())
        except (OSError, codec.DecodeError) as error:
            raise StateError(
                f"checkpoint {self.path} is unreadable ({error}); move it away to start over"
            ) from None
        if not isinstance(state, dict) or not isinstance(state.get("sources"), dict):
            raise StateError(f"checkpoint {self.path} has no 'sources' object")
        return state["sources"]

    def save(self, sources: dict[str, dict[str, Any]]) -> None:
        """Replace the checkpoint at once; on failure the old one stays, with no temp file."""
        try:
            replace_file(self.path, codec.dumps_pretty({"version": 1, "sources": sources}))
        except OSError as error:
            raise StateError(
                f"cannot save checkpoint {self.path}: {error.strerror or error}; the previous "
                "checkpoint stays"
            ) from error

    def remove_stale_temp_files(self) -> None:
        """Remove the temp files of saves that a crash interrupted (only while holding the
        state's `StateLock`: no other run can be saving)."""
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            stale.unlink(missing_ok=True)


class StateLock:
    """An exclusive lock on a pipeline's state directory: one run at a time.

    A `flock` on ``<dir>/lock``, which holds the owner's pid for the message a second
    run prints. The kernel drops the lock when its process dies, SIGKILL included.
    """

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / "lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise StateError(f"cannot open the lock {self.path}: {error.strerror}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateError(
                f"the pipeline state {self.path.parent} is in use by process {holder} (it "
                f"holds {self.path}); stop it first, or give this run another name or "
                "state_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def replace_file(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace `path` with `data` at once (a temp file renamed over it): readers see the
    old or the new file, never half of one; `durable` also survives a power loss. On an
    `OSError` the old file stays and no temp file is left."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, path)
        if durable:
            fsync_directory(path.parent)
    finally:
        temp.unlink(missing_ok=True)


def pipeline_dir(state_dir: str | Path, pipeline: str) -> Path:
    """The pipeline's own directory in the state directory; a name that could point
    elsewhere ('..', 'a/b', '.hidden') is refused."""
    if not re.match(PIPELINE_NAME, pipeline):
        raise StateError(
            f"pipeline name {pipeline!r} must be letters, digits, '_', '.' or '-', not "
            "starting with '.' (it names a directory in the state directory)"
        )
    return Path(state_dir) / pipeline
