"""The trends topology's wiring from a pipeline config: fields grouping on the term,
watermarks and end-of-input to every task, the detector parallelism, clear errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from shoot2top.analytics.events import TrendEvent
from shoot2top.analytics.topology import event_of, event_values, trends_plan
from shoot2top.config import ConfigError, parse_config

REPO = Path(__file__).parents[2]
PIPELINE = {
    "name": "t",
    "state_dir": "state",
    "sources": [{"type": "lake", "name": "sample", "uri": "lake"}],
    "sinks": [{"type": "lake", "name": "items", "uri": "out"}],
    "analytics": [{"type": "trends", "sinks": [{"type": "file", "path": "t.jsonl"}]}],
}


def load_trends(tmp_path, monkeypatch, parallelism: int):
    config = tmp_path / "p.json"
    stage = {**PIPELINE["analytics"][0], "parallelism": parallelism}
    config.write_text(json.dumps({**PIPELINE, "analytics": [stage]}))
    monkeypatch.setenv("SHOOT2TOP_PIPELINE", str(config))
    for path in (REPO / "src", REPO / "topologies"):
        monkeypatch.syspath_prepend(str(path))
    for module in ("trends", "_wiring"):
        sys.modules.pop(module, None)
    import trends

    return trends.Trends.thrift_topology


def test_the_trends_topology_groups_by_shard_and_sends_watermarks_to_all(tmp_path, monkeypatch):
    topology = load_trends(tmp_path, monkeypatch, 4)
    assert list(topology.spouts) == ["sample"]
    assert set(topology.bolts) == {"items", "trends-terms", "trends-detect", "trends-events"}
    detect = topology.bolts["trends-detect"].common
    assert detect.parallelism_hint == 4
    groupings = {(g.componentId, g.streamId): grouping for g, grouping in detect.inputs.items()}
    assert groupings[("trends-terms", "default")].fields == ["shard"]  # the term's shard
    assert groupings[("trends-terms", "watermarks")].all is not None
    terms = topology.bolts["trends-terms"].common
    assert terms.parallelism_hint == 1  # one event clock sees every item in order
    ends = {(g.componentId, g.streamId): grouping for g, grouping in terms.inputs.items()}
    assert ends[("sample", "end")].all is not None


def test_a_pipeline_without_a_trends_stage_is_refused_by_name() -> None:
    config = parse_config({k: v for k, v in PIPELINE.items() if k != "analytics"}, "p.json")
    with pytest.raises(ValueError, match=r"p\.json \('t'\) has no trends stage"):
        trends_plan(config, "p.json")


def test_a_bad_parallelism_is_refused_by_name() -> None:
    stage = {**PIPELINE["analytics"][0], "parallelism": 0}
    with pytest.raises(ConfigError, match=r"analytics\[0\]\.parallelism"):
        parse_config({**PIPELINE, "analytics": [stage]}, "p.json")


def test_a_component_name_taken_by_the_stage_is_refused() -> None:
    taken = {**PIPELINE, "sinks": [{"type": "lake", "name": "trends-events", "uri": "o"}]}
    with pytest.raises(ValueError, match="'trends-events' is taken"):
        trends_plan(parse_config(taken, "p.json"))


def test_an_event_crosses_the_wire_exactly() -> None:
    event = TrendEvent("midnightdrop", "hashtag", "all", 1.0, 2.0, 1.5, None, 7, 0.5, 7.25,
                       5, (("x", "1"), ("youtube", "v")), "signitrend")  # fmt: skip
    assert event_of(event_values(event)) == event


def test_a_live_pipeline_must_wait_longer_than_a_bucket_closes() -> None:
    live = {
        **PIPELINE,
        "sources": [{"type": "x", "name": "x", "bearer_token": "${T}", "topics": {"a": "#a"}}],
    }
    with pytest.raises(ValueError, match=r"storm\.message_timeout_s \(60\) must be at least"):
        trends_plan(parse_config(live, "p.json"), "p.json")
    live["storm"] = {"message_timeout_s": 1200}
    assert trends_plan(parse_config(live, "p.json")).parallelism == 2
