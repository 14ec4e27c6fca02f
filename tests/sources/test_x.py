"""The X source against the fake X API v2: tweepy talks HTTP to a loopback server that
speaks X's wire format; retry schedules are checked on a FakeClock."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.clock import FakeClock
from fakes.x_api import (
    DROP,
    END,
    RESET,
    FakeX,
    fake_x,
    operational_disconnect,
    pause,
    problem,
    raw,
    snowflake,
    status,
    tweets,
    until,
)
from shoot2top import codec, posts
from shoot2top.config import XSourceConfig, load_config
from shoot2top.lake.store import LocalStore
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sources.lake import LakeSource
from shoot2top.sources.live import SourceAuthError, SourceFailure
from shoot2top.sources.x import XSource
from shoot2top.sources.x_stream import TWEEPY_HOST, rest_client
from shoot2top.warehouse.features import extract

REPO = Path(__file__).parents[2]
TOKEN = "AAAAAAAAAAAAAAAAAAAAAFakeBearerToken%2Fsecret123"
TOPICS = {"football": "football has:videos", "cats": "cats"}
SHORT_TRACKING = {"schedule": [{"until_age_h": 1, "every_min": 5}]}
TOPICS_OF_EXAMPLE = {"football", "music"}  # pipelines/x-to-local-lake.json


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def x_api(clock: FakeClock) -> Iterator[FakeX]:
    with fake_x(TOKEN, now=clock.time) as fake:
        fake.add_user("1", "fcnews", followers=5000)
        fake.add_user("2", "catlover", followers=70)
        yield fake


def make_source(
    fake: FakeX,
    clock: FakeClock,
    *,
    token: str = TOKEN,
    resume: dict[str, Any] | None = None,
    dead_letters: DeadLetters | None = None,
    **settings: Any,
) -> XSource:
    config = XSourceConfig.model_validate_json(
        codec.dumps(
            {
                "type": "x",
                "bearer_token": "${X_BEARER_TOKEN}",
                "api_url": fake.url,
                "topics": TOPICS,
                **settings,
            }
        )
    )
    return XSource(
        config, bearer_token=token, resume=resume, dead_letters=dead_letters, clock=clock
    )


def take(
    iterator: Iterator[Any], count: int, *, on_idle: Any = None, within_s: float = 15.0
) -> list[dict[str, Any]]:
    """The next `count` items (skipping idle Nones), failing after `within_s` real s."""
    items: list[dict[str, Any]] = []
    deadline = time.monotonic() + within_s
    while len(items) < count:
        assert time.monotonic() < deadline, f"only {len(items)} of {count} items arrived"
        item = next(iterator)
        if item is None:
            if on_idle is not None:
                on_idle()
            continue
        items.append(item)
    return items


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["tweet"]["data"]["id"] for item in items]


def closing(source: XSource, iterator: Iterator[Any]) -> None:
    iterator.close()  # type: ignore[attr-defined]
    source.close()


# ----------------------------------------------------------------------------- stream


def test_stream_syncs_rules_and_tags_each_tweet_with_its_topic(x_api, clock):
    stale = x_api.add_rule("rugby", "rugby")
    kept = x_api.add_rule("cats", "cats")
    retagged = x_api.add_rule("football has:videos", "soccer")  # right query, wrong tag
    goal = x_api.add_tweet("What a football goal! #final", author="1", views=1234, likes=9)
    cat = x_api.add_tweet("cats being cats", author="2")
    x_api.stream([tweets(goal, cat)])
    source = make_source(x_api, clock)
    stream = clock.run(source)
    items = take(stream, 2)
    closing(source, stream)

    rules = {(r["value"], r.get("tag")) for r in x_api.rules.values()}
    assert rules == {("football has:videos", "football"), ("cats", "cats")}
    assert kept in x_api.rules
    posts_ = x_api.calls("/2/tweets/search/stream/rules", "POST")
    assert sorted(posts_[0].body["delete"]["ids"]) == sorted([stale, retagged])
    assert posts_[1].body == {"add": [{"value": "football has:videos", "tag": "football"}]}

    football, cats = items
    assert (football["_topic"], cats["_topic"]) == ("football", "cats")
    assert football["_source"] == "x.filtered_stream"
    assert football["_observed_at"] == posts.format_time(clock.now())
    assert football["tweet"]["matching_rules"][0]["tag"] == "football"
    assert football["tweet"]["includes"]["users"] == [
        {
            "id": "1",
            "name": "Fcnews",
            "username": "fcnews",
            "public_metrics": x_api.users["1"]["public_metrics"],
        }
    ]
    assert football["tweet"]["includes"]["media"][0]["public_metrics"] == {"view_count": 1234}
    assert "media" not in cats["tweet"]["includes"]
    assert set(football["tweet"]["data"]) >= {"created_at", "public_metrics", "lang", "entities"}
    connect = x_api.calls("/2/tweets/search/stream")[0].params
    assert connect["expansions"] == (
        "author_id,attachments.media_keys,referenced_tweets.id,referenced_tweets.id.author_id"
    )
    assert "public_metrics" in connect["media.fields"].split(",")
    assert connect["user.fields"] == "public_metrics,name,username"
    for item in items:
        assert posts.describe(item).item_id in (goal, cat)


def test_a_dropped_stream_reconnects_on_the_linear_network_schedule(x_api, clock):
    second = x_api.add_tweet("cats two", age_s=120)  # older: the gap search cannot find it
    first = x_api.add_tweet("cats one", age_s=60)
    x_api.stream([tweets(first), DROP], [RESET], [RESET], [tweets(second)])
    source = make_source(x_api, clock)
    stream = clock.run(source)
    assert ids(take(stream, 2)) == [first, second]
    closing(source, stream)
    assert list(source.waits) == [("network", 0.25), ("network", 0.5), ("network", 0.75)]
    assert clock.waited() == pytest.approx(1.5)
    assert len(x_api.calls("/2/tweets/search/stream")) == 4


def test_what_was_posted_while_the_stream_was_down_is_searched_for(x_api, clock):
    """A reconnect during a run catches up from the watermark, like a restart does: the
    tweets posted while the stream was down come from recent search."""
    late = x_api.add_tweet("cats late", age_s=400)  # older than `first`: stream only
    first = x_api.add_tweet("cats one", age_s=300)
    x_api.stream([tweets(first), DROP])
    gap = [x_api.add_tweet(f"cats while down {n}", age_s=200 - n) for n in range(3)]
    # the new connection redelivers one of them, then brings something search cannot find
    x_api.stream([tweets(gap[2], late)])
    source = make_source(x_api, clock)
    stream = clock.run(source)
    items = take(stream, 5)
    closing(source, stream)
    assert ids(items)[0] == first and ids(items)[4] == late
    assert sorted(ids(items[1:4])) == sorted(gap)
    assert [item["_source"] for item in items[1:4]] == ["x.recent_search"] * 3
    search = x_api.calls("/2/tweets/search/recent")
    assert [call.params["since_id"] for call in search] == [first]
    assert source.duplicates_dropped == 1


def test_silence_beyond_the_keepalive_timeout_reconnects(x_api, clock):
    first = x_api.add_tweet("cats one")
    second = x_api.add_tweet("cats two")
    x_api.stream([tweets(first), pause(2.0), tweets(first)], [tweets(second)])
    source = make_source(x_api, clock, keepalive_timeout_s=0.3)
    stream = clock.run(source)
    started = time.monotonic()
    assert ids(take(stream, 2)) == [first, second]
    assert time.monotonic() - started < 1.5  # did not wait for the server to speak again
    closing(source, stream)
    assert list(source.waits) == [("network", 0.25)]


def test_a_clean_end_and_an_operational_disconnect_both_reconnect(x_api, clock):
    # b and c are older than a: the gap search after each reconnect cannot find them
    c, b, a = (
        x_api.add_tweet(f"cats {n}", age_s=age) for n, age in (("c", 180), ("b", 120), ("a", 60))
    )
    x_api.stream(
        [tweets(a), END],
        [tweets(b), raw(operational_disconnect()), tweets(a)],
        [tweets(c)],
    )
    source = make_source(x_api, clock)
    stream = clock.run(source)
    assert ids(take(stream, 3)) == [a, b, c]
    closing(source, stream)
    assert list(source.waits) == [("network", 0.25), ("network", 0.25)]
    assert source.duplicates_dropped == 0  # the disconnect closed the line before `a` again


def test_429_on_the_stream_waits_until_the_rate_limit_reset(x_api, clock):
    tweet = x_api.add_tweet("cats")
    reset = int(clock.time()) + 90
    limited = status(429, problem(429, "Too Many Requests"), {"x-rate-limit-reset": str(reset)})
    x_api.stream([limited], [tweets(tweet)])
    source = make_source(x_api, clock)
    stream = clock.run(source)
    take(stream, 1)
    closing(source, stream)
    assert list(source.waits) == [("rate_limit", 90.0)]
    assert clock.time() == reset


def test_429_without_a_reset_header_backs_off_exponentially_from_60_s(x_api, clock):
    tweet = x_api.add_tweet("cats")
    no_reset = {"x-rate-limit-reset": ""}
    x_api.stream(*[[status(429, None, no_reset)]] * 3, [tweets(tweet)])
    source = make_source(x_api, clock)
    stream = clock.run(source)
    take(stream, 1)
    closing(source, stream)
    assert [delay for _, delay in source.waits] == [60.0, 120.0, 240.0]


def test_server_errors_back_off_exponentially_from_5_s_and_reset_after_data(x_api, clock):
    b = x_api.add_tweet("cats b", age_s=120)  # older than a: only the stream delivers it
    a = x_api.add_tweet("cats a", age_s=60)
    x_api.stream(
        [status(503)],
        [status(503)],
        [status(500)],
        [tweets(a), DROP],
        [status(503)],
        [tweets(b)],
    )
    source = make_source(x_api, clock)
    stream = clock.run(source)
    assert ids(take(stream, 2)) == [a, b]
    closing(source, stream)
    assert list(source.waits) == [
        ("http", 5.0),
        ("http", 10.0),
        ("http", 20.0),
        ("network", 0.25),
        ("http", 5.0),
    ]
    assert clock.waited() == pytest.approx(40.25)


def test_a_plain_4xx_on_the_stream_is_dead_lettered_and_reconnects_on_the_http_schedule(
    x_api, clock, tmp_path
):
    a = x_api.add_tweet("cats a", age_s=60)
    body = problem(400, "Invalid Request", "One or more parameters to your request was invalid.")
    x_api.stream([status(400, body)], [tweets(a)])
    dead = DeadLetters(tmp_path / "dead.jsonl")
    source = make_source(x_api, clock, dead_letters=dead)
    stream = clock.run(source)
    assert ids(take(stream, 1)) == [a]
    closing(source, stream)
    assert list(source.waits) == [("http", 5.0)]
    (entry,) = dead.entries()
    assert "400 Invalid Request: One or more parameters" in entry["reason"]
    assert entry["where"].endswith("/2/tweets/search/stream")


def test_a_refused_token_stops_at_once_with_a_clear_error(x_api, clock):
    wrong = "wrong-token-0123456789"
    source = make_source(x_api, clock, token=wrong)
    with pytest.raises(SourceAuthError) as caught:
        next(clock.run(source))
    message = str(caught.value)
    assert "401" in message and "Unauthorized" in message
    assert "${X_BEARER_TOKEN}" in message and f"{x_api.url}/2/tweets/search/stream/rules" in message
    assert wrong not in message and TOKEN not in message
    assert len(x_api.requests) == 1 and clock.waited() == 0  # no retry loop
    assert x_api.requests[0].authorization == f"Bearer {wrong}"


def test_a_forbidden_stream_connection_is_an_auth_error_too(x_api, clock):
    body = {
        "client_id": "101",
        "title": "Client Forbidden",
        "reason": "client-not-enrolled",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
        "keys and tokens from a Twitter developer App that is attached to a Project.",
        "registration_url": "https://developer.x.com/en/docs/projects/overview",
        "required_enrollment": "Appropriate Level of API Access",
        "type": "https://api.twitter.com/2/problems/client-forbidden",
    }
    x_api.stream([status(403, body)])
    source = make_source(x_api, clock)
    with pytest.raises(SourceAuthError, match="403 Client Forbidden: When authenticating"):
        take(clock.run(source), 1)
    assert len(x_api.calls("/2/tweets/search/stream")) == 1
    source.close()


def test_a_rejected_rule_names_its_topic(x_api, clock):
    source = make_source(x_api, clock, topics={"bad": "cats INVALID(", "cats": "cats"})
    rejected = r"topic 'bad' \('cats INVALID\('\): Reference"
    with pytest.raises(SourceFailure, match=rejected) as raised:
        next(clock.run(source))
    source.close()
    assert raised.value.kind == "fatal" and raised.value.stops_run  # a config error: stop


def test_a_plain_4xx_is_dead_lettered_and_skipped_until_the_next_turn(x_api, clock, tmp_path):
    """The one policy (docs/sources.md): a 4xx that is not auth or a rate limit is
    dead-lettered, the operation waits for its next turn, the run goes on."""
    tweet = x_api.add_tweet("cats", age_s=10)
    x_api.fail("/2/tweets/search/recent", 400, problem(400, "Invalid Request", "bad query"))
    dead = DeadLetters(tmp_path / "dead.jsonl")
    source = make_source(
        x_api, clock, mode="search", topics={"cats": "cats"}, dead_letters=dead,
        poll_interval_s=60,
    )  # fmt: skip
    stream = clock.run(source)
    assert ids(take(stream, 1, on_idle=lambda: clock.sleep(1))) == [tweet]  # the next poll
    closing(source, stream)
    (entry,) = dead.entries()
    assert "400 Invalid Request: bad query" in entry["reason"]
    assert entry["where"].endswith("/2/tweets/search/recent")
    assert len(x_api.calls("/2/tweets/search/recent")) == 2 and clock.time() >= 60


def test_a_malformed_line_is_dead_lettered_and_the_rest_delivered(x_api, clock, tmp_path):
    a, b = x_api.add_tweet("cats a"), x_api.add_tweet("cats b")
    broken = b'{"data": {"id": "1867", "text": "cats'
    x_api.stream([tweets(a), raw(broken), raw(b'{"meta": {}}'), tweets(b)])
    dead = DeadLetters(tmp_path / "deadletter.jsonl")
    source = make_source(x_api, clock, dead_letters=dead)
    stream = clock.run(source)
    assert ids(take(stream, 2)) == [a, b]
    closing(source, stream)
    entries = dead.entries()
    assert [e["item"] for e in entries] == [broken.decode(), '{"meta": {}}']
    assert "malformed JSON" in entries[0]["reason"] and entries[0]["component"] == "x"
    assert entries[0]["where"] == f"{x_api.url}/2/tweets/search/stream"
    assert not source.waits  # nothing reconnected


def test_duplicate_deliveries_are_dropped_and_counted(x_api, clock):
    c = x_api.add_tweet("cats c", age_s=180)  # older than a and b: only the stream has it
    a, b = x_api.add_tweet("cats a"), x_api.add_tweet("cats b")
    x_api.stream([tweets(a, b, a), DROP], [tweets(b, a), DROP], [tweets(c)])
    source = make_source(x_api, clock)
    stream = clock.run(source)
    items = take(stream, 3)
    closing(source, stream)
    assert len(set(ids(items))) == 3
    assert source.duplicates_dropped == 3
    assert "3 duplicates dropped" in source.report()


def test_a_restart_catches_up_by_search_without_loss_and_with_bounded_overlap(x_api, clock):
    early = [x_api.add_tweet(f"cats {n}", age_s=600 - n) for n in range(5)]
    x_api.stream([tweets(*early)])
    first = make_source(x_api, clock)
    stream = clock.run(first)
    emitted = take(stream, 3)
    checkpoint = codec.loads(codec.dumps(first.snapshot()))  # sinks durable up to here
    emitted += take(stream, 2)  # yielded after the checkpoint, then the process dies
    closing(first, stream)
    assert checkpoint["since_id"] == {"cats": early[2]}

    while_down = [x_api.add_tweet(f"cats missed {n}", age_s=300 - n) for n in range(3)]
    live = x_api.add_tweet("cats live", age_s=1)
    newer = x_api.add_tweet("cats newer", age_s=0)
    hidden = x_api.tweets.pop(newer)  # posted only once the catch-up is done
    posted = threading.Event()
    # the stream (connected before the catch-up) redelivers two tweets search also finds
    x_api.stream([tweets(while_down[2], live), until(posted), tweets(newer)])
    second = make_source(x_api, clock, resume=checkpoint)
    stream = clock.run(second)
    resumed = take(stream, 6)
    x_api.tweets[newer] = hidden
    posted.set()
    resumed += take(stream, 1)
    closing(second, stream)

    assert sorted(ids(resumed[:6])) == sorted(early[3:] + while_down + [live])  # overlap: 2
    assert ids(resumed[6:]) == [newer]
    everything = early + while_down + [live, newer]
    assert set(ids(emitted)) | set(ids(resumed)) == set(everything)
    assert len(emitted) + len(resumed) == len(everything) + 2
    assert second.duplicates_dropped == 2
    search = x_api.calls("/2/tweets/search/recent")
    assert [call.params["since_id"] for call in search] == [early[2]]
    assert {item["_source"] for item in resumed[:6]} == {"x.recent_search"}
    assert second.snapshot()["passes"] == {}
    assert second.snapshot()["since_id"]["cats"] == newer


def test_a_crash_during_the_catch_up_still_fills_the_gap_after_it(x_api, clock):
    """Restart, crash half-way through the catch-up search, restart again: the rest of
    the first gap comes, and so does the second gap (since the first restart)."""
    early = [x_api.add_tweet(f"cats {n}", age_s=900 - n) for n in range(3)]
    x_api.stream([tweets(*early)])
    first = make_source(x_api, clock)
    stream = clock.run(first)
    take(stream, 3)
    checkpoint = codec.loads(codec.dumps(first.snapshot()))
    closing(first, stream)

    missed = [x_api.add_tweet(f"cats missed {n}", age_s=800 - n) for n in range(150)]
    second = make_source(x_api, clock, resume=checkpoint)  # the stream: keep-alives only
    stream = clock.run(second)
    before = take(stream, 120)  # a page of 100, then 20 of the next
    checkpoint = codec.loads(codec.dumps(second.snapshot()))
    closing(second, stream)
    assert checkpoint["passes"]["cats"]["since_id"] == early[-1]
    assert checkpoint["since_id"]["cats"] == missed[-1]

    later = [x_api.add_tweet(f"cats later {n}", age_s=100 - n) for n in range(3)]
    third = make_source(x_api, clock, resume=checkpoint)
    stream = clock.run(third)
    after = take(stream, 33, within_s=5)
    closing(third, stream)
    assert sorted(ids(before + after)) == sorted(missed + later)
    assert third.duplicates_dropped == 0


def test_refreshes_run_between_stream_reads(x_api, clock):
    video = x_api.add_tweet("football goal", views=100, age_s=30)
    x_api.stream([tweets(video)])
    source = make_source(x_api, clock, tracking=SHORT_TRACKING)
    stream = clock.run(source)
    take(stream, 1)
    x_api.set_metrics(video, likes=50, views=900)

    def later() -> None:
        clock.current += 60  # the stream is quiet; time passes

    refreshed = take(stream, 1, on_idle=later)
    closing(source, stream)
    assert refreshed[0]["_source"] == "x.refresh"
    assert refreshed[0]["_topic"] == "football"
    assert refreshed[0]["tweet"]["includes"]["media"][0]["public_metrics"]["view_count"] == 900
    assert extract(refreshed[0]).metrics.views == 900
    assert x_api.calls("/2/tweets")[0].params["ids"] == video


# ----------------------------------------------------------------------------- search


def test_search_pages_through_next_token_newer_than_the_watermark(x_api, clock):
    old = [x_api.add_tweet(f"cats {n}", author=str(1 + n % 2), age_s=5000 - n) for n in range(250)]
    watermark = old[9]
    resume = {"since_id": {"cats": watermark}}
    source = make_source(x_api, clock, mode="search", topics={"cats": "cats"}, resume=resume)
    stream = clock.run(source)
    first_poll = take(stream, 240)
    assert ids(first_poll) == list(reversed(old[10:]))  # newest first, none at or below
    calls = x_api.calls("/2/tweets/search/recent")
    assert [c.params.get("next_token") is not None for c in calls] == [False, True, True]
    assert {c.params["since_id"] for c in calls} == {watermark}
    assert {c.params["max_results"] for c in calls} == {"100"}
    for item in first_poll:  # each item carries only its own author
        users = item["tweet"]["includes"]["users"]
        assert [u["id"] for u in users] == [item["tweet"]["data"]["author_id"]]
    assert {item["_source"] for item in first_poll} == {"x.recent_search"}

    new = [x_api.add_tweet(f"cats new {n}", age_s=1) for n in range(3)]
    second_poll = take(stream, 3)
    closing(source, stream)
    assert sorted(ids(second_poll)) == sorted(new)
    assert x_api.calls("/2/tweets/search/recent")[-1].params["since_id"] == old[-1]
    assert clock.waited() >= 60  # polled again after the poll interval


def test_a_new_topic_starts_from_its_newest_page(x_api, clock):
    for n in range(150):
        x_api.add_tweet(f"cats {n}", age_s=5000 - n)
    source = make_source(x_api, clock, mode="search", topics={"cats": "cats"})
    stream = clock.run(source)
    take(stream, 100)
    newest = max(x_api.tweets, key=int)
    assert source.snapshot()["since_id"] == {"cats": newest}
    closing(source, stream)
    assert len(x_api.calls("/2/tweets/search/recent")) == 1


def test_a_crash_during_a_new_topics_first_page_loses_nothing(x_api, clock):
    """The first page is emitted oldest first, so the watermark never passes a tweet of
    it that was not yielded yet."""
    page = [x_api.add_tweet(f"cats {n}", age_s=500 - n) for n in range(5)]
    first = make_source(x_api, clock, mode="search", topics={"cats": "cats"})
    stream = clock.run(first)
    before = take(stream, 2)
    checkpoint = codec.loads(codec.dumps(first.snapshot()))
    closing(first, stream)

    second = make_source(x_api, clock, mode="search", topics={"cats": "cats"}, resume=checkpoint)
    stream = clock.run(second)
    after = take(stream, 3, within_s=5)
    closing(second, stream)
    assert {item["_source"] for item in after} == {"x.recent_search"}
    assert sorted(ids(before + after)) == sorted(page)


def test_an_interrupted_search_pass_resumes_exactly_where_it_stopped(x_api, clock):
    old = [x_api.add_tweet(f"cats {n}", age_s=5000 - n) for n in range(250)]
    resume = {"since_id": {"cats": old[9]}}
    first = make_source(x_api, clock, mode="search", topics={"cats": "cats"}, resume=resume)
    stream = clock.run(first)
    before = take(stream, 150)
    checkpoint = codec.loads(codec.dumps(first.snapshot()))
    closing(first, stream)
    assert checkpoint["passes"]["cats"] == {
        "since_id": old[9],
        "until_id": before[-1]["tweet"]["data"]["id"],
    }

    second = make_source(x_api, clock, mode="search", topics={"cats": "cats"}, resume=checkpoint)
    stream = clock.run(second)
    after = take(stream, 90)
    closing(second, stream)
    assert ids(before) + ids(after) == list(reversed(old[10:]))
    assert x_api.calls("/2/tweets/search/recent")[-1].params["until_id"] == ids(before)[-1]
    assert second.duplicates_dropped == 0


def test_a_watermark_older_than_seven_days_catches_up_from_the_window_start(x_api, clock, caplog):
    ancient = snowflake(clock.time() - 8 * 86400, 1)
    recent = x_api.add_tweet("cats recent", age_s=3600)
    resume = {"since_id": {"cats": ancient}}
    source = make_source(x_api, clock, mode="search", topics={"cats": "cats"}, resume=resume)
    stream = clock.run(source)
    with caplog.at_level(logging.WARNING):
        assert ids(take(stream, 1)) == [recent]
    closing(source, stream)
    call = x_api.calls("/2/tweets/search/recent")[0]
    assert "since_id" not in call.params and call.params["start_time"].endswith("Z")
    assert "older than recent search's 7 days" in caplog.text


def test_search_calls_honour_429_reset_and_back_off_on_5xx(x_api, clock):
    tweet = x_api.add_tweet("cats")
    reset = int(clock.time()) + 300
    x_api.fail("/2/tweets/search/recent", 429, headers={"x-rate-limit-reset": str(reset)})
    x_api.fail("/2/tweets/search/recent", 503, times=2)
    source = make_source(x_api, clock, mode="search", topics={"cats": "cats"})
    stream = clock.run(source)
    assert ids(take(stream, 1)) == [tweet]
    closing(source, stream)
    assert list(source.waits) == [("rate_limit", 300.0), ("http", 5.0), ("http", 10.0)]
    assert clock.time() >= reset + 15


def test_refresh_emits_new_observations_and_forgets_deleted_tweets(x_api, clock):
    keep = x_api.add_tweet("cats video", views=10, age_s=120)
    gone = x_api.add_tweet("cats gone", age_s=100)
    plain = x_api.add_tweet("cats text", likes=1, age_s=90)
    source = make_source(
        x_api, clock, mode="search", topics={"cats": "cats"}, tracking=SHORT_TRACKING
    )
    stream = clock.run(source)
    seen = take(stream, 3)
    first_seen = clock.time()
    x_api.set_metrics(keep, likes=7, views=4321)
    x_api.delete_tweet(gone)

    refreshed = take(stream, 2)
    assert sorted(ids(refreshed)) == sorted([keep, plain])
    assert {item["_source"] for item in refreshed} == {"x.refresh"}
    assert {item["_topic"] for item in refreshed} == {"cats"}
    assert clock.time() >= first_seen + 300
    video = next(item for item in refreshed if item["tweet"]["data"]["id"] == keep)
    assert posts.describe(video).observed_at > posts.describe(seen[0]).observed_at
    assert video["tweet"]["data"]["public_metrics"]["like_count"] == 7
    assert extract(video).metrics.views == 4321
    assert gone not in source.tracker and source.forgotten == 1
    lookups = x_api.calls("/2/tweets")
    assert sorted(lookups[0].params["ids"].split(",")) == sorted([keep, gone, plain])
    assert (
        lookups[0].params["media.fields"]
        == "public_metrics,duration_ms,type,media_key,preview_image_url,url,width,height"
    )

    take(stream, 2)  # the next round asks only for the tweets still there
    closing(source, stream)
    assert sorted(x_api.calls("/2/tweets")[1].params["ids"].split(",")) == sorted([keep, plain])
    assert gone not in source.snapshot()["tracker"]


def test_a_failed_refresh_is_skipped_without_blocking_the_source(x_api, clock):
    x_api.add_tweet("cats", age_s=10)
    x_api.fail("/2/tweets", 503)
    source = make_source(
        x_api, clock, mode="search", topics={"cats": "cats"}, tracking=SHORT_TRACKING
    )
    stream = clock.run(source)
    take(stream, 1)
    refreshed = take(stream, 1)
    closing(source, stream)
    assert refreshed[0]["_source"] == "x.refresh"
    assert ("http", 5.0) in source.waits
    assert len(x_api.calls("/2/tweets")) == 2  # the failed one, then the next on schedule


# ----------------------------------------------------------------------------- secrets


def test_the_bearer_token_never_appears_in_logs_errors_items_or_dead_letters(
    x_api, clock, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    a, b = x_api.add_tweet("cats a", views=5), x_api.add_tweet("cats b")
    x_api.stream([status(503)], [tweets(a), raw(b"not json " + TOKEN.encode()), DROP], [tweets(b)])
    dead = DeadLetters(tmp_path / "deadletter.jsonl")
    source = make_source(x_api, clock, dead_letters=dead, tracking=SHORT_TRACKING)
    stream = clock.run(source)
    items = take(stream, 2)
    items += take(stream, 2, on_idle=lambda: setattr(clock, "current", clock.current + 60))
    snapshot = codec.dumps(source.snapshot())
    closing(source, stream)
    with pytest.raises(SourceAuthError) as caught:
        next(clock.run(make_source(x_api, clock, token=TOKEN + "x")))

    assert x_api.requests[0].authorization == f"Bearer {TOKEN}"  # it was in use
    assert "Bearer ***" in caplog.text  # tweepy's DEBUG line with the headers, scrubbed
    for text in (
        caplog.text,
        str(caught.value),
        codec.dumps(items).decode(),
        dead.path.read_text(),
        snapshot.decode(),
        source.report(),
    ):
        assert TOKEN not in text
    assert dead.count == 1


def test_the_default_api_url_leaves_tweepy_talking_to_x():
    default = rest_client(TOKEN, "https://api.x.com").session.get_adapter(TWEEPY_HOST + "/2/x")
    rerouted = rest_client(TOKEN, "http://127.0.0.1:9/").session.get_adapter(TWEEPY_HOST + "/2")
    assert default.target is None
    assert rerouted.target == "http://127.0.0.1:9"


# ----------------------------------------------------------------------------- end to end


def test_example_configs_load(monkeypatch):
    for name, value in {
        "X_BEARER_TOKEN": TOKEN,
        "LAKE_ACCESS_KEY_ID": "k",
        "LAKE_SECRET_ACCESS_KEY": "s",
    }.items():
        monkeypatch.setenv(name, value)
    s3 = load_config(REPO / "pipelines/x-to-s3-lake.json")
    local = load_config(REPO / "pipelines/x-to-local-lake.json")
    assert s3.sources[0].type == local.sources[0].type == "x"
    assert s3.sinks[0].uri.startswith("s3://")
    assert s3.sinks[0].s3.access_key_id.variable == "LAKE_ACCESS_KEY_ID"
    assert TOKEN not in codec.dumps(s3.redacted()).decode()


@pytest.mark.slow
def test_ingest_into_a_local_lake_end_to_end(tmp_path):
    with fake_x(TOKEN) as fake:
        fake.add_user("1", "fcnews", followers=5000)
        video = fake.add_tweet("football: what a goal #final", author="1", views=98765)
        text = fake.add_tweet("cats are football fans now", author="2")
        fake.stream([tweets(video, text)])
        env = {
            **os.environ,
            "X_BEARER_TOKEN": TOKEN,
            "X_API_URL": fake.url,
            "SHOOT2TOP_STATE": str(tmp_path / "state"),
        }
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "shoot2top.cli",
                "--log-level",
                "DEBUG",
                "ingest",
                "--config",
                str(REPO / "pipelines/x-to-local-lake.json"),
                "--duration",
                "2",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )
    assert run.returncode == 0, run.stderr
    assert "2 items" in run.stdout
    lake = tmp_path / "state" / "lake"
    items = [item for item in LakeSource(LocalStore(lake)) if item is not None]
    assert sorted(ids(items)) == sorted([video, text])
    features = {}
    for item in items:
        info = posts.describe(item)
        assert info.platform == "x" and info.topic in TOPICS_OF_EXAMPLE
        features[info.item_id] = extract(item)
    assert features[video].metrics.views == 98765
    assert features[video].media_type == "video" and features[video].duration_s == 42.0
    assert features[video].publisher.handle == "fcnews"
    assert features[video].publisher.followers == 5000
    assert features[text].metrics.likes == 0
    checkpoint = codec.loads((tmp_path / "state/x-to-local-lake/checkpoint.json").read_bytes())
    assert checkpoint["sources"]["x"]["since_id"] == {"football": max(video, text, key=int)}
    stored = b"".join(p.read_bytes() for p in (tmp_path / "state").rglob("*") if p.is_file())
    for text_ in (run.stdout, run.stderr, stored.decode("utf-8", "replace")):
        assert TOKEN not in text_
