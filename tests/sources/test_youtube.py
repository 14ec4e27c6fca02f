import itertools
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from fakes.clock import FakeClock
from fakes.youtube_api import FakeYouTube, rfc3339
from shoot2top import codec
from shoot2top.cli import main
from shoot2top.config import YouTubeSourceConfig, load_config
from shoot2top.lake.store import LocalStore
from shoot2top.posts import describe
from shoot2top.runtime.components import build_source
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sources.lake import LakeSource
from shoot2top.sources.live import SourceAuthError
from shoot2top.sources.youtube import YouTubeSource
from shoot2top.sources.youtube_quota import (
    SEARCH,
    UNITS,
    QuotaError,
    QuotaLedger,
    next_reset,
    quota_day,
)
from shoot2top.warehouse.features import extract

KEY = "AIzaSyFAKE-key_0123456789abcdefghijkl"
PARTS = "snippet,statistics,contentDetails"
NO_TRACKING = {"schedule": []}


def make_config(url, **overrides):
    raw = {
        "type": "youtube",
        "name": "youtube",
        "api_key": "${YOUTUBE_API_KEY}",
        "api_url": url,
        "topics": {"football": "football", "music": "music"},
        "poll_interval_s": 600.0,
        **overrides,
    }
    return YouTubeSourceConfig.model_validate_json(json.dumps(raw))


def moment(clock, seconds):
    return datetime.fromtimestamp(clock.time() + seconds, UTC)


def take(iterator, clock, *, until=None, count=None, nones=None, max_steps=3_000_000):
    """Pull from a source until the fake clock reaches `until` or `count` items came."""
    items = []
    for _ in range(max_steps):
        if until is not None and clock.time() >= until:
            return items
        if count is not None and len(items) >= count:
            return items
        item = next(iterator)
        if item is not None:
            items.append(item)
        elif nones is not None:
            nones.append(clock.time())
    raise AssertionError("the source made no progress")


def ids(items):
    return [item["video"]["id"] for item in items]


def searched(items):
    """The items a search found (not the refreshes)."""
    return [item for item in items if item["_source"] == "youtube.search"]


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fake(clock):
    return FakeYouTube(key=KEY, clock=clock)


@pytest.fixture
def api_url(fake):
    with fake.serve() as url:
        yield url


def source_for(api_url, clock, tmp_path=None, resume=None, **overrides):
    dead = DeadLetters(None if tmp_path is None else tmp_path / "dead.jsonl")
    return YouTubeSource(
        make_config(api_url, **overrides),
        api_key=KEY,
        resume=resume,
        dead_letters=dead,
        clock=clock,
    )


def add_topic_videos(fake, clock, prefix, count, *, every_s=4, word=None):
    """`count` videos published every `every_s` seconds before now, newest first."""
    word = word or prefix
    for i in range(1, count + 1):
        fake.add_video(
            f"{prefix}{i:03d}",
            moment(clock, -every_s * i),
            title=f"{word} clip {i} #{prefix}",
            description=f"all about {word}",
            views=1000 + i,
            likes=10 + i,
            comments=i,
        )


# ---------------------------------------------------------------------------- the flow


def test_two_topics_are_searched_paged_and_read_in_batches(fake, api_url, clock):
    add_topic_videos(fake, clock, "fb", 120, word="football")
    add_topic_videos(fake, clock, "mu", 10, word="music")
    fake.add_video("old", moment(clock, -7200), title="football long ago")  # before the start
    source = source_for(api_url, clock)
    items = take(clock.run(source), clock, count=130)

    assert sorted(ids(items)) == sorted(fake.videos.keys() - {"old"})
    for item in items:
        assert item["_source"] == "youtube.search"
        assert item["_topic"] == ("football" if item["video"]["id"].startswith("fb") else "music")
        assert item["video"] == {**fake.videos[item["video"]["id"]], "etag": item["video"]["etag"]}
        info = describe(item)
        assert info.platform == "youtube" and info.publisher_id.startswith("UC")
    metrics = extract(next(i for i in items if i["video"]["id"] == "fb007")).metrics
    assert (metrics.views, metrics.likes, metrics.comments) == (1007, 17, 7)

    searches = fake.endpoint_calls("search")
    football = [call.params for call in searches if call.params["q"] == "football"]
    assert len(football) == 3  # 120 results: pages of 50, 50, 20
    assert "pageToken" not in football[0] and all("pageToken" in p for p in football[1:])
    start = rfc3339(moment(clock, 0) - timedelta(seconds=600))
    for params in football:
        assert params["part"] == "snippet" and params["type"] == "video"
        assert params["order"] == "date" and params["maxResults"] == "50"
        assert params["publishedAfter"] == start
    details = fake.endpoint_calls("videos")
    assert all(call.params["part"] == PARTS and 1 <= len(call.ids) <= 50 for call in details)
    assert len(details) == 4  # 50 + 50 + 20 football, 10 music


