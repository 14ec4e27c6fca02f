"""The X source and identity: retweets, quotes and edits on the fake X API v2, rules that
are not this source's topics; what the source emits must let the warehouse credit the
right item (tests/warehouse/test_identity.py checks the warehouse side)."""

from __future__ import annotations

import logging

from fakes.x_api import DROP, raw, tweets
from shoot2top import codec
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.warehouse.features import extract
from sources.test_x import SHORT_TRACKING, clock, closing, ids, make_source, take, x_api

__all__ = ["clock", "x_api"]  # fixtures


def test_a_retweet_arrives_with_its_original_and_credits_it(x_api, clock):
    original = x_api.add_tweet(
        "football: the goal of the season, from every angle, in slow motion, with the "
        "commentary of the night and the celebrations after it #goal #final",
        author="1", age_s=3600, views=9_000, likes=400,
    )  # fmt: skip
    retweet = x_api.add_retweet(original, author="2")
    quote = x_api.add_reference("quoted", original, "football genius", author="2")
    x_api.stream([tweets(retweet, quote)])
    source = make_source(x_api, clock)
    stream = clock.run(source)
    items = take(stream, 2)
    closing(source, stream)

    shared, quoting = items
    includes = shared["tweet"]["includes"]
    assert [t["id"] for t in includes["tweets"]] == [original]
    assert {u["username"] for u in includes["users"]} == {"catlover", "fcnews"}
    assert shared["tweet"]["data"]["text"].endswith("\u2026")  # X cuts a retweet's text
    features = extract(shared)
    assert (features.item_id, features.publisher.handle) == (original, "fcnews")
    assert features.metrics.views == 9_000 and features.hashtags == ["goal", "final"]
    assert features.amplifier.handle == "catlover"
    quoted = extract(quoting)
    assert quoted.item_id == quote and quoted.publisher.handle == "catlover"
    assert [(r.kind, r.referenced_id) for r in quoted.references] == [("quoted", original)]
    connect = x_api.calls("/2/tweets/search/stream")[0].params
    assert "referenced_tweets" in connect["tweet.fields"].split(",")


def message(tweet: dict, rules: list[dict]) -> bytes:
    return codec.dumps({"data": tweet, "matching_rules": rules})


def test_rules_that_are_not_topics_never_crash_the_source(x_api, clock, caplog):
    """A rule another deployment of the app added, and one without a tag: their tweets
    are kept (with the rule they matched) and the reconnect after them goes on."""
    foreign = x_api.tweets[x_api.add_tweet("rugby final", age_s=90)]
    untagged = x_api.tweets[x_api.add_tweet("rugby semi", age_s=80)]
    ours = x_api.add_tweet("cats", age_s=70)
    after = x_api.add_tweet("cats again", age_s=200)  # older: only the stream brings it
    x_api.stream(
        [
            raw(message(foreign, [{"id": "1590000000000000999", "tag": "other-deployment"}])),
            raw(message(untagged, [{"id": "1590000000000000998"}])),
            tweets(ours),
            DROP,
        ],
        [tweets(after)],
    )
    source = make_source(x_api, clock)
    stream = clock.run(source)
    with caplog.at_level(logging.WARNING, logger="shoot2top.sources.x"):
        items = take(stream, 4)
        snapshot = source.snapshot()
    closing(source, stream)
    assert ids(items) == [foreign["id"], untagged["id"], ours, after]
    assert [item.get("_topic") for item in items] == [None, None, "cats", "cats"]
    assert items[0]["tweet"]["matching_rules"] == [
        {"id": "1590000000000000999", "tag": "other-deployment"}
    ]
    assert set(snapshot["since_id"]) == {"cats"}  # no watermark for rules we do not own
    searched = {call.params["query"] for call in x_api.calls("/2/tweets/search/recent")}
    assert searched == {"cats"}  # the catch-up after the drop: configured topics only
    warnings = [
        r.getMessage() for r in caplog.records if "not one of this source" in r.getMessage()
    ]
    assert len(warnings) == 2 and "'other-deployment'" in warnings[0] and "None" in warnings[1]


def test_an_edited_tweet_is_tracked_at_its_newest_version(x_api, clock):
    first = x_api.add_tweet("cats at noon", age_s=60, likes=5)
    x_api.stream([tweets(first)])
    source = make_source(x_api, clock, tracking=SHORT_TRACKING)
    stream = clock.run(source)
    take(stream, 1)
    newest = x_api.edit(first, "cats at one, sorry")
    x_api.set_metrics(newest, likes=8)

    def later() -> None:
        clock.current += 30  # the stream is quiet; time passes

    stale = take(stream, 1, on_idle=later)[0]  # the refresh of `first`
    assert stale["tweet"]["data"]["id"] == first
    assert stale["tweet"]["data"]["edit_history_tweet_ids"] == [first, newest]
    assert first not in source.tracker and newest in source.tracker
    fresh = take(stream, 1, on_idle=later)[0]
    closing(source, stream)
    assert fresh["tweet"]["data"]["id"] == newest and fresh["_topic"] == "cats"
    features = extract(fresh)
    assert (features.item_id, features.text, features.metrics.likes) == (
        first, "cats at one, sorry", 8,
    )  # fmt: skip
    assert not extract(stale).counted  # the old version's frozen counters are not used


def test_an_object_where_the_tweet_id_belongs_is_a_dead_letter_not_a_crash(x_api, clock, tmp_path):
    bad = dict(x_api.tweets[x_api.add_tweet("cats odd", age_s=90)], id={"$numberLong": "1"})
    good = x_api.add_tweet("cats fine", age_s=80)
    x_api.stream([raw(message(bad, [{"id": "1", "tag": "cats"}])), tweets(good)])
    dead = DeadLetters(tmp_path / "deadletter.jsonl")
    source = make_source(x_api, clock, dead_letters=dead)
    stream = clock.run(source)
    assert ids(take(stream, 1)) == [good]
    closing(source, stream)
    (entry,) = dead.entries()
    assert (
        "tweet id is dict {'$numberLong': '1'}, expected a string or an integer"
        in (entry["reason"])
    )
