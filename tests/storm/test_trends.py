"""The trends topology on real Apache Storm gives the in-process stage's trend events:
`sparse run -n trends -e local` with 1 and 4 detector tasks at pace 0 (the same replay
twice); and on a local cluster (`sparse submit`) with 2 detector tasks at pace 60, the
worker hosting a detector task SIGKILLed mid-replay (restore from the tasks' state
files).

Kept short for CI (docs/trends.md has the times): the in-process events are computed
once, each run checks what it can (1 then 4 detectors at pace 0 are the replay twice;
the kill runs 2 detectors at pace 60), the window is 105 minutes, and the test
topologies' tuple timeout is 30 s, so the tuples a killed worker held are replayed
after 30 s, not 120."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from shoot2top.lake.store import LocalStore
from shoot2top.sample.lake import write_sample_lake
from stormtest import REPO, log_tail, replay_finished, sparse_run, storm_env, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# 105 minutes around the sample's planted #midnightdrop (onset 08:00): a short warm-up
# so that the window has trends, and a lateness that covers an hourly partition's
# writers read one after the other.
SINCE, UNTIL = "2026-11-20T06:45:00Z", "2026-11-20T08:30:00Z"
TRENDS = {"type": "trends", "name": "trends", "lateness_s": 3600, "warmup_s": 1800}
MESSAGE_TIMEOUT_S = 30  # topology.message.timeout.secs: a lost tuple is replayed after it


@pytest.fixture(scope="module")
def trend_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trends") / "lake"
    write_sample_lake(LocalStore(root), items=20000, rotation="hour")
    return root


def pipeline(
    tmp: Path, lake: Path, name: str, out: Path, pace: float = 0, parallelism: int = 2
) -> Path:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps({
        "name": name,
        "state_dir": str(tmp / "state"),
        "storm": {"max_spout_pending": 50000, "message_timeout_s": MESSAGE_TIMEOUT_S,
                  "max_fails": 1000},
        "sources": [{"type": "lake", "name": "sample", "uri": str(lake), "since": SINCE,
                     "until": UNTIL, "pace": pace}],
        "sinks": [{"type": "lake", "name": "items", "uri": str(tmp / f"{name}-items")}],
        "analytics": [{**TRENDS, "parallelism": parallelism,
                       "sinks": [{"type": "file", "name": "trend-file", "path": str(out)}]}],
    }))  # fmt: skip
    return path


def distinct(path: Path) -> list[str]:
    """The distinct event records of a trends file, in a stable order."""
    lines = path.read_text().splitlines() if path.exists() else []
    return sorted({json.dumps(json.loads(line), sort_keys=True) for line in lines})


@pytest.fixture(scope="module")
def expected(trend_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The in-process stage's events of the window (`shoot2top ingest`), once."""
    tmp = tmp_path_factory.mktemp("in-process")
    out = tmp / "in-process.jsonl"
    config = pipeline(tmp, trend_lake, "in-process", out)
    subprocess.run([str(REPO / ".venv" / "bin" / "shoot2top"), "ingest", "--config",
                    str(config), "--no-resume"], check=True, capture_output=True)  # fmt: skip
    events = distinct(out)
    assert events, "the window has no trend events: the comparison would prove nothing"
    return events


def on_storm(tmp: Path, lake: Path, name: str, parallelism: int, pace: float = 0) -> Path:
    """One `sparse run -n trends -e local` of the replay to its end; its events file."""
    out = tmp / f"{name}.jsonl"
    config = pipeline(tmp, lake, name, out, pace, parallelism)
    env = {**storm_env(), "SHOOT2TOP_PIPELINE": str(config)}
    log = tmp / f"{name}.log"
    finished = replay_finished(tmp / "state", name, "sample", lake)
    with sparse_run("trends", env, log) as process:
        assert wait_until(finished, process, 600), f"{name} did not finish\n{log_tail(log)}"
    return out


def test_storm_gives_the_in_process_events_with_1_and_4_detectors_replayed_twice(
    tmp_path, trend_lake, expected
):
    """The window replayed twice, with 1 then 4 detector tasks: each gives the
    in-process events, and the second gives exactly the first's emissions (each once;
    four tasks' events reach the events task in any order)."""
    first = on_storm(tmp_path, trend_lake, "storm-p1", 1)
    assert distinct(first) == expected, "1 detector task"
    second = on_storm(tmp_path, trend_lake, "storm-p4", 4)
    assert distinct(second) == expected, "4 detector tasks"
    assert sorted(second.read_text().splitlines()) == sorted(first.read_text().splitlines())


def test_a_killed_detector_worker_is_restored_to_the_clean_events(
    tmp_path, trend_lake, storm_cluster, expected
):
    """`sparse submit` to a local cluster, two workers, two detector tasks, at pace 60;
    SIGKILL a detector's Python process mid-replay (Storm restarts its whole worker).
    Each task resumes from its state file, the spout resends what was not acked: the
    events are the in-process (clean) run's — which also shows pace 60 gives them."""
    from stormcluster import wait_for_supervisor

    name = "cluster-trends"
    out = tmp_path / f"{name}.jsonl"
    config = pipeline(tmp_path, trend_lake, name, out, pace=60)
    settings = json.loads(config.read_text())
    settings["storm"]["workers"] = 2
    config.write_text(json.dumps(settings))
    state = tmp_path / "state" / name
    finished = replay_finished(tmp_path / "state", name, "sample", trend_lake)
    log = tmp_path / "submit.log"
    wait_for_supervisor(storm_cluster)
    try:
        storm_cluster.submit(config, "postgresql:///unused", log, topology="trends")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not list(state.glob("trends-trends-detect-*.json")):
            storm_cluster.check_daemons()
            time.sleep(0.5)
        mine = set(storm_cluster.processes())
        detectors = [pid for pid in detector_processes() if pid in mine]
        assert detectors and not finished(), (
            f"kill a detector mid-replay: {detectors}\n{storm_cluster.diagnostics()}"
        )
        kill(detectors[:1])  # its worker dies with it; Storm starts it again
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not finished():
            storm_cluster.check_daemons()
            time.sleep(1)
        assert finished(), f"the replay did not finish\n{storm_cluster.diagnostics()}"
        restarted = [pid for pid in detector_processes() if pid in set(storm_cluster.processes())]
        assert detectors[0] not in restarted, (detectors, restarted)
    finally:
        storm_cluster.kill_topology("trends")
    assert distinct(out) == expected


def detector_processes() -> list[int]:
    found = subprocess.run(["pgrep", "-f", "bolts.trends.DetectBolt"], capture_output=True,
                           text=True).stdout.split()  # fmt: skip
    return [int(pid) for pid in found]


def kill(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
