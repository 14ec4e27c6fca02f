import gc
import json
import sys
from pathlib import Path

import pytest

from factories import T0, tweet
from shoot2top import codec
from shoot2top.runtime import retry
from shoot2top.runtime.topology import (
    PIPELINE_KEY,
    acking_sink,
    items_of,
    pipeline_of,
    plan,
    tracked_source,
    tuple_of,
)
from shoot2top.warehouse.database import stop_embedded

REPO = Path(__file__).parents[2]


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "p.json"
    path.write_text(json.dumps({
        "name": "replay",
        "state_dir": "state",
        "storm": {"workers": 2, "max_spout_pending": 300, "message_timeout_s": 30},
        "sources": [{"type": "lake", "name": "sample", "uri": "lake", "parallelism": 2}],
        "sinks": [
            {"type": "lake", "name": "archive", "uri": "s3://bucket/lake", "parallelism": 3,
             "s3": {"secret_access_key": "${LAKE_SECRET}"}},
            {"type": "postgres", "name": "warehouse"},
        ],
    }))  # fmt: skip
    return path


def test_a_pipeline_config_becomes_spouts_bolts_and_storm_conf(config, tmp_path):
    wiring = plan(config)
    assert [(c.name, c.parallelism) for c in wiring.spouts] == [("sample", 2)]
    assert [(c.name, c.parallelism) for c in wiring.bolts] == [("archive", 3), ("warehouse", 1)]
    conf = wiring.storm_conf
    # 300 items pending at most (the spout counts them): as many tuples of one item
    assert conf["topology.workers"] == 2 and conf["topology.max.spout.pending"] == 300
    assert (
        conf["topology.message.timeout.secs"] == 30 and conf["topology.tick.tuple.freq.secs"] == 1
    )
    pipeline = pipeline_of(conf)
    assert pipeline.state_dir == str(tmp_path / "state")  # workers run elsewhere
    assert pipeline.sources[0].uri == str(tmp_path / "lake")
    assert pipeline.sinks[0].uri == "s3://bucket/lake"
    assert pipeline.sinks[0].s3.secret_access_key.variable == "LAKE_SECRET"
    assert "${" not in conf[PIPELINE_KEY]  # Flux would try to substitute it


def test_idle_executors_sleep_instead_of_parking_in_a_loop(config):
    conf = plan(config).storm_conf
    assert conf["topology.bolt.wait.progressive.level2.count"] == 0
    assert conf["topology.backpressure.wait.progressive.level2.count"] == 0


def test_trend_files_are_absolute_for_workers_in_other_directories(config, tmp_path):
    settings = json.loads(config.read_text())
    settings["analytics"] = [{"type": "trends", "sinks": [
        {"type": "file", "path": "out/trends.jsonl"}, {"type": "postgres"}]}]  # fmt: skip
    config.write_text(json.dumps(settings))
    sinks = pipeline_of(plan(config).storm_conf).analytics[0].sinks
    assert sinks[0].path == str(tmp_path / "out" / "trends.jsonl")
    assert sinks[1].type == "postgres"


def test_a_topology_without_the_pipeline_is_refused():
    with pytest.raises(KeyError, match="not a shoot2top topology"):
        pipeline_of({})


def test_a_component_missing_from_the_pipeline_config_is_named(config, monkeypatch):
    monkeypatch.setattr(retry, "_long_running", False)  # restored after: the worker's flag
    conf = plan(config).storm_conf
    with pytest.raises(KeyError, match=r"no source named 'live' \(its sources: 'sample'\)"):
        tracked_source(conf, "live", 0, 1)
    with pytest.raises(KeyError, match=r"no sink named 'db' \(its sinks: 'archive', 'warehouse'\)"):
        acking_sink(conf, "db")


def test_spout_and_bolt_processes_collect_as_seldom_as_the_runner_loop(
    config, monkeypatch, tmp_path
):
    monkeypatch.setattr(retry, "_long_running", False)
    conf, previous = plan(config).storm_conf, gc.get_threshold()
    try:
        for build in (lambda: tracked_source(conf, "sample", 0, 1),
                      lambda: acking_sink(conf, "warehouse")):  # fmt: skip
            gc.set_threshold(700, *previous[1:])
            build()
            assert gc.get_threshold()[0] == codec.COLLECT_EVERY
    finally:
        gc.set_threshold(*previous)
        stop_embedded(tmp_path / "state")  # the warehouse sink started one: no server left


def test_the_replay_topology_wires_the_config(config, monkeypatch):
    monkeypatch.setenv("SHOOT2TOP_PIPELINE", str(config))
    for path in (REPO / "src", REPO / "topologies"):
        monkeypatch.syspath_prepend(str(path))
    for module in ("replay", "_wiring"):
        sys.modules.pop(module, None)
    import replay

    topology = replay.Replay.thrift_topology
    assert list(topology.spouts) == ["sample"]
    assert list(topology.bolts) == ["archive", "warehouse"]
    assert topology.spouts["sample"].common.parallelism_hint == 2
    assert set(topology.bolts["warehouse"].common.inputs) != set()


def test_items_travel_as_one_compressed_string_with_their_key_order():
    items = [{"_source": "z", **tweet(str(n), T0)} for n in range(100)]
    values = tuple_of(items, 12.5)
    assert isinstance(values[0], str) and values[1] == 12.5
    # what the JVM parses and re-encodes twice per tuple: a fraction of the JSON
    assert len(values[0]) < len(codec.dumps(items)) / 3
    assert items_of(values[0]) == items and list(items_of(values[0])[0]) == list(items[0])


def test_tuples_from_other_spouts_are_read_as_they_come():
    items = [tweet("1", T0), tweet("2", T0)]
    assert items_of(codec.dumps(items).decode()) == items  # a JSON array string
    assert items_of(codec.dumps(items[0]).decode()) == [items[0]]  # a JSON object string
    assert items_of(items[0]) == [items[0]]  # an object
    assert items_of(items) == items  # a list of objects