def test_duplicates_across_pages_and_polls_are_emitted_once(clock):
    fake = FakeYouTube(key=KEY, clock=clock, page_overlap=1)  # each page repeats one item
    add_topic_videos(fake, clock, "fb", 120, word="football")
    with fake.serve() as url:
        # no refresh tracking: the watermark alone must recognise what was emitted
        source = source_for(url, clock, topics={"football": "football"}, tracking=NO_TRACKING)
        stream = clock.run(source)
        first = take(stream, clock, until=clock.time() + 60)
        assert sorted(ids(first)) == sorted(fake.videos)
        assert source.duplicates_dropped == 2  # the repeated item on pages 2 and 3

        newest = fake.videos["fb001"]["snippet"]["publishedAt"]
        fake.add_video("same-instant", datetime.fromisoformat(newest), title="football late")
        fake.add_video("new", moment(clock, 120), title="football fresh")
        second = take(stream, clock, until=clock.time() + 700)
    assert sorted(ids(second)) == ["new", "same-instant"]
    polls = [c.params for c in fake.endpoint_calls("search") if "pageToken" not in c.params]
    assert polls[1]["publishedAfter"] == newest  # inclusive: fb001 came back and was skipped
    assert source.duplicates_dropped == 3


def test_refreshes_emit_new_statistics_on_the_schedule_and_forget_deleted_videos(
    fake, api_url, clock
):
    add_topic_videos(fake, clock, "fb", 3, every_s=60, word="football")
    schedule = {
        "schedule": [{"until_age_h": 1, "every_min": 5}, {"until_age_h": 3, "every_min": 30}]
    }
    source = source_for(
        api_url, clock, topics={"football": "football"}, poll_interval_s=7200.0, tracking=schedule
    )
    stream = clock.run(source)
    t0 = clock.time()
    assert sorted(ids(take(stream, clock, count=3))) == ["fb001", "fb002", "fb003"]

    fake.set_statistics("fb001", views=5000, likes=300, comments=40)
    first = take(stream, clock, until=t0 + 400)
    assert sorted(ids(first)) == ["fb001", "fb002", "fb003"]
    assert {item["_source"] for item in first} == {"youtube.refresh"}
    assert {item["_topic"] for item in first} == {"football"}
    refreshed = next(item for item in first if item["video"]["id"] == "fb001")
    assert extract(refreshed).metrics.views == 5000 and extract(refreshed).metrics.comments == 40
    observed = describe(refreshed).observed_at.timestamp()
    assert t0 + 300 - 30 <= observed <= t0 + 300 + 1  # five minutes on (batched up to 30 s early)

    fake.delete("fb002")
    second = take(stream, clock, until=t0 + 700)
    assert sorted(ids(second)) == ["fb001", "fb003"]
    assert "fb002" not in source.tracker and source.forgotten == 1
    restarted = source_for(
        api_url,
        clock,
        resume=json.loads(json.dumps(source.snapshot())),
        topics={"football": "football"},
        poll_interval_s=7200.0,
        tracking=schedule,
    )
    later = take(clock.run(restarted), clock, until=t0 + 1300)  # tracking survives a restart
    assert sorted(ids(later)) == ["fb001", "fb001", "fb003", "fb003"]
    assert {item["_topic"] for item in later} == {"football"}
    refresh_calls = [c for c in fake.endpoint_calls("videos") if c.at > t0 + 60]
    assert all(c.params["part"] == PARTS for c in refresh_calls)
    assert not any("fb002" in c.ids for c in refresh_calls if c.at > t0 + 700)


