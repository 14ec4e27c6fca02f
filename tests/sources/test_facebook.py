"""The Facebook source against a local Graph API (tests/fakes/facebook_api.py): polling
and paging, duplicates, refreshes, throttling, errors, secrets, resume, end to end."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from fakes.clock import FakeClock
from fakes.facebook_api import FakeGraph, Fault, GraphHandler, error_body, fb_time, throttled
from fakes.http import serve
from shoot2top import codec
from shoot2top.config import FacebookSourceConfig, load_config
from shoot2top.lake.store import LocalStore
from shoot2top.posts import describe
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sources.facebook import FacebookSource
from shoot2top.sources.graph_api import SLOW_MAX_S, SLOW_MIN_S, pacing_delay, redact
from shoot2top.sources.lake import LakeSource
from shoot2top.sources.live import SourceAuthError
from shoot2top.warehouse.features import extract

REPO = Path(__file__).parents[2]
TOKEN = "EAAGm0PX4ZCpsBAJtestTOKENx7Qz9fK2LmN0pQrStUv"
MIN = 60


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def graph(clock: FakeClock) -> FakeGraph:
    graph = FakeGraph(TOKEN, clock=clock, max_limit=2)
    graph.add_page("104829301746215", "Metro Evening News", "MetroEveningNews")
    graph.add_page("231874650298113", "Sabor de Casa", "SabordeCasa")
    return graph


@pytest.fixture
def api(graph: FakeGraph) -> Iterator[str]:
    with serve(GraphHandler, graph=graph) as url:
        yield url


def make_config(api_url: str, **overrides) -> FacebookSourceConfig:
    raw = {
        "type": "facebook",
        "name": "fb",
        "access_token": "${FB_TEST_TOKEN}",
        "api_url": api_url,
        "pages": ["MetroEveningNews", "SabordeCasa"],
        "poll_interval_s": 600.0,
        "tracking": {
            "schedule": [{"until_age_h": 1, "every_min": 2}, {"until_age_h": 6, "every_min": 30}]
        },
    }
    raw.update(overrides)
    return FacebookSourceConfig.model_validate(raw)


def source_for(api: str, clock: FakeClock, **options) -> FacebookSource:
    config = make_config(api, **options.pop("config", {}))
    return FacebookSource(config, access_token=TOKEN, clock=clock, **options)


def take(stream, clock: FakeClock, *, items: int | None = None, seconds: float = 86_400):
    """Items from a running source until `items` were taken or `seconds` of clock time
    passed (whichever first)."""
    out = []
    deadline = clock.time() + seconds
    for item in stream:
        if item is not None:
            out.append(item)
            if items is not None and len(out) >= items:
                break
        if clock.time() >= deadline:
            break
    return out


def ids(items) -> list[str]:
    return [item["post"]["id"] for item in items]


def gaps(requests) -> list[float]:
    return [round(b.at - a.at, 3) for a, b in pairwise(requests)]


def no_token(*texts: str) -> bool:
    return not any(TOKEN in text for text in texts)


# ----------------------------------------------------------------------------- polling


def test_pages_posts_and_videos_are_read_with_paging_and_land_as_features(api, graph, clock):
    now = clock.time()
    metro, sabor = graph.pages["MetroEveningNews"], graph.pages["SabordeCasa"]
    posts = [
        graph.add_post(metro, now - 50 * MIN, "Storm hits the coast #weather", reactions=31),
        graph.add_post(metro, now - 40 * MIN, reactions=5, comments=2, shares=4),
        graph.add_post(metro, now - 30 * MIN),
        graph.add_post(sabor, now - 20 * MIN, "Receta de arepas"),
    ]
    videos = [
        graph.add_video(metro, now - 45 * MIN, "Flood footage", views=1234, reactions=9),
        graph.add_video(sabor, now - 35 * MIN, views=77, comments=3, length=61.0),
        graph.add_video(sabor, now - 25 * MIN, views=5),
    ]
    graph.add_post(metro, now - 30 * 3600)  # older than the first look-back (the 6 h window)
    source = source_for(api, clock, config={"api_version": "v25.0"})

    items = take(clock.run(source), clock, items=7)

    assert sorted(ids(items)) == sorted(thing.id for thing in posts + videos)
    for item in items:
        info = describe(item)
        assert info.platform == "facebook" and info.observed_at.timestamp() == clock.time()
    by_id = {item["post"]["id"]: item for item in items}
    first = by_id[posts[0].id]
    assert first["_topic"] == "MetroEveningNews" and first["_source"] == "fb.posts"
    assert by_id[posts[3].id]["_topic"] == "SabordeCasa"
    assert by_id[videos[0].id]["_source"] == "fb.videos"
    # per listing, oldest first (metro's posts)
    metro_posts = [i for i in ids(items) if i in {p.id for p in posts[:3]}]
    assert metro_posts == [p.id for p in posts[:3]]

    post = extract(first)
    assert post.publisher.publisher_id == metro.id and post.publisher.name == metro.name
    assert post.metrics.likes == 31 and post.metrics.comments == 0 and post.metrics.shares == 0
    assert post.media_type == "photo" and post.hashtags == ["weather"]
    shared = extract(by_id[posts[1].id])
    assert (shared.metrics.likes, shared.metrics.comments, shared.metrics.shares) == (5, 2, 4)
    video = extract(by_id[videos[1].id])
    assert video.metrics.views == 77 and video.metrics.comments == 3
    assert video.media_type == "video" and video.duration_s == 61.0
    assert video.url == f"https://www.facebook.com/SabordeCasa/videos/{videos[1].id}/"
    assert extract(by_id[videos[0].id]).metrics.views == 1234

    # the wire: versioned paths, fields, since, cursor paging, token only in the header
    listing = graph.calls("/v25.0/104829301746215/posts") or graph.calls("/MetroEveningNews/posts")
    assert listing[0].query["since"] == str(int(now - 6 * 3600))
    assert "reactions.summary(total_count).limit(0)" in listing[0].query["fields"]
    assert any("after" in request.query for request in graph.calls("/posts"))
    assert len(graph.calls("/video_insights")) == 3
    assert all(request.path.startswith("/v25.0/") for request in graph.requests)
    assert all(request.authorization == f"Bearer {TOKEN}" for request in graph.requests)
    assert all("access_token" not in request.query for request in graph.requests)
    assert no_token(codec.dumps(items).decode())
    assert source.api_calls == len(graph.requests)


def test_duplicates_across_pages_and_polls_are_emitted_once(api, graph, clock):
    now = clock.time()
    metro = graph.pages["MetroEveningNews"]
    first = [
        graph.add_post(metro, now - 10 * MIN),
        graph.add_post(metro, now - 5 * MIN),  # two posts in the same second
        graph.add_post(metro, now - 5 * MIN),
    ]
    # the same Page configured twice, by username and by id
    source = source_for(api, clock, config={"pages": ["MetroEveningNews", metro.id]})
    stream = clock.run(source)
    items = take(stream, clock, seconds=60)
    assert ids(items) == [thing.id for thing in first]
    assert source.duplicates_dropped == 3  # the second Page's listing

    later = graph.add_post(metro, clock.time() - 1)
    items = take(stream, clock, seconds=600)  # the next polls of both Pages
    polled = [item for item in items if not item["_source"].endswith(".refresh")]
    assert ids(polled) == [later.id]
    # refreshed once per round, not once per Page that lists them
    refreshed = Counter(ids(item for item in items if item["_source"] == "fb.refresh"))
    rounds = [
        request.query["ids"].split(",") for request in graph.calls() if "ids" in request.query
    ]
    assert all(len(set(round_ids)) == len(round_ids) for round_ids in rounds)
    rounds_of_first = [round_ids for round_ids in rounds if first[0].id in round_ids]
    assert len(rounds_of_first) >= 4
    assert {refreshed[thing.id] for thing in first} == {len(rounds_of_first)}


# ----------------------------------------------------------------------------- refreshes


def test_refreshes_emit_new_observations_and_forget_deleted_videos(api, graph, clock):
    now = clock.time()
    metro = graph.pages["MetroEveningNews"]
    post = graph.add_post(metro, now - 3 * MIN, reactions=1)
    video = graph.add_video(metro, now - 2 * MIN, views=10)
    source = source_for(api, clock, config={"pages": ["MetroEveningNews"]})
    stream = clock.run(source)
    assert ids(take(stream, clock, items=2)) == [post.id, video.id]

    post.reactions, post.shares, video.views, video.reactions = 40, 7, 500, 12
    refreshed = take(stream, clock, items=2, seconds=3 * MIN)
    assert {item["_source"] for item in refreshed} == {"fb.refresh"}
    assert {item["_topic"] for item in refreshed} == {"MetroEveningNews"}
    by_id = {item["post"]["id"]: extract(item) for item in refreshed}
    assert (by_id[post.id].metrics.likes, by_id[post.id].metrics.shares) == (40, 7)
    assert (by_id[video.id].metrics.views, by_id[video.id].metrics.likes) == (500, 12)
    assert by_id[video.id].observed_at.timestamp() == pytest.approx(now + 2 * MIN, abs=1)
    multi = [request for request in graph.calls("/v26.0/") if "ids" in request.query]
    assert {request.query["ids"] for request in multi} == {post.id, video.id}

    graph.delete(video.id)
    video_reads = len(graph.calls(video.id))
    later = take(stream, clock, seconds=3 * MIN)
    assert ids(later) == [post.id]
    assert source.forgotten == 1
    assert f"videos:{video.id}" not in source.snapshot()["tracker"]
    assert f"posts:{post.id}" in source.snapshot()["tracker"]
    # asked once more (multi-id, then alone: 803 -> 100/33), then never again
    take(stream, clock, seconds=5 * MIN)
    assert len(graph.calls(video.id)) == video_reads + 1
    assert any(video.id in request.query.get("ids", "") for request in graph.requests)


# ----------------------------------------------------------------------------- throttling


def test_usage_below_the_threshold_leaves_calls_unspaced(api, graph, clock):
    graph.app_usage = {"call_count": 79, "total_cputime": 10, "total_time": 10}
    for minutes in (30, 20, 10):
        graph.add_post(graph.pages["MetroEveningNews"], clock.time() - minutes * MIN)
    take(clock.run(source_for(api, clock)), clock, items=3)
    assert set(gaps(graph.requests)) == {0.0}


@pytest.mark.parametrize("header", ["X-App-Usage", "X-Business-Use-Case-Usage"])
def test_usage_above_the_threshold_spreads_the_calls(api, graph, clock, header):
    usage = {"call_count": 95, "total_cputime": 30, "total_time": 40}
    if header == "X-App-Usage":
        graph.app_usage = usage
    else:
        graph.buc_usage = {"104829301746215": [{"type": "pages", **usage}]}
    for minutes in (30, 20, 10):
        graph.add_post(graph.pages["MetroEveningNews"], clock.time() - minutes * MIN)
    spacing = pacing_delay(95, 80)
    assert SLOW_MIN_S < spacing < SLOW_MAX_S
    take(clock.run(source_for(api, clock)), clock, seconds=4.5 * spacing)

    # posts (2 pages of results) and videos of one Page, posts and videos of the other
    assert len(graph.requests) == 5
    assert gaps(graph.requests) == [pytest.approx(spacing)] * 4


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_throttling_errors_back_off_exponentially_and_retry(api, graph, clock, code):
    post = graph.add_post(graph.pages["MetroEveningNews"], clock.time() - MIN)
    graph.inject(throttled(code, "/posts"), throttled(code, "/posts"))
    items = take(clock.run(source_for(api, clock)), clock, items=1)

    assert ids(items) == [post.id]
    listings = graph.calls("/MetroEveningNews/posts")
    assert len(listings) == 3
    assert gaps(listings) == [60.0, 120.0]


def test_an_announced_regain_time_is_waited_out(api, graph, clock):
    post = graph.add_post(graph.pages["MetroEveningNews"], clock.time() - MIN)
    graph.inject(throttled(80001, "/posts", regain_minutes=7))
    items = take(clock.run(source_for(api, clock)), clock, items=1)

    assert ids(items) == [post.id]
    assert gaps(graph.calls("/MetroEveningNews/posts")) == [7 * 60.0]


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("token_state", ["expired", "invalid"])
def test_a_refused_token_is_a_clear_error_without_retry_or_leak(
    api, graph, clock, caplog, tmp_path, token_state
):
    caplog.set_level(logging.DEBUG)
    if token_state == "expired":
        graph.expired = True
    else:
        graph.token = "another-token"
    dead = DeadLetters(tmp_path / "dead.jsonl")
    source = source_for(api, clock, dead_letters=dead)

    with pytest.raises(SourceAuthError) as raised:
        take(clock.run(source), clock, items=1)

    message = str(raised.value)
    assert "error 190" in message and "access token" in message and "not retrying" in message
    assert ("Session has expired" in message) == (token_state == "expired")
    assert "/MetroEveningNews/posts" in message
    assert len(graph.requests) == 1 and clock.waited() == 0
    entries = (tmp_path / "dead.jsonl").read_text() if dead.path.exists() else ""
    assert no_token(message, caplog.text, entries, json.dumps(source.snapshot()))


def test_server_and_network_errors_are_retried_with_exponential_backoff(api, graph, clock):
    post = graph.add_post(graph.pages["MetroEveningNews"], clock.time() - MIN)
    transient = error_body(2, "Service temporarily unavailable", transient=True)
    graph.inject(
        Fault("/posts", 500, b"<html><body>Internal Server Error</body></html>"),
        Fault("/posts", 503, json.dumps(transient).encode()),
        Fault("/posts", 0, b""),  # connection closed without an answer
    )
    items = take(clock.run(source_for(api, clock)), clock, items=1)

    assert ids(items) == [post.id]
    assert gaps(graph.calls("/MetroEveningNews/posts")) == [2.0, 4.0, 8.0]


def test_a_malformed_body_is_dead_lettered_and_the_stream_goes_on(
    api, graph, clock, tmp_path, caplog
):
    metro = graph.pages["MetroEveningNews"]
    post = graph.add_post(metro, clock.time() - 2 * MIN)
    video = graph.add_video(metro, clock.time() - MIN)
    broken = f'{{"data": [{{"id": "1_2"}}], "paging": {{"next": "{api}/x?access_token={TOKEN}'
    graph.inject(Fault("/MetroEveningNews/posts", 200, broken.encode()))
    dead = DeadLetters(tmp_path / "dead.jsonl")
    source = source_for(api, clock, dead_letters=dead, config={"pages": ["MetroEveningNews"]})
    stream = clock.run(source)

    assert ids(take(stream, clock, items=1)) == [video.id]  # the videos listing went on
    entries = dead.entries()
    assert len(entries) == 1
    assert "/MetroEveningNews/posts" in entries[0]["where"]
    assert "not a JSON object" in entries[0]["reason"]
    assert entries[0]["item"].endswith("/x?access_token=***")  # the excerpt, scrubbed
    # the watermark did not move: the next poll reads the post
    later = take(stream, clock, seconds=700)
    assert ids(item for item in later if item["_source"] == "fb.posts") == [post.id]
    assert no_token((tmp_path / "dead.jsonl").read_text(), caplog.text)


def test_an_error_body_is_scrubbed_before_it_is_cut_to_an_excerpt(api, graph, clock, tmp_path):
    """A token straddling the excerpt's end would otherwise leave its first part behind."""
    body = "<html>" + "x" * (300 - 6 - 12) + TOKEN + " echoed back</html>"
    graph.inject(Fault("/MetroEveningNews/posts", 404, body.encode()))
    dead = DeadLetters(tmp_path / "dead.jsonl")
    source = source_for(api, clock, dead_letters=dead, config={"pages": ["MetroEveningNews"]})
    take(clock.run(source), clock, seconds=60)
    (entry,) = dead.entries()
    assert "HTTP 404" in entry["reason"]
    assert entry["item"].startswith("<html>xxx") and TOKEN[:12] not in entry["item"]


