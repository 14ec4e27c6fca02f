"""What the Storm tests share: the environment `.tools/env.sh` sets up, and how much the
warehouse holds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from shoot2top.warehouse.database import connect

REPO = Path(__file__).parents[1]
TOOLS = REPO / ".tools"


def storm_env() -> dict[str, str]:
    """The environment .tools/env.sh sets up, with the project's virtualenv first."""
    if not (TOOLS / "env.sh").exists():
        if os.environ.get("SHOOT2TOP_SKIP_STORM") == "1":
            pytest.skip("SHOOT2TOP_SKIP_STORM=1 and Storm is not installed")
        pytest.fail("Storm is not installed: run scripts/install-storm.sh (scripts/test.sh does)")
    dump = subprocess.run(
        ["bash", "-c", f". {TOOLS / 'env.sh'} && env -0"], capture_output=True, check=True
    ).stdout.decode()
    env = dict(line.split("=", 1) for line in dump.split("\0") if "=" in line)
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{env['PATH']}"
    return env


def snapshot_count(dsn: str) -> int:
    """Rows in metric_snapshots: one per loaded observation."""
    connection = connect(dsn)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM metric_snapshots")
            (count,) = cursor.fetchone()
    finally:
        connection.close()
    return count
