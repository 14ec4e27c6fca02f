"""The ingest topology on real Apache Storm local mode: the three live sources as spouts,
against the local API servers, into the lake and the warehouse."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from factories import ids
from fakes.facebook_api import FakeGraph, GraphHandler
from fakes.http import serve
from fakes.x_api import fake_x, tweets
from fakes.youtube_api import FakeYouTube
from shoot2top.lake.store import LocalStore
from shoot2top.runtime.topology import pipeline_of, plan
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import connect
from stormtest import REPO, log_tail, sparse_run, storm_env, wait_until

X_TOKEN = "AAAAAAAAAAAAAAAAAAAAAStormIngestXToken0000"
YOUTUBE_KEY = "AIzaSyStormIngestYouTubeKey00000000000"
FACEBOOK_TOKEN = "EAAGStormIngestFacebookToken0000000000"


def warehouse_items(dsn: str) -> set[str]:
    connection = connect(dsn)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT platform, item_id FROM items")
            return {f"{platform}:{item_id}" for platform, item_id in cursor.fetchall()}
    finally:
        connection.close()


def pipeline(tmp_path, x_url: str, youtube_url: str, graph_url: str) -> dict:
    return {
        "name": "storm-ingest",
        "state_dir": str(tmp_path / "state"),
        "checkpoint_interval_s": 1,
        "storm": {"max_spout_pending": 200, "items_per_tuple": 10},
        "sources": [
            {"type": "x", "name": "x", "bearer_token": "${X_BEARER_TOKEN}", "api_url": x_url,
             "topics": {"football": "football"}},
            {"type": "youtube", "name": "youtube", "api_key": "${YOUTUBE_API_KEY}",
             "api_url": youtube_url, "topics": {"football": "football"}},
            {"type": "facebook", "name": "facebook", "access_token": "${FACEBOOK_ACCESS_TOKEN}",
             "api_url": graph_url, "pages": ["MetroEveningNews"]},
        ],
        "sinks": [
            {"type": "lake", "name": "lake", "uri": str(tmp_path / "lake"), "batch_age_s": 0.5},
            {"type": "postgres", "name": "warehouse", "batch_items": 50, "batch_age_s": 0.5},
        ],
    }  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sparse_run_ingest_reads_every_api_into_the_lake_and_the_warehouse(
    tmp_path, postgres_server
):
    now = datetime.now(UTC)
    youtube = FakeYouTube(key=YOUTUBE_KEY)
    for index in range(12):
        youtube.add_video(f"yt{index:02d}", now - timedelta(minutes=index + 1),
                          title=f"football goal {index}", views=100 * index)  # fmt: skip
    graph = FakeGraph(FACEBOOK_TOKEN)
    page = graph.add_page("104829301746215", "Metro Evening News", "MetroEveningNews")
    posts = [graph.add_post(page, time.time() - 600 + 60 * i, reactions=i) for i in range(4)]
    posts.append(graph.add_video(page, time.time() - 30, views=900))
    dsn = postgres_server.new_database(migrated=True)
    with (
        fake_x(X_TOKEN) as x,
        youtube.serve() as youtube_url,
        serve(GraphHandler, graph=graph) as graph_url,
    ):
        x.add_user("1", "fcnews", followers=5000)
        x_ids = [x.add_tweet(f"football clip {i}", author="1", views=10 * i) for i in range(8)]
        x.stream([tweets(*x_ids)])
        config = tmp_path / "ingest.json"
        config.write_text(json.dumps(pipeline(tmp_path, x.url, youtube_url, graph_url)))
        expected = {f"x:{i}" for i in x_ids}
        expected |= {f"youtube:yt{index:02d}" for index in range(12)}
        expected |= {f"facebook:{thing.id}" for thing in posts}
        env = {
            **storm_env(),
            "SHOOT2TOP_PIPELINE": str(config),
            "SHOOT2TOP_DSN": dsn,
            "X_BEARER_TOKEN": X_TOKEN,
            "YOUTUBE_API_KEY": YOUTUBE_KEY,
            "FACEBOOK_ACCESS_TOKEN": FACEBOOK_TOKEN,
        }
        log = tmp_path / "sparse.log"
        with sparse_run("ingest", env, log) as process:
            wait_until(lambda: warehouse_items(dsn) >= expected, process, 420)
            loaded = warehouse_items(dsn)
            assert loaded == expected, f"missing {sorted(expected - loaded)}\n{log_tail(log)}"
    archived = [item for item in LakeSource(LocalStore(tmp_path / "lake")) if item is not None]
    lake_keys = {f"tweet:{i}" for i in x_ids} | {f"post:{thing.id}" for thing in posts}
    lake_keys |= {f"video:yt{index:02d}" for index in range(12)}
    assert set(ids(archived)) == lake_keys
    log_text = log.read_text(errors="replace")
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for secret in (X_TOKEN, YOUTUBE_KEY, FACEBOOK_TOKEN):
        assert secret not in log_text and secret.encode() not in stored
        assert secret not in json.dumps(plan(config).storm_conf)


def test_the_shipped_ingest_pipeline_plans_without_its_secrets(monkeypatch):
    """pipelines/ingest.json (what `sparse run -n ingest` reads by default) wires three
    spouts and two bolts; secrets stay references until a worker builds its source."""
    wiring = plan(REPO / "pipelines" / "ingest.json")
    assert [spout.name for spout in wiring.spouts] == ["x", "youtube", "facebook"]
    assert [bolt.name for bolt in wiring.bolts] == ["lake", "warehouse"]
    sources = pipeline_of(wiring.storm_conf).sources
    assert [source.bearer_token.variable for source in sources[:1]] == ["X_BEARER_TOKEN"]
    assert sources[1].api_key.variable == "YOUTUBE_API_KEY"
    assert sources[2].access_token.variable == "FACEBOOK_ACCESS_TOKEN"