def test_refreshes_are_batched_by_fifty_and_come_before_searches(fake, api_url, clock):
    add_topic_videos(fake, clock, "fb", 120, word="football")
    schedule = {"schedule": [{"until_age_h": 2, "every_min": 10}]}
    source = source_for(api_url, clock, topics={"football": "football"}, tracking=schedule)
    stream = clock.run(source)
    t0 = clock.time()
    take(stream, clock, count=120)
    fake.add_video("fresh", moment(clock, 300), title="football fresh")
    items = take(stream, clock, until=t0 + 630)

    refreshes = [item for item in items if item["_source"] == "youtube.refresh"]
    assert sorted(ids(refreshes)) == sorted(f"fb{i:03d}" for i in range(1, 121))
    later = [c for c in fake.calls if c.at >= t0 + 500]
    assert [c.endpoint for c in later[:3]] == ["videos"] * 3  # refreshes first...
    assert [len(c.ids) for c in later[:3]] == [50, 50, 20]
    assert later[3].endpoint == "search"  # ...then the topic's next poll
    assert ids(items)[-1] == "fresh"


# ---------------------------------------------------------------------------- quota


def test_quota_day_is_pacific_and_dst_aware():
    fall_back_eve = datetime(2026, 10, 31, 19, 0, tzinfo=UTC).timestamp()  # noon PDT
    assert next_reset(fall_back_eve) == datetime(2026, 11, 1, 7, 0, tzinfo=UTC).timestamp()
    after = datetime(2026, 11, 1, 20, 0, tzinfo=UTC).timestamp()  # noon PST
    assert next_reset(after) == datetime(2026, 11, 2, 8, 0, tzinfo=UTC).timestamp()
    assert quota_day(datetime(2026, 11, 21, 7, 59, tzinfo=UTC).timestamp()) == "2026-11-20"


def test_the_ledger_spreads_the_budget_over_the_day_and_never_exceeds_it():
    midnight = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()  # 00:00 Pacific
    ledger = QuotaLedger({SEARCH: 100, UNITS: 10_000}, midnight)
    spent_at = []
    for minute in range(24 * 60):
        now = midnight + minute * 60
        while ledger.ready_at("search.list", now) <= now:
            ledger.spend("search.list", now)
            spent_at.append(now)
    assert 95 <= len(spent_at) <= 100
    first_quarter = [t for t in spent_at if t < midnight + 6 * 3600]
    assert len(first_quarter) <= 25 + 5  # its share of the day plus the burst
    with pytest.raises(QuotaError, match=r"search\.list: quota day 2026-11-20 has 0 of 100"):
        for _ in range(10):
            ledger.spend("search.list", midnight + 86_000)  # unpaced calls: hard limit only

    state = json.loads(json.dumps(ledger.snapshot()))
    same_day = QuotaLedger({SEARCH: 100, UNITS: 10_000}, midnight + 86_100, state)
    assert same_day.spent(SEARCH, midnight + 86_100) == 100
    assert same_day.ready_at("search.list", midnight + 86_100) == midnight + 86_400
    next_day = QuotaLedger({SEARCH: 100, UNITS: 10_000}, midnight + 86_401, state)
    assert next_day.spent(SEARCH, midnight + 86_401) == 0


@pytest.mark.slow
def test_quota_exceeded_stops_calls_until_pacific_midnight(fake, api_url, clock, caplog):
    fake.search_calls_per_day = 2  # the project's real quota is smaller than configured
    add_topic_videos(fake, clock, "fb", 5, word="football")
    reset = next_reset(clock.time())
    fake.add_video("after-reset", datetime.fromtimestamp(reset + 60, UTC), title="football")
    source = source_for(api_url, clock, topics={"football": "football"})
    stream = clock.run(source)
    nones = []
    with caplog.at_level(logging.INFO):
        before = take(stream, clock, until=reset - 1, nones=nones)
        assert sorted(ids(searched(before))) == [f"fb{i:03d}" for i in range(1, 6)]
        searches = fake.endpoint_calls("search")
        assert [c.status for c in searches] == [200, 200, 403]
        assert len(nones) > 1000  # idle, not blocked: None while waiting for the reset
        after = take(stream, clock, until=reset + 700)
    assert ids(searched(after)) == ["after-reset"]
    searches = fake.endpoint_calls("search")
    assert all(c.at >= reset for c in searches[3:]) and len(searches) > 3
    warnings = [
        r
        for r in caplog.records
        if r.name == "shoot2top.sources.youtube" and "quotaExceeded" in r.getMessage()
    ]
    assert len(warnings) == 1 and "midnight Pacific" in warnings[0].getMessage()
    assert source.ledger.spent(SEARCH, clock.time()) == len(searches) - 3