def test_a_plain_4xx_is_dead_lettered_and_skipped_until_the_next_turn(api, graph, clock, tmp_path):
    """The one policy (docs/sources.md): a 4xx that is not auth or throttling is
    dead-lettered, the listing is read again at the next poll, the run goes on."""
    metro = graph.pages["MetroEveningNews"]
    post = graph.add_post(metro, clock.time() - MIN)
    body = error_body(100, "(#100) Tried accessing nonexisting field (bogus)")
    graph.inject(Fault("/MetroEveningNews/posts", 400, json.dumps(body).encode()))
    dead = DeadLetters(tmp_path / "dead.jsonl")
    source = source_for(api, clock, dead_letters=dead, config={"pages": ["MetroEveningNews"]})
    stream = clock.run(source)
    assert take(stream, clock, seconds=60) == []
    (entry,) = dead.entries()
    assert "error 100" in entry["reason"] and "HTTP 400" in entry["reason"]
    assert ids(take(stream, clock, items=1, seconds=700)) == [post.id]  # the next poll
    assert len(graph.calls("/MetroEveningNews/posts")) == 2


def test_an_invalid_object_is_dead_lettered(api, graph, clock, tmp_path):
    metro = graph.pages["MetroEveningNews"]
    good = graph.add_post(metro, clock.time() - MIN)
    body = {"data": [{"id": "1_1", "message": "no created time"}, {"created_time": "x"}]}
    graph.inject(Fault("/MetroEveningNews/posts", 200, json.dumps(body).encode()))
    dead = DeadLetters(tmp_path / "dead.jsonl")
    source = source_for(api, clock, dead_letters=dead, config={"pages": ["MetroEveningNews"]})
    stream = clock.run(source)
    take(stream, clock, seconds=60)
    reasons = [entry["reason"] for entry in dead.entries()]
    assert any("1_1" in reason and "created_time" in reason for reason in reasons)
    assert any("without an id" in reason for reason in reasons)
    assert ids(take(stream, clock, items=1, seconds=700)) == [good.id]


