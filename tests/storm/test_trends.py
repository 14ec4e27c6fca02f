"""The trends topology on real Apache Storm gives the in-process stage's trend events:
`sparse run -n trends -e local` with 1, 2 and 4 detector tasks, at pace 0 and 60, and
replayed twice; and on a local cluster (`sparse submit`) with the worker hosting the
detector tasks SIGKILLed mid-replay (restore from the tasks' state files)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from shoot2top.lake.store import LocalStore
from shoot2top.sample.lake import write_sample_lake
from stormtest import REPO, log_tail, replay_finished, sparse_run, storm_env, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

# Three hours around the sample's planted #midnightdrop (onset 08:00): a short warm-up
# so that the window has trends, and a lateness that covers an hourly partition's
# writers read one after the other.
SINCE, UNTIL = "2026-11-20T06:00:00Z", "2026-11-20T09:00:00Z"
TRENDS = {"type": "trends", "name": "trends", "lateness_s": 3600, "warmup_s": 1800}


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
        "storm": {"max_spout_pending": 50000, "message_timeout_s": 120, "max_fails": 1000},
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


def in_process(tmp: Path, lake: Path) -> list[str]:
    out = tmp / "in-process.jsonl"
    config = pipeline(tmp, lake, "in-process", out)
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


def test_storm_gives_the_in_process_events_with_1_2_4_detectors(tmp_path, trend_lake):
    expected = in_process(tmp_path, trend_lake)
    for parallelism in (1, 2, 4):
        out = on_storm(tmp_path, trend_lake, f"storm-p{parallelism}", parallelism)
        assert distinct(out) == expected, f"{parallelism} detector task(s)"


def test_storm_at_pace_60_and_replayed_twice_gives_the_same_events(tmp_path, trend_lake):
    expected = in_process(tmp_path, trend_lake)
    out = on_storm(tmp_path, trend_lake, "storm-pace60", 2, pace=60)
    assert distinct(out) == expected
    first = out.read_text().splitlines()
    shutil.rmtree(tmp_path / "state" / "storm-pace60")  # from the start again
    on_storm(tmp_path, trend_lake, "storm-pace60", 2, pace=60)
    second = out.read_text().splitlines()[len(first) :]
    assert sorted(second) == sorted(first)  # the same emissions again (two detector
    # tasks' events reach the events task in either order)


def test_a_killed_detector_worker_is_restored_to_the_clean_events(
    tmp_path, trend_lake, storm_cluster
):
    """`sparse submit` to a local cluster, two workers, two detector tasks; SIGKILL a
    detector's Python process mid-replay (Storm restarts its whole worker). Each task
    resumes from its state file, the spout resends what was not acked: the events are
    the in-process (clean) run's."""
    from stormcluster import wait_for_supervisor

    expected = in_process(tmp_path, trend_lake)
    name = "cluster-trends"
    out = tmp_path / f"{name}.jsonl"
    config = pipeline(tmp_path, trend_lake, name, out, pace=200)
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
