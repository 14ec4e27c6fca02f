"""`shoot2top ingest` with a trends stage: events to a file and the warehouse's table,
the same as the library gives, and the same after a killed run is resumed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from shoot2top import codec
from shoot2top.analytics.stage import TrendStage
from shoot2top.lake.store import LocalStore
from shoot2top.recommend.trends import active_trends
from shoot2top.sample.lake import write_sample_lake
from shoot2top.sample.trends import planted_trends
from shoot2top.sample.world import DEFAULT_START
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import connect
from waits import wait_for

CLI = [sys.executable, "-m", "shoot2top.cli"]


@pytest.fixture(scope="module")
def trend_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trends") / "lake"
    write_sample_lake(LocalStore(root), items=12000)
    return root


def config(tmp_path: Path, lake: Path, sinks: list[dict], **source) -> Path:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps({
        "name": "t", "state_dir": str(tmp_path / "state"), "checkpoint_interval_s": 0.2,
        "sources": [{"type": "lake", "uri": str(lake), **source}],
        "sinks": [{"type": "lake", "uri": str(tmp_path / "out"), "fsync": False}],
        "analytics": [{"type": "trends", "sinks": sinks}],
    }))  # fmt: skip
    return path


def final(path: Path) -> dict[tuple, dict]:
    """The last emission of each event (the file is at least once: a replayed tail)."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return {(r["term"], r["kind"], r["scope"], r["onset_at"]): r for r in records}


def library(lake: Path) -> dict[tuple, dict]:
    stage = TrendStage()
    items = [item for item in LakeSource(LocalStore(lake)) if item is not None]
    events = stage.process(items) + stage.finish()
    return {(*e.identity[:3], e.to_record()["onset_at"]): e.to_record() for e in events}


@pytest.mark.slow
def test_ingest_sends_the_librarys_events_to_a_file_and_the_warehouse(
    tmp_path, trend_lake, pg_dsn
) -> None:
    events = tmp_path / "events.jsonl"
    sinks = [{"type": "file", "path": str(events)}, {"type": "postgres", "dsn": "${TEST_DSN}"}]
    run = subprocess.run(
        [*CLI, "ingest", "--config", str(config(tmp_path, trend_lake, sinks)), "--quiet"],
        capture_output=True, text=True, timeout=300, env={**_env(), "TEST_DSN": pg_dsn},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "analytics trends:" in run.stdout
    expected = library(trend_lake)
    assert final(events) == expected
    connection = connect(pg_dsn)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE status = 'ended') FROM trends")
        assert cursor.fetchone() == (len(expected), len(expected))
        cursor.execute("SELECT count(*) FROM reports.trends")
        assert cursor.fetchone()[0] == len(expected)
    for trend in planted_trends():  # what the recommendations read, while it lasts
        moment = trend.start.timestamp() + 1800
        active = active_trends(connection, datetime.fromtimestamp(moment, trend.start.tzinfo))
        assert (trend.term, trend.kind, "all") in {(a.term, a.kind, a.scope) for a in active}
    connection.close()


@pytest.mark.slow
def test_a_killed_run_resumed_gives_the_same_events(tmp_path, trend_lake) -> None:
    events = tmp_path / "events.jsonl"
    paced = config(tmp_path, trend_lake, [{"type": "file", "path": str(events)}], pace=3000)
    process = subprocess.Popen(
        [*CLI, "ingest", "--config", str(paced), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    checkpoint = tmp_path / "state" / "t" / "checkpoint.json"
    wait_for(lambda: _stage_buckets(checkpoint) > 100, "a checkpoint with the trends stage",
             process=process, timeout=120)  # fmt: skip
    process.kill()
    process.wait(timeout=10)
    assert final(events) != library(trend_lake)  # it was stopped midway
    rerun = subprocess.run(
        [*CLI, "ingest", "--config", str(config(tmp_path, trend_lake,
                                                [{"type": "file", "path": str(events)}])),
         "--quiet"], capture_output=True, text=True, timeout=300, env=_env(),
    )  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert final(events) == library(trend_lake)


def _stage_buckets(checkpoint: Path) -> int:
    """How many buckets of the sample the checkpointed trends stage has closed."""
    try:
        state = codec.loads(checkpoint.read_bytes())["sources"]["analytics:trends"]
    except (OSError, ValueError, KeyError):
        return 0
    until = state["clock"]["emitted_until"]
    return 0 if until is None else int((until - DEFAULT_START.timestamp()) / 300)


def _env() -> dict[str, str]:
    return dict(os.environ)


def test_trend_events_go_to_an_ordinary_sink_the_socket(tmp_path) -> None:
    """A trends stage's `sinks` may hold the pipeline's ordinary sinks: the socket (for
    Spark) serves each event emission as one JSON line, the library's records."""
    import socket
    import threading

    from shoot2top.config import parse_config
    from shoot2top.runtime.components import build_analytics
    from shoot2top.sample.generate import generate_items

    config = parse_config({
        "name": "t", "sources": [{"type": "lake", "uri": "lake"}],
        "sinks": [{"type": "lake", "uri": "out"}],
        "analytics": [{"type": "trends", "sinks": [{"type": "socket", "port": 0}]}],
    }, "p.json")  # fmt: skip
    hook = build_analytics(config.analytics[0], str(tmp_path), {})
    client = socket.create_connection(("127.0.0.1", hook.sinks[0].sink.port), timeout=30)
    received = bytearray()
    reader = threading.Thread(target=lambda: _read_all(client, received))
    reader.start()
    items = generate_items(items=12000)
    for item in items:
        hook.write(item)
    hook.finish()
    hook.close()
    reader.join(timeout=30)
    stage = TrendStage()
    expected = [e.to_record() for e in stage.process(items) + stage.finish()]
    got = [json.loads(line) for line in received.decode().splitlines()]
    assert expected and sorted(map(json.dumps, got)) == sorted(map(json.dumps, expected))
    assert hook.events == len(expected)


def _read_all(client, into: bytearray) -> None:
    while chunk := client.recv(65536):
        into.extend(chunk)
    client.close()


@pytest.mark.parametrize("name", ["trends-sample.json", "replay-sample.json"])
def test_the_sample_pipelines_trends_settings_find_the_planted_trends(name: str) -> None:
    """The committed sample is small: the pipelines that replay it (the Storm topology's
    default `trends-sample.json`, the demo's `replay-sample.json`) carry the settings
    that find its planted trends — the defaults find nothing there."""
    from shoot2top.analytics.inprocess import trends_stage
    from shoot2top.config import load_config

    repo = Path(__file__).resolve().parents[2]
    trends = load_config(repo / "pipelines" / name).analytics[0]
    options = {**trends.detector_options(), "lateness_s": trends.lateness_s,
               "kinds": trends.kinds}  # fmt: skip
    items = [item for item in LakeSource(LocalStore(repo / "data" / "sample-lake")) if item]
    found = {
        (event.term, event.kind)
        for stage in [trends_stage(options, None)]
        for event in stage.process(items) + stage.finish()
        if event.scope == "all"
    }
    assert {(t.term, t.kind) for t in planted_trends()} <= found
    default = TrendStage()
    assert not [e for e in default.process(items) + default.finish() if e.scope == "all"]
