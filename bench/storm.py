"""The replay topology on Storm local mode against the in-process runner, same data.

Writes N generated items (unique observations) into a scratch lake, then loads them into
fresh databases of one PostgreSQL (embedded unless --dsn/SHOOT2TOP_DSN), alternating:
through `sparse run -n replay -e local` (real Storm 2.8.3, the `storm` shim from
scripts/install-storm.sh) and through `shoot2top ingest` in-process, each --rounds times.
Both sides are timed the same way, by the same poller of the warehouse: from the first
committed item to the last committed item of the N (so JVM, topology and interpreter
start-up are excluded on both), and verified the same way afterwards: every item is in
the warehouse and both databases hold identical contents. Figures are medians.

    . .tools/env.sh && python bench/storm.py [--items 100000] [--rounds 3] [--dsn DSN]

Last line: {"items_per_s", "inprocess_items_per_s", "ratio_to_inprocess", "p50_ms",
"p99_ms", ...}; p50/p99 are spout-emit to warehouse-commit latencies of items replayed at
a fixed 1,000 items/s (`storm.latency_log`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from lake import make_items  # noqa: E402
from shoot2top.lake.store import LocalStore  # noqa: E402
from shoot2top.posts import OBSERVED_AT, format_time  # noqa: E402
from shoot2top.sinks.lake import LakeSink  # noqa: E402
from shoot2top.warehouse.database import (  # noqa: E402
    DSN_VARIABLE,
    connect,
    embedded_dsn,
    stop_embedded,
)
from shoot2top.warehouse.schema import migrate  # noqa: E402
from warehouse import fingerprint  # noqa: E402

GOAL_RATIO_TO_INPROCESS = 0.8
GOAL_P99_MS = 1500
POLL_S = 0.2


def write_lake(root: Path, count: int) -> None:
    """`count` items one millisecond apart, so every observation is unique."""
    start = datetime(2026, 11, 20, tzinfo=UTC)
    sink = LakeSink(LocalStore(root, fsync=False), rotation="day", batch_items=2000,
                    batch_age_s=3600, clock=lambda: start.timestamp())  # fmt: skip
    for index, item in enumerate(make_items(count)):
        item[OBSERVED_AT] = format_time(start + timedelta(milliseconds=index))
        sink.write(item)
    sink.close()


def new_database(server: str) -> str:
    import psycopg2.extensions

    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = connect(server)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    admin.close()
    parsed = psycopg2.extensions.parse_dsn(server)
    parsed["dbname"] = name
    dsn = psycopg2.extensions.make_dsn(**parsed)
    connection = connect(dsn)
    migrate(connection)
    connection.close()
    return dsn


def loaded(dsn: str) -> int:
    connection = connect(dsn)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM metric_snapshots")
        (count,) = cursor.fetchone()
    connection.close()
    return count


def pipeline(
    path: Path,
    lake: Path,
    state: Path,
    pace: float = 0,
    latency_log: Path | None = None,
    tasks: int = 1,
) -> Path:
    # Items in flight: several warehouse batches, so the bolt fills one while the
    # previous one commits.
    storm: dict[str, Any] = {"max_spout_pending": 20_000}
    if latency_log is not None:
        storm["latency_log"] = str(latency_log)
    path.write_text(json.dumps({
        "name": path.stem,
        "state_dir": str(state),
        "storm": storm,
        "sources": [{"type": "lake", "name": "lake", "uri": str(lake), "pace": pace}],
        "sinks": [{"type": "postgres", "name": "warehouse", "batch_items": 5000,
                   "batch_age_s": 0.5, "parallelism": tasks}],
    }))  # fmt: skip
    return path


def timed_load(
    command: list[str],
    env: dict[str, str],
    dsn: str,
    count: int,
    log: Path,
    settled: Callable[[], bool] = lambda: True,
) -> float:
    """Run `command` and poll the warehouse: seconds from the first committed item to the
    last of `count` (extrapolated over the items the first poll already found). The
    same clock for both sides; the process is killed once all are in (Storm runs on)
    and `settled()` (waited for up to 10 s more, untimed)."""
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        first = None
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            seen = loaded(dsn)
            now = time.monotonic()
            if seen and first is None:
                first = (now, seen)
            if seen >= count:
                assert first is not None
                if first[1] >= count:
                    raise RuntimeError(f"all {count} items came in one commit: use more --items")
                until = time.monotonic() + 10
                while not settled() and time.monotonic() < until:
                    time.sleep(POLL_S)
                return (now - first[0]) * count / (count - first[1])
            if process.poll() is not None and loaded(dsn) < count:
                raise RuntimeError(f"{command[0]} exited with {loaded(dsn)} of {count}; see {log}")
            time.sleep(POLL_S)
        raise TimeoutError(f"loaded {loaded(dsn)} of {count} items; see {log}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def storm_run(
    config: Path, dsn: str, count: int, log: Path, settled: Callable[[], bool] = lambda: True
) -> float:
    env = {**os.environ, "SHOOT2TOP_PIPELINE": str(config), DSN_VARIABLE: dsn,
           "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"}  # fmt: skip
    command = ["sparse", "run", "-n", "replay", "-e", "local", "-t", "0"]
    return timed_load(command, env, dsn, count, log, settled)


def inprocess_run(config: Path, dsn: str, count: int, log: Path) -> float:
    env = {**os.environ, DSN_VARIABLE: dsn}
    command = [sys.executable, "-m", "shoot2top.cli", "ingest", "--config", str(config),
               "--quiet", "--no-resume"]  # fmt: skip
    return timed_load(command, env, dsn, count, log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side, alternating")
    parser.add_argument("--latency-items", type=int, default=20_000, help="at 1,000 items/s")
    parser.add_argument("--dsn", default=None)
    parser.add_argument("--warehouse-tasks", type=int, default=1, help="warehouse bolt tasks")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    server = args.dsn or os.environ.get(DSN_VARIABLE) or embedded_dsn(scratch / "pg")
    try:
        write_lake(scratch / "lake", args.items)
        load_before = os.getloadavg()[0]
        rounds: list[dict[str, float]] = []
        reference: dict[str, Any] | None = None
        for number in range(args.rounds):
            seconds = {}
            sides = [("storm", storm_run), ("inprocess", inprocess_run)]
            for name, run in sides if number % 2 == 0 else sides[::-1]:
                dsn, run_name = new_database(server), f"{name}-{number}"
                config = pipeline(scratch / f"{run_name}.json", scratch / "lake",
                                  scratch / "state", tasks=args.warehouse_tasks)  # fmt: skip
                seconds[name] = run(config, dsn, args.items, scratch / f"{run_name}.log")
                # verified after the timed run: every item, and the same contents
                contents = fingerprint(dsn)
                assert loaded(dsn) == args.items, (name, loaded(dsn))
                reference = reference or contents
                assert contents == reference, f"{name} round {number + 1} differs"
            rounds.append(seconds)
            print(f"round {number + 1}/{args.rounds}: storm {seconds['storm']:.1f} s, "
                  f"in-process {seconds['inprocess']:.1f} s", flush=True)  # fmt: skip
        storm_s = statistics.median(r["storm"] for r in rounds)
        inprocess_s = statistics.median(r["inprocess"] for r in rounds)
        ratio = statistics.median(r["inprocess"] / r["storm"] for r in rounds)
        # Latency: items 1 ms apart replayed at real time (pace 1) = 1,000 items/s; the
        # bolts log each item's spout-emit to warehouse-commit latency.
        write_lake(scratch / "paced-lake", args.latency_items)
        latencies = scratch / "latency.txt"
        paced = pipeline(scratch / "paced.json", scratch / "paced-lake", scratch / "state",
                         pace=1.0, latency_log=latencies)  # fmt: skip

        def logged() -> int:  # every item's latency: the last acks come after the load
            return len(latencies.read_text().split()) if latencies.exists() else 0

        storm_run(paced, new_database(server), args.latency_items, scratch / "paced.log",
                  settled=lambda: logged() >= args.latency_items)  # fmt: skip
        values = sorted(float(line) for line in latencies.read_text().split())
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        summary: dict[str, Any] = {
            "items": args.items,
            "rounds": args.rounds,
            "warehouse_tasks": args.warehouse_tasks,
            "items_per_s": round(args.items / storm_s),
            "inprocess_items_per_s": round(args.items / inprocess_s),
            "ratio_to_inprocess": round(ratio, 3),
            "latency_items": len(values),
            "latency_rate_items_per_s": 1000,
            "p50_ms": round(statistics.median(values), 1),
            "p99_ms": round(p99, 1),
            "goal_ratio_to_inprocess": GOAL_RATIO_TO_INPROCESS,
            "goal_p99_ms": GOAL_P99_MS,
            "meets_goals": ratio >= GOAL_RATIO_TO_INPROCESS and p99 <= GOAL_P99_MS,
            "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        print(json.dumps(summary))
    finally:
        if not (args.dsn or os.environ.get(DSN_VARIABLE)):
            stop_embedded(scratch / "pg")
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
