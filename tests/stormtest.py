"""What the Storm tests share: the environment `.tools/env.sh` sets up, running `sparse
run` as users do, and waiting for the warehouse to fill."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from shoot2top import codec
from shoot2top.lake.store import LocalStore
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import connect

REPO = Path(__file__).parents[1]
TOOLS = REPO / ".tools"


def storm_env() -> dict[str, str]:
    """The environment .tools/env.sh sets up, with the project's virtualenv first."""
    if not (TOOLS / "env.sh").exists():
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


def replay_finished(state_dir: Path, pipeline: str, source: str, lake: Path) -> Callable[[], bool]:
    """A condition: the spout of `source` saved the checkpoint of a finished replay of
    `lake`. It saves that only once every tuple was acked by every bolt, so from then on
    nothing is in flight and nothing more can be delivered: counts are final."""
    replay = LakeSource(LocalStore(lake))
    for _ in replay:
        pass
    expected = replay.snapshot()
    path = state_dir / pipeline / f"checkpoint-{source}.json"

    def finished() -> bool:
        try:
            return codec.loads(path.read_bytes())["sources"][source] == expected
        except (OSError, ValueError, KeyError):
            return False

    return finished


def delivery_sink(lake: Path) -> dict[str, object]:
    """A lake sink beside the warehouse that records every delivery (see
    `factories.deliveries`), so that a test can see a double."""
    return {"type": "lake", "name": "deliveries", "uri": str(lake), "batch_age_s": 0.2}


@contextmanager
def sparse_run(topology: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`sparse run -n TOPOLOGY -e local -t 0` as users type it, logging to `log`; killed
    with everything it started when the block ends."""
    with log.open("w") as output:
        process = subprocess.Popen(
            ["sparse", "run", "-n", topology, "-e", "local", "-t", "0"],
            cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until(
    reached: Callable[[], bool], process: subprocess.Popen, seconds: float, every: float = 2.0
) -> bool:
    """Poll `reached` until it holds, the process exits or `seconds` pass; a database
    not yet reachable counts as not reached."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if reached():
                return True
        except Exception:
            pass
        time.sleep(every)
    return False


def log_tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(errors="replace")[-chars:]