def test_refreshes_leave_units_for_reading_what_searches_find(fake, api_url, clock):
    add_topic_videos(fake, clock, "fb", 3, word="football")
    now = clock.time()
    resume = {  # 3 searches and 3 units left today; a tracked video due for a refresh
        "quota": {
            "day": quota_day(now),
            "buckets": {
                "search": {"spent": 1, "tokens": 1.0, "updated": now},
                "units": {"spent": 7, "tokens": 1.0, "updated": now},
            },
        },
        "tracker": {"old1": [now - 600, now - 1]},
    }
    fake.add_video("old1", moment(clock, -600), title="an older clip")
    source = source_for(
        api_url,
        clock,
        resume=resume,
        topics={"football": "football"},
        daily_search_calls=4,
        daily_quota_units=10,
    )
    items = take(clock.run(source), clock, until=now + 3600)
    assert sorted(ids(items)) == ["fb001", "fb002", "fb003"]
    assert [c.endpoint for c in fake.calls] == ["search", "videos"]  # no refresh of old1:
    assert source.ledger.remaining(UNITS, clock.time()) == 2  # 2 units for 2 searches left


@pytest.mark.slow
def test_the_source_never_calls_beyond_the_daily_budget(clock):
    fake = FakeYouTube(key=KEY, clock=clock)
    for topic in ("football", "music"):  # a new video every 20 minutes for two days
        for i in range(-6, 2 * 72):
            fake.add_video(f"{topic}{i}", moment(clock, i * 1200), title=f"{topic} {i}")
    schedule = {"schedule": [{"until_age_h": 24, "every_min": 5}]}  # more than 10 units/day
    with fake.serve() as url:
        source = source_for(
            url,
            clock,
            poll_interval_s=60.0,
            daily_search_calls=4,
            daily_quota_units=10,
            tracking=schedule,
        )
        take(clock.run(source), clock, until=clock.time() + 2 * 86_400)
    for endpoint, budget in (("search", 4), ("videos", 10)):
        per_day = {}
        for call in fake.endpoint_calls(endpoint):
            per_day.setdefault(quota_day(call.at), []).append(call.at)
        assert all(len(times) <= budget for times in per_day.values()), (endpoint, per_day)
        assert max(len(times) for times in per_day.values()) >= budget - 1  # budget used
    days = {}
    for call in fake.endpoint_calls("search"):
        days.setdefault(quota_day(call.at), []).append(call.at)
    for times in days.values():  # spread out: hours apart, not in one burst
        assert all(b - a >= 3600 for a, b in itertools.pairwise(times))
    assert all(c.status == 200 for c in fake.calls)


# ---------------------------------------------------------------------------- failures


def test_server_errors_are_retried_with_exponential_backoff(fake, api_url, clock, caplog):
    add_topic_videos(fake, clock, "fb", 3, word="football")
    fake.fail("search", "503", "500", "503")
    fake.fail("videos", *["disconnect"] * 4)
    source = source_for(api_url, clock, topics={"football": "football"})
    with caplog.at_level(logging.DEBUG):
        items = take(clock.run(source), clock, count=3)
    assert sorted(ids(items)) == ["fb001", "fb002", "fb003"]
    searches = [c.at for c in fake.endpoint_calls("search")]
    assert [round(b - a, 2) for a, b in itertools.pairwise(searches)] == [2, 4, 8]
    assert len(fake.endpoint_calls("videos")) >= 3  # dropped connections retried too
    assert source.ledger.spent(SEARCH, clock.time()) == 4  # every attempt is charged
    assert "retry 3 in 8 s" in caplog.text and KEY not in caplog.text


@pytest.mark.parametrize("style", ["legacy", "current"])
def test_a_refused_key_stops_the_source_with_a_clear_error(clock, tmp_path, caplog, style):
    fake = FakeYouTube(key="the-right-key", clock=clock, bad_key_style=style)
    with fake.serve() as url, caplog.at_level(logging.DEBUG):
        source = source_for(url, clock, tmp_path)
        with pytest.raises(SourceAuthError) as raised:
            take(clock.run(source), clock, until=clock.time() + 3600)
    message = str(raised.value)
    assert "refused the API key" in message and "${YOUTUBE_API_KEY}" in message
    assert ("keyInvalid" if style == "legacy" else "API_KEY_INVALID") in message
    assert url in message and "search.list" in message
    assert len(fake.calls) == 1  # no retry loop
    assert raised.value.__context__ is None and raised.value.__cause__ is None
    assert any(r.name.startswith("googleapiclient") for r in caplog.records)
    assert KEY not in caplog.text and KEY not in message
    assert not (tmp_path / "dead.jsonl").exists()