def test_a_token_in_a_nested_paging_link_never_reaches_an_item(api, graph, clock, caplog):
    caplog.set_level(logging.DEBUG)
    now = int(clock.time())
    post = {
        "id": "104829301746215_1",
        "created_time": fb_time(now - 60),
        "from": {"name": "Metro Evening News", "id": "104829301746215"},
        "comments": {
            "data": [{"id": "1_c1", "message": "first!"}],
            "paging": {
                "cursors": {"before": "QVFIUjE", "after": "QVFIUjE"},
                "next": f"{api}/v26.0/104829301746215_1/comments?access_token={TOKEN}&limit=1"
                "&after=QVFIUjE",
            },
            "summary": {"order": "ranked", "total_count": 2, "can_comment": True},
        },
    }
    body = json.dumps({"data": [post]}).encode()
    graph.inject(Fault("/MetroEveningNews/posts", 200, body))
    source = source_for(api, clock, config={"pages": ["MetroEveningNews"]})
    items = take(clock.run(source), clock, items=1)

    link = items[0]["post"]["comments"]["paging"]["next"]
    assert link.endswith("/v26.0/104829301746215_1/comments?limit=1&after=QVFIUjE")
    assert no_token(codec.dumps(items).decode(), caplog.text)


def test_tokens_in_payload_links_are_removed():
    payload = {
        "id": "1",
        "comments": {
            "data": [],
            "paging": {
                "next": f"https://graph.facebook.com/v26.0/1/comments?access_token={TOKEN}&limit=25&after=QVFI"
            },
        },
        "message": f"pasted {TOKEN}",
    }
    clean = redact(payload, TOKEN)
    assert clean["comments"]["paging"]["next"] == (
        "https://graph.facebook.com/v26.0/1/comments?limit=25&after=QVFI"
    )
    assert clean["message"] == "pasted ***" and no_token(json.dumps(clean))


