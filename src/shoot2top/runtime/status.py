"""What a running pipeline is doing, for the dashboard's pipeline-health view.

The in-process runner replaces ``<state_dir>/<name>/status.json`` at every checkpoint
and at the end: items and items/s per source and per sink (stored, i.e. durable), bytes
read of the total when known, how old the newest item a source gave is (its lag), and
the dead letters so far. A status is a report, not state: nothing reads it to resume,
so it is written without fsync.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shoot2top import codec
from shoot2top.posts import describe, format_time
from shoot2top.runtime.state import replace_file

STATUS_FILE = "status.json"


class StatusFile:
    """Writes a pipeline's status; rates are over the interval since the last write."""

    def __init__(self, home: Path, pipeline: str, checkpoint_interval_s: float) -> None:
        self.path = home / STATUS_FILE
        self.pipeline = pipeline
        self.checkpoint_interval_s = checkpoint_interval_s
        self.started_at = datetime.now(UTC)
        self._previous: dict[str, int] = {}
        self._previous_at = time.monotonic()

    def save(self, pipeline: Any, stopped_by: str | None = None) -> None:
        """Write the status of `pipeline` (a `Pipeline`); errors are not the run's
        problem: a status that cannot be written is skipped."""
        now = time.monotonic()
        elapsed = max(now - self._previous_at, 1e-6)
        counts: dict[str, int] = {}

        def rate(key: str, count: int) -> float:
            counts[key] = count
            return round((count - self._previous.get(key, 0)) / elapsed, 1)

        wall = datetime.now(UTC)
        sources = {}
        for source in pipeline.sources:
            items = pipeline.items_per_source.get(source.name, 0)
            newest = _observed(pipeline.last_item_per_source.get(source.name))
            sources[source.name] = {
                "items": items,
                "items_per_s": rate(f"source:{source.name}", items),
                "bytes_read": source.bytes_read,
                "bytes_total": source.bytes_total,
                "newest_observed_at": format_time(newest) if newest else None,
                "lag_s": round((wall - newest).total_seconds(), 1) if newest else None,
            }
        sinks = {
            sink.name: {
                "stored": sink.durable_ticket,
                "items_per_s": rate(f"sink:{sink.name}", sink.durable_ticket),
                "pending": sink.pending,
            }
            for sink in pipeline.sinks
        }
        status = {
            "pipeline": self.pipeline,
            "pid": os.getpid(),
            "started_at": format_time(self.started_at),
            "updated_at": format_time(wall),
            "checkpoint_interval_s": self.checkpoint_interval_s,
            "running": stopped_by is None,
            "stopped_by": stopped_by,
            "sources": sources,
            "sinks": sinks,
            "dead_letters": pipeline.dead_letters.count if pipeline.dead_letters else 0,
        }
        try:
            replace_file(self.path, codec.dumps_pretty(status), durable=False)
        except OSError:
            return
        self._previous, self._previous_at = counts, now


def _observed(item: Any) -> datetime | None:
    if item is None:
        return None
    try:
        if not isinstance(item, dict):  # an item moved as its JSON text
            item = codec.loads_exact(memoryview(item))
        return describe(item).observed_at
    except Exception:  # a status must never fail a run
        return None


def read_statuses(state_dir: str | Path) -> list[dict[str, Any]]:
    """The status of every pipeline in a state directory (unreadable ones skipped)."""
    found = []
    for path in sorted(Path(state_dir).glob(f"*/{STATUS_FILE}")):
        try:
            found.append(codec.loads(path.read_bytes()))
        except (OSError, codec.DecodeError):
            continue
    return found
