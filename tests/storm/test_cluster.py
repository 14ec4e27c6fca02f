"""The replay topology on a real single-node Storm cluster (ZooKeeper, Nimbus and a
Supervisor on loopback), submitted the way users submit it: `sparse submit -e cluster`.

The daemons are module-wide; each test passes its warehouse to the workers through the
topology's `topology.environment` (Storm adds it to the environment of the worker JVMs,
whose Python subprocesses inherit it), so the daemons need no per-test environment."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from factories import deliveries, observations
from pgtest import checksums
from shoot2top.lake.store import LocalStore
from shoot2top.runtime.delivery import CHECKPOINT_EVERY
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.loader import WarehouseLoader
from stormcluster import StormCluster, tail, wait_for_supervisor
from stormtest import delivery_sink, replay_finished, snapshot_count
from waits import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


TOPOLOGY = "replay"


def loaded_or_zero(dsn: str) -> int:
    try:
        return snapshot_count(dsn)
    except Exception:
        return 0


def lake_items(sample_lake: Path) -> tuple[list, int]:
    items = [item for item in LakeSource(LocalStore(sample_lake)) if item is not None]
    return items, len({json.dumps(item, sort_keys=True) for item in items})


def wait_until_finished(cluster: StormCluster, finished, seconds: float, log: Path) -> None:
    """Until the spout saved the checkpoint of a finished replay (every tuple acked)."""

    def done() -> bool:
        cluster.check_daemons()
        return finished()

    try:
        wait_for(done, "the end of the replay", timeout=seconds, every=1)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{tail(log)}\n{cluster.diagnostics()}") from None


def nimbus_figures(port: int) -> list[dict] | None:
    """The topology's rows of `shoot2top dashboard`'s Storm table, once its spout has
    reported acked tuples (workers send their figures every few seconds)."""
    from shoot2top.dashboard.nimbus import topology_stats

    rows = [row for row in topology_stats("127.0.0.1", port) if row["topology"] == TOPOLOGY]
    acked = any(row["kind"] == "spout" and row["acked"] > 0 for row in rows)
    return rows if acked else None


def test_sparse_submit_replay_on_a_cluster_fills_the_warehouse(
    tmp_path, storm_cluster, sample_lake, postgres_server
):
    items, expected = lake_items(sample_lake)
    pipeline = tmp_path / "replay.json"
    pipeline.write_text(json.dumps({
        "name": "cluster-replay",
        "state_dir": str(tmp_path / "state"),
        "storm": {"max_spout_pending": 500},
        "sources": [{"type": "lake", "name": "sample", "uri": str(sample_lake)}],
        "sinks": [{"type": "postgres", "name": "warehouse", "batch_items": 200,
                   "batch_age_s": 0.5}, delivery_sink(tmp_path / "out")],
    }))  # fmt: skip
    dsn = postgres_server.new_database(migrated=True)
    wait_for_supervisor(storm_cluster)
    log = tmp_path / "sparse-submit.log"
    finished = replay_finished(tmp_path / "state", "cluster-replay", "sample", sample_lake)
    try:
        storm_cluster.submit(pipeline, dsn, log)
        wait_until_finished(storm_cluster, finished, 420, log)
        assert snapshot_count(dsn) == expected
        # the dashboard's pipeline health reads the topology's figures from Nimbus
        rows = wait_for(lambda: nimbus_figures(storm_cluster.nimbus_port), "Nimbus's figures",
                        timeout=120)  # fmt: skip
        kinds = {row["component"]: row["kind"] for row in rows}
        assert "spout" in kinds.values() and "bolt" in kinds.values(), rows
        assert all(row["failed"] == 0 for row in rows), rows
    finally:
        storm_cluster.kill_topology(TOPOLOGY)
    # Nothing failed or timed out: each item was delivered exactly once.
    assert deliveries(tmp_path / "out") == observations(items)
    clean = postgres_server.new_database(migrated=True)
    WarehouseLoader(clean).load(items)
    assert checksums(dsn) == checksums(clean)
    assert not (tmp_path / "state" / "cluster-replay" / "deadletter.jsonl").exists()


def test_a_killed_python_bolt_is_restarted_with_nothing_lost_or_doubled(
    tmp_path, storm_cluster, sample_lake, postgres_server
):
    items, expected = lake_items(sample_lake)
    pipeline = tmp_path / "crash.json"
    pipeline.write_text(json.dumps({
        "name": "cluster-crash",
        "state_dir": str(tmp_path / "state"),
        "storm": {"max_spout_pending": 200, "max_fails": 1000},
        "sources": [{"type": "lake", "name": "sample", "uri": str(sample_lake),
                     "pace": 20000}],
        "sinks": [{"type": "postgres", "name": "warehouse", "batch_items": 20,
                   "batch_age_s": 0.3}, delivery_sink(tmp_path / "out")],
    }))  # fmt: skip
    dsn = postgres_server.new_database(migrated=True)
    wait_for_supervisor(storm_cluster)
    log = tmp_path / "sparse-submit.log"
    finished = replay_finished(tmp_path / "state", "cluster-crash", "sample", sample_lake)
    try:
        storm_cluster.submit(pipeline, dsn, log)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and loaded_or_zero(dsn) < expected // 4:
            storm_cluster.check_daemons()
            time.sleep(0.2)
        bolts = storm_cluster.sink_bolts()
        before = loaded_or_zero(dsn)
        assert 0 < before < expected, (
            f"kill the bolt mid-replay: {before} of {expected} loaded\n"
            f"{storm_cluster.diagnostics()}"
        )
        assert len(bolts) == 2, f"SinkBolt processes: {bolts}\n{storm_cluster.diagnostics()}"
        os.kill(bolts[0], signal.SIGKILL)  # Storm restarts its whole worker
        wait_until_finished(storm_cluster, finished, 600, log)
        restarted = storm_cluster.sink_bolts()
        assert restarted and bolts[0] not in restarted, (bolts, restarted)
        assert snapshot_count(dsn) == expected
    finally:
        storm_cluster.kill_topology(TOPOLOGY)
    # At-least-once: every item arrived; what arrives twice is bounded by what the
    # restarted spout can send again: the items after its last saved checkpoint
    # (one checkpoint interval, rounded up to a tuple) and those still in flight.
    delivered, sent = deliveries(tmp_path / "out"), observations(items)
    assert set(delivered) == set(sent)
    assert all(delivered[key] >= count for key, count in sent.items())
    bound = CHECKPOINT_EVERY + 100 + 200  # + items_per_tuple + max_spout_pending
    assert delivered.total() - sent.total() <= bound, delivered.total() - sent.total()
    clean = postgres_server.new_database(migrated=True)
    WarehouseLoader(clean).load(items)
    assert checksums(dsn) == checksums(clean)
    assert not (tmp_path / "state" / "cluster-crash" / "deadletter.jsonl").exists()
