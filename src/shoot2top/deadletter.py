"""The dead-letter report: what could not be processed, where, and why.

Bad input never stops a stream: a component records the offending file or item here
(append-only JSON lines in the state directory) and goes on.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shoot2top import codec
from shoot2top.posts import format_time


class DeadLetters:
    """Append-only JSON-lines file of rejected inputs; keeps a count per run."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)
        self.count = 0
        self._lock = threading.Lock()

    def record(self, component: str, where: str, reason: str, item: Any | None = None) -> None:
        """Record one rejected file or item; `item` is kept as-is when it is JSON-able."""
        entry: dict[str, Any] = {
            "at": format_time(datetime.now(UTC)),
            "component": component,
            "where": where,
            "reason": reason,
        }
        if item is not None:
            entry["item"] = item
        try:
            line = codec.dumps(entry)
        except codec.EncodeError:
            entry["item"] = repr(item)
            line = codec.dumps(entry)
        with self._lock:
            self.count += 1
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "ab") as handle:
                    handle.write(line + b"\n")

    def entries(self) -> list[dict[str, Any]]:
        """Every record in the file (for reports and tests)."""
        if self.path is None or not self.path.exists():
            return []
        return [codec.loads(line) for line in self.path.read_bytes().splitlines() if line]