def test_forbidden_is_an_auth_error(fake, api_url, clock):
    fake.fail("search", "forbidden")
    source = source_for(api_url, clock)
    with pytest.raises(SourceAuthError, match="HTTP 403 forbidden") as raised:
        next(clock.run(source))
    assert KEY not in str(raised.value) and len(fake.calls) == 1


def test_no_secret_in_logs_items_or_dead_letters(fake, api_url, clock, tmp_path, caplog):
    add_topic_videos(fake, clock, "fb", 3, word="football")
    fake.fail("search", "malformed")
    source = source_for(api_url, clock, tmp_path, topics={"football": "football"})
    with caplog.at_level(logging.DEBUG):
        items = take(clock.run(source), clock, until=clock.time() + 700)
    assert len(items) == 3
    library = [r for r in caplog.records if r.name == "googleapiclient.discovery"]
    assert library and all("key=***" in r.getMessage() for r in library)
    assert KEY not in caplog.text
    assert KEY.encode() not in codec.dumps(items)
    assert KEY.encode() not in (tmp_path / "dead.jsonl").read_bytes()
    assert KEY.encode() not in codec.dumps(source.snapshot())


def test_a_malformed_body_is_dead_lettered_and_the_stream_goes_on(fake, api_url, clock, tmp_path):
    add_topic_videos(fake, clock, "fb", 3, word="football")
    fake.broken["fb002"] = {"kind": "youtube#video", "id": "fb002", "snippet": {"title": "x"}}
    fake.fail("search", "malformed")
    fake.fail("videos", "not_json")
    source = source_for(api_url, clock, tmp_path, topics={"football": "football"})
    stream = clock.run(source)
    t0 = clock.time()
    assert take(stream, clock, until=t0 + 599) == []  # the first poll got a broken page
    items = take(stream, clock, until=t0 + 1300)  # the second one a broken details body
    assert sorted(ids(items)) == ["fb001", "fb003"]  # the third one: fb002 is broken
    entries = DeadLetters(tmp_path / "dead.jsonl").entries()
    assert [e["reason"] for e in entries] == [
        "response body is not JSON",
        "response body is not JSON",
        "video fb002 has no created time",
    ]
    assert entries[0]["where"].startswith(f"search.list GET {api_url}youtube/v3/search?")
    assert "key=***" in entries[0]["where"] and entries[0]["item"].startswith('{"kind"')
    assert entries[1]["where"].startswith("videos.list GET")
    assert entries[2]["item"]["id"] == "fb002"
    assert all(e["component"] == "youtube" for e in entries)


def test_a_dead_letter_with_a_key_parameter_before_a_quote_keeps_the_source_running(
    fake, api_url, clock, tmp_path
):
    """Masking ``key=`` values in a dead-lettered item must not break its JSON: a text
    with ``?key=…"`` (an escaped quote once encoded) used to crash the source."""
    add_topic_videos(fake, clock, "fb", 2, word="football")
    odd = 'football: see https://example.com/watch?key=abc"quoted" for more'
    fake.broken["fb002"] = {"kind": "youtube#video", "id": "fb002", "snippet": {"title": odd}}
    source = source_for(api_url, clock, tmp_path, topics={"football": "football"})
    items = take(clock.run(source), clock, until=clock.time() + 60)
    assert ids(items) == ["fb001"]
    (entry,) = DeadLetters(tmp_path / "dead.jsonl").entries()
    assert entry["item"]["snippet"]["title"].startswith("football: see https://example.com/")
    assert "abc" not in entry["item"]["snippet"]["title"]


def test_a_plain_4xx_is_dead_lettered_and_skipped_until_the_next_turn(
    fake, api_url, clock, tmp_path
):
    """The one policy (docs/sources.md): a 4xx that is not auth, quota or a rate limit
    is dead-lettered, the poll is repeated at its next turn, the run goes on."""
    add_topic_videos(fake, clock, "fb", 2, word="football")
    fake.fail("search", "bad_request")
    source = source_for(api_url, clock, tmp_path, topics={"football": "football"})
    stream = clock.run(source)
    t0 = clock.time()
    assert take(stream, clock, until=t0 + 599) == []
    (entry,) = DeadLetters(tmp_path / "dead.jsonl").entries()
    assert entry["reason"].startswith("request refused: HTTP 400 invalidValue")
    assert entry["where"].startswith("search.list GET")
    assert sorted(ids(take(stream, clock, count=2))) == ["fb001", "fb002"]  # the next poll
    assert len(fake.endpoint_calls("search")) == 2