# ----------------------------------------------------------------------------- state


@pytest.mark.parametrize("tracking", [True, False], ids=["tracking", "no-tracking"])
def test_a_restart_from_the_snapshot_loses_nothing_and_repeats_nothing(api, graph, clock, tracking):
    now = clock.time()
    metro = graph.pages["MetroEveningNews"]
    posts = [
        graph.add_post(metro, now - 50 * MIN),
        graph.add_post(metro, now - 40 * MIN),
        graph.add_post(metro, now - 30 * MIN),  # these two share a second: the restart
        graph.add_post(metro, now - 30 * MIN),  # falls between them
        graph.add_post(metro, now - 20 * MIN),
    ]
    # without tracking, only the watermark's ids stop the re-listed second being repeated
    config = {"pages": ["MetroEveningNews"]}
    if not tracking:
        config["tracking"] = {"schedule": []}
    options = {"config": config}
    first = source_for(api, clock, **options)
    before = take(clock.run(first), clock, items=3)
    state = codec.loads(codec.dumps(first.snapshot()))
    assert no_token(json.dumps(state))
    assert state["pages"]["MetroEveningNews"]["posts"] == {
        "watermark": int(now - 30 * MIN),
        "seen": [posts[2].id],
    }

    newer = graph.add_post(metro, clock.time() - 1)
    second = source_for(api, clock, resume=state, **options)
    stream = clock.run(second)
    after = take(stream, clock, items=3, seconds=MIN)
    assert ids(before) + ids(after) == [post.id for post in posts] + [newer.id]
    if not tracking:
        assert take(stream, clock, seconds=30 * MIN) == []
        return
    # tracking carried over: the first three are refreshed on their old schedule
    refreshed = take(stream, clock, seconds=3 * MIN)
    assert {item["_source"] for item in refreshed} == {"fb.refresh"}
    assert set(ids(refreshed)) == {post.id for post in posts} | {newer.id}
    assert second.snapshot()["topic_of"][f"posts:{posts[0].id}"] == "MetroEveningNews"


