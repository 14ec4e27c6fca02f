"""Each spout and bolt driven through the real multilang protocol over pipes."""

from __future__ import annotations

import json
import time

import pytest

from multilang import Component, context
from pgtest import checksums
from shoot2top.lake.store import LocalStore
from shoot2top.runtime.topology import items_of, pipeline_of, plan
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.loader import WarehouseLoader
from waits import wait_for

pytestmark = pytest.mark.slow  # Python components over pipes, a process each


@pytest.fixture
def conf(tmp_path, sample_lake, pg_dsn, monkeypatch):
    monkeypatch.setenv("STORM_TEST_DSN", pg_dsn)
    config = tmp_path / "pipeline.json"
    config.write_text(json.dumps({
        "name": "replay",
        "state_dir": str(tmp_path / "state"),
        "storm": {"max_spout_pending": 50, "items_per_tuple": 10, "max_fails": 1},
        "sources": [{"type": "lake", "name": "sample", "uri": str(sample_lake)}],
        "sinks": [
            {"type": "lake", "name": "archive", "uri": str(tmp_path / "out"), "batch_items": 40},
            {"type": "postgres", "name": "warehouse", "dsn": "${STORM_TEST_DSN}",
             "batch_items": 40},
        ],
    }))  # fmt: skip
    return plan(config).storm_conf


def test_the_topology_carries_secret_references_not_secrets(conf, pg_dsn):
    assert pipeline_of(conf).sinks[1].dsn.variable == "STORM_TEST_DSN"
    assert pg_dsn not in json.dumps(conf)


def test_spout_emits_with_ids_replays_failures_and_checkpoints_on_ack(conf, tmp_path, sample_lake):
    spout = Component("spouts.source.SourceSpout", conf, context("sample"), tmp_path / "pids")
    emitted = []
    while len(emitted) < 10:
        batch = spout.next()
        if not batch:
            break
        emitted += batch
    assert len(emitted) == 5  # 50 items pending at most (max_spout_pending), 10 a tuple
    assert all(m["command"] == "emit" and "id" in m for m in emitted)
    first = emitted[0]
    spout.spout_answer("fail", first["id"])
    assert spout.next() == []  # re-emitted after a backoff (0.5 s), not at once
    failed_at = time.monotonic()
    (again,) = wait_for(spout.next, "the failed tuple emitted again", timeout=5)
    assert time.monotonic() - failed_at >= 0.4
    assert (again["id"], again["tuple"][0]) == (first["id"], first["tuple"][0])
    spout.spout_answer("fail", first["id"])  # second failure: max_fails=1, dead-lettered
    for message in emitted[1:]:
        spout.spout_answer("ack", message["id"])
    spout.close()
    dead = (tmp_path / "state" / "replay" / "deadletter.jsonl").read_text().splitlines()
    assert len(dead) == 10 and all("failed 2 times downstream" in line for line in dead)
    items = [i for i in LakeSource(LocalStore(sample_lake)) if i is not None]
    assert [item for m in emitted for item in items_of(m["tuple"][0])] == items[:50]


def answers_until(bolt, wanted, seconds=20.0):
    """Tick and heartbeat the bolt until it answered `wanted` tuples (acks or fails)."""
    answers = []
    deadline = time.monotonic() + seconds
    while len(answers) < wanted and time.monotonic() < deadline:
        bolt.tick()
        answers += bolt.heartbeat()
        time.sleep(0.1)
    return answers


def test_bolts_ack_only_durable_items_and_load_what_they_ack(
    conf, tmp_path, pg_dsn, postgres_server, sample_lake
):
    items = [i for i in LakeSource(LocalStore(sample_lake)) if i is not None][:100]
    for name in ("archive", "warehouse"):
        bolt = Component("bolts.sink.SinkBolt", conf, context(name), tmp_path / "pids")
        for index, item in enumerate(items[:90]):
            bolt.tuple(f"t{index}", [item])
        early = bolt.heartbeat()  # two full batches of 40 at most, never the open one
        assert all(m["command"] == "ack" for m in early) and len(early) <= 80
        if name == "archive":  # what is acked is in complete lake files already
            stored = [i for i in LakeSource(LocalStore(tmp_path / "out")) if i is not None]
            assert len(stored) >= len(early)
        for index, item in enumerate(items[90:], start=90):
            bolt.tuple(f"t{index}", [item])
        answers = early + answers_until(bolt, 100 - len(early))  # the last 20: 1 s batch age
        assert [m["command"] for m in answers] == ["ack"] * 100
        assert [m["id"] for m in answers] == [f"t{i}" for i in range(100)]
        bolt.close()
    stored = [i for i in LakeSource(LocalStore(tmp_path / "out")) if i is not None]
    assert sorted(map(canonical, stored)) == sorted(map(canonical, items))
    clean = postgres_server.new_database(migrated=True)
    WarehouseLoader(clean).load(items)
    assert checksums(pg_dsn) == checksums(clean)


def canonical(item):
    return json.dumps(item, sort_keys=True)


def test_a_bolt_fails_its_tuples_when_the_warehouse_is_down(tmp_path, sample_lake, monkeypatch):
    monkeypatch.setenv("STORM_TEST_DSN", "postgresql://nobody@127.0.0.1:9/none")
    config = tmp_path / "down.json"
    config.write_text(json.dumps({
        "name": "down", "state_dir": str(tmp_path / "state"),
        "sources": [{"type": "lake", "name": "sample", "uri": str(sample_lake)}],
        "sinks": [{"type": "postgres", "name": "warehouse", "dsn": "${STORM_TEST_DSN}",
                   "batch_items": 2, "max_retry_s": 0, "migrate": False}],
    }))  # fmt: skip
    bolt = Component(
        "bolts.sink.SinkBolt", plan(config).storm_conf, context("warehouse"), tmp_path / "p"
    )
    items = [i for i in LakeSource(LocalStore(sample_lake)) if i is not None][:2]
    bolt.tuple("a", [items[0]])
    bolt.tuple("b", [items[1]])
    answers = answers_until(bolt, 2)
    assert sorted((m["command"], m["id"]) for m in answers) == [("fail", "a"), ("fail", "b")]
    bolt.close()