# ---------------------------------------------------------------------------- restart


def test_a_restart_from_the_snapshot_loses_nothing_and_remembers_the_quota(fake, api_url, clock):
    add_topic_videos(fake, clock, "fb", 120, word="football")
    config = {"topics": {"football": "football"}, "tracking": NO_TRACKING}  # no other memory
    first = source_for(api_url, clock, **config)
    stream = clock.run(first)
    checkpointed = take(stream, clock, count=50)
    checkpoint = json.loads(json.dumps(first.snapshot()))  # as the runner stores it
    lost_in_crash = take(stream, clock, count=20)  # emitted, but never checkpointed
    assert checkpoint["topics"]["football"]["handled"]  # the poll was in progress
    spent = checkpoint["quota"]["buckets"]

    second = source_for(api_url, clock, resume=checkpoint, **config)
    assert second.ledger.spent(SEARCH, clock.time()) == spent["search"]["spent"] >= 1
    assert second.ledger.spent(UNITS, clock.time()) == spent["units"]["spent"] >= 1
    resumed = take(clock.run(second), clock, until=clock.time() + 60)
    assert sorted(ids(checkpointed) + ids(resumed)) == sorted(fake.videos)  # no loss, no repeat
    overlap = set(ids(resumed)) & set(ids(checkpointed + lost_in_crash))
    assert overlap == set(ids(lost_in_crash))  # only what came after the checkpoint
    state = second.snapshot()
    assert state["topics"]["football"]["handled"] == []  # the poll completed
    assert (
        state["topics"]["football"]["published_after"]
        == fake.videos["fb001"]["snippet"]["publishedAt"]
    )
    assert state["quota"]["buckets"]["search"]["spent"] > spent["search"]["spent"]


# ---------------------------------------------------------------------------- end to end


def test_ingest_through_the_cli_into_a_local_lake(tmp_path, monkeypatch):
    fake = FakeYouTube(key=KEY)  # wall-clock time: the CLI runs the real pipeline
    now = datetime.now(UTC)
    for i in range(30):
        topic = "football" if i % 2 else "music"
        fake.add_video(f"v{i:02d}", now - timedelta(seconds=10 * i + 5), title=f"{topic} {i}")
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    with fake.serve() as url:
        config = {
            "name": "yt-e2e",
            "state_dir": str(tmp_path / "state"),
            "sources": [
                {
                    "type": "youtube",
                    "api_key": "${YOUTUBE_API_KEY}",
                    "api_url": url,
                    "topics": {"football": "football", "music": "music"},
                }
            ],
            "sinks": [{"type": "lake", "uri": str(tmp_path / "lake"), "fsync": False}],
        }
        path = tmp_path / "pipeline.json"
        path.write_text(json.dumps(config))
        run = CliRunner().invoke(
            main, ["ingest", "--config", str(path), "--limit", "30", "--quiet"]
        )
        assert run.exit_code == 0, run.output
        again = CliRunner().invoke(main, ["ingest", "--config", str(path), "--duration", "0.5"])
        assert again.exit_code == 0, again.output
    items = [item for item in LakeSource(LocalStore(tmp_path / "lake")) if item is not None]
    assert sorted(ids(items)) == sorted(fake.videos)  # the resumed run repeats nothing
    assert {item["_topic"] for item in items} == {"football", "music"}
    assert all(describe(item).platform == "youtube" for item in items)
    checkpoint = codec.loads((tmp_path / "state/yt-e2e/checkpoint.json").read_bytes())
    # 3 searches: the first run stopped (--limit) inside the music poll, which the second
    # run finished from the checkpoint, finding nothing new to emit
    assert checkpoint["sources"]["youtube"]["quota"]["buckets"]["search"]["spent"] == 3
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes(), file
    assert KEY not in run.output + again.output


def test_the_example_pipeline_loads_and_builds(monkeypatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    config = load_config(Path(__file__).parents[2] / "pipelines/youtube-to-lake.json")
    (youtube,) = [s for s in config.sources if s.type == "youtube"]
    assert "${YOUTUBE_API_KEY}" in json.dumps(config.model_dump(mode="json"))
    source = build_source(youtube, None, DeadLetters(None))
    assert isinstance(source, YouTubeSource) and source.snapshot()["topics"]
    source.close()