def test_a_resume_state_of_another_version_is_refused(api, clock):
    with pytest.raises(ValueError, match="resume state version 7"):
        source_for(api, clock, resume={"version": 7})


# ----------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_ingest_runs_the_example_pipeline_into_a_lake(tmp_path, monkeypatch):
    """`shoot2top ingest` on pipelines/facebook-to-lake.json, against the fake API in real
    time: the lake holds valid posts and videos with their metrics, no token anywhere, and
    a second run resumes after them."""
    graph = FakeGraph(TOKEN, max_limit=2)
    now = time.time()
    metro = graph.add_page("104829301746215", "Metro Evening News", "MetroEveningNews")
    sabor = graph.add_page("231874650298113", "Sabor de Casa", "SabordeCasa")
    things = [
        graph.add_post(metro, now - 600, reactions=12, shares=3),
        graph.add_post(metro, now - 500),
        graph.add_post(metro, now - 400),
        graph.add_video(metro, now - 300, views=900),
        graph.add_post(sabor, now - 200, comments=4),
        graph.add_video(sabor, now - 100, views=55),
    ]
    config_path = REPO / "pipelines" / "facebook-to-lake.json"
    with serve(GraphHandler, graph=graph) as url:
        env = {
            **os.environ,
            "FACEBOOK_ACCESS_TOKEN": TOKEN,
            "FACEBOOK_API_URL": url,
            "SHOOT2TOP_STATE": str(tmp_path / "state"),
        }
        command = [sys.executable, "-m", "shoot2top.cli", "--log-level", "DEBUG", "ingest"]
        command += ["--config", str(config_path), "--duration", "1.5", "--quiet"]
        first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        newest = graph.add_post(sabor, time.time() - 1)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr

    monkeypatch.setenv("FACEBOOK_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SHOOT2TOP_STATE", str(tmp_path / "state"))
    config = load_config(config_path)
    lake = LocalStore(config.sinks[0].uri)
    items = [item for item in LakeSource(lake) if item is not None]
    assert sorted(ids(items)) == sorted(thing.id for thing in [*things, newest])
    features = {item["post"]["id"]: extract(item) for item in items}
    assert features[things[3].id].metrics.views == 900
    assert features[things[0].id].metrics.likes == 12 and features[things[0].id].metrics.shares == 3
    assert features[things[4].id].metrics.comments == 4

    state_files = [path for path in (tmp_path / "state").rglob("*") if path.is_file()]
    assert any(path.name == "checkpoint.json" for path in state_files)
    texts = [path.read_bytes().decode("utf-8", "replace") for path in state_files]
    assert no_token(first.stderr, second.stderr, *texts)
