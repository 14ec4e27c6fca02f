"""The replay topology on real Apache Storm local mode, started the way users start it:
`sparse run -n replay -e local` (through the `storm` shim that scripts/install-storm.sh
installs). The warehouse it leaves must equal the in-process runner's, and a lake sink
beside it records every delivery, so that a double would show."""

from __future__ import annotations

import json

import pytest

from factories import deliveries, observations
from pgtest import checksums
from shoot2top.lake.store import LocalStore
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.loader import WarehouseLoader
from stormtest import (
    delivery_sink,
    log_tail,
    replay_finished,
    snapshot_count,
    sparse_run,
    storm_env,
    wait_until,
)
from waits import text_in, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_sparse_run_replay_fills_the_warehouse_like_the_in_process_runner(
    tmp_path, sample_lake, postgres_server
):
    items = [item for item in LakeSource(LocalStore(sample_lake)) if item is not None]
    expected = len({(json.dumps(item, sort_keys=True)) for item in items})
    pipeline = tmp_path / "replay.json"
    pipeline.write_text(json.dumps({
        "name": "storm-replay",
        "state_dir": str(tmp_path / "state"),
        "storm": {"max_spout_pending": 500},
        "sources": [{"type": "lake", "name": "sample", "uri": str(sample_lake)}],
        "sinks": [{"type": "postgres", "name": "warehouse", "batch_items": 200,
                   "batch_age_s": 0.5}, delivery_sink(tmp_path / "out")],
    }))  # fmt: skip
    dsn = postgres_server.new_database(migrated=True)
    env = {**storm_env(), "SHOOT2TOP_PIPELINE": str(pipeline), "SHOOT2TOP_DSN": dsn}
    log = tmp_path / "sparse.log"
    finished = replay_finished(tmp_path / "state", "storm-replay", "sample", sample_lake)
    with sparse_run("replay", env, log) as process:
        assert wait_until(finished, process, 420), f"the replay did not finish\n{log_tail(log)}"
        loaded = snapshot_count(dsn)
        assert loaded == expected, f"Storm loaded {loaded} of {expected} snapshots\n{log_tail(log)}"
        assert "storm local --local-ttl" in log.read_text()
    # Nothing failed, so at-least-once delivered each item exactly once.
    assert deliveries(tmp_path / "out") == observations(items)
    in_process = postgres_server.new_database(migrated=True)
    WarehouseLoader(in_process).load(items)
    assert checksums(dsn) == checksums(in_process)


def test_a_warehouse_outage_mid_run_fails_tuples_that_are_replayed_with_nothing_lost(
    tmp_path, sample_lake, postgres_server
):
    """The bolt gives up on a write after 1 s, fails its tuples, the spout sends them
    again; once PostgreSQL is back every item is there exactly once."""
    from pgtest import PostgresServer

    items = [item for item in LakeSource(LocalStore(sample_lake)) if item is not None]
    expected = len({(json.dumps(item, sort_keys=True)) for item in items})
    private = PostgresServer.private(tmp_path / "pg")
    dsn = private.new_database(migrated=True)
    pipeline = tmp_path / "outage.json"
    pipeline.write_text(json.dumps({
        "name": "storm-outage",
        "state_dir": str(tmp_path / "state"),
        "storm": {"max_spout_pending": 200, "max_fails": 1000},
        "sources": [{"type": "lake", "name": "sample", "uri": str(sample_lake), "pace": 15000}],
        "sinks": [{"type": "postgres", "name": "warehouse", "batch_items": 50,
                   "batch_age_s": 0.3, "max_retry_s": 1}, delivery_sink(tmp_path / "out")],
    }))  # fmt: skip
    env = {**storm_env(), "SHOOT2TOP_PIPELINE": str(pipeline), "SHOOT2TOP_DSN": dsn}
    log = tmp_path / "sparse.log"
    finished = replay_finished(tmp_path / "state", "storm-outage", "sample", sample_lake)
    with sparse_run("replay", env, log) as process:
        wait_until(lambda: snapshot_count(dsn) > 0, process, 300, every=0.5)
        before = snapshot_count(dsn)
        private.kill()
        # the spout saw the bolt's failures and scheduled the tuples again
        wait_for(lambda: text_in(log, "re-emitting"), "a replayed tuple", timeout=120,
                 every=0.5, process=process)  # fmt: skip
        private.restart()
        assert wait_until(finished, process, 300), f"the replay did not finish\n{log_tail(log)}"
        loaded = snapshot_count(dsn)
        assert 0 < before < expected, before
        assert loaded == expected, f"loaded {loaded} of {expected}\n{log_tail(log)}"
        assert not (tmp_path / "state" / "storm-outage" / "deadletter.jsonl").exists()
    assert "failing" in log.read_text()  # the warehouse bolt failed its pending tuples
    # Failed tuples went to every bolt again: the delivery lake holds every item, and
    # the replays show there as doubles (at-least-once, never fewer).
    delivered, sent = deliveries(tmp_path / "out"), observations(items)
    assert set(delivered) == set(sent)
    assert all(delivered[key] >= count for key, count in sent.items())
    assert delivered.total() > sent.total(), "no tuple was replayed"
    clean = postgres_server.new_database(migrated=True)
    WarehouseLoader(clean).load(items)
    try:
        assert checksums(dsn) == checksums(clean)
    finally:
        private.stop()
