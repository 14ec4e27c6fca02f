"""Waiting on a condition instead of sleeping: tests synchronise with what they wait for
(a checkpoint written, a file visible, a log line), so they are neither flaky on a slow
machine nor slow on a fast one."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shoot2top import codec


def wait_for(
    condition: Callable[[], Any],
    what: str,
    *,
    timeout: float = 60.0,
    every: float = 0.05,
    process: subprocess.Popen | None = None,
) -> Any:
    """Poll `condition` until it returns something truthy, and return that; fail naming
    `what` after `timeout` s, or as soon as `process` (if given) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if process is not None and process.poll() is not None:
            raise AssertionError(f"waiting for {what}: the process exited ({process.returncode})")
        if time.monotonic() > deadline:
            raise AssertionError(f"waiting for {what}: not reached within {timeout:g} s")
        time.sleep(every)


def checkpointed_items(checkpoint: Path) -> int:
    """How far a lake replay's saved checkpoint has come (0 before the first one):
    the sum over writer folders of (file number, item index), enough to see progress."""
    try:
        state = codec.loads(checkpoint.read_bytes())
    except (OSError, codec.DecodeError):
        return 0
    positions = [
        position
        for source in state.get("sources", {}).values()
        for position in source.get("positions", {}).values()
    ]
    return sum(number * 1000 + index for number, index in positions)


def visible_files(root: Path) -> int:
    """Complete micro-batch files in a local lake (temp files are dot names)."""
    return sum(1 for path in root.glob("*/[!.]*") if path.is_file())


def text_in(path: Path, needle: str) -> bool:
    try:
        return needle in path.read_text(errors="replace")
    except OSError:
        return False
