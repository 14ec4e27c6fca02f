"""Where a pipeline keeps its state: checkpoints and the dead-letter report.

<state_dir>/<pipeline name>/checkpoint.json    resume state of every source
<state_dir>/<pipeline name>/deadletter.jsonl   rejected files and items
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shoot2top import codec


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(temp, "wb") as handle:
            handle.write(codec.dumps_pretty({"version": 1, "sources": sources}))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)
        fsync_directory(self.path.parent)


def fsync_directory(path: Path) -> None:
    """Make a rename or link in `path` durable (POSIX needs the directory synced too)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def pipeline_dir(state_dir: str | Path, pipeline: str) -> Path:
    return Path(state_dir) / pipeline
