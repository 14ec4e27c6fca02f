"""Term uses of one item: the warehouse's terms and case folding, cashtags, retweets at
their own time by the retweeter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from factories import _z, at, tweet
from shoot2top.analytics.terms import FUTURE_SKEW_S, ItemReader, read_item, term_uses
from shoot2top.posts import InvalidPost


def test_a_tweets_terms_are_case_folded_like_the_warehouses() -> None:
    item = tweet("1001", at(5), at(0))
    item["tweet"]["data"]["text"] = "Ｓｔｒａße #ＭidnightDrop $AAPL with @SomeOne hailstorm"
    uses = term_uses(item)
    assert {(u.term, u.kind) for u in uses} == {
        ("midnightdrop", "hashtag"), ("aapl", "cashtag"), ("someone", "mention"),
        ("strasse", "keyword"), ("aapl", "keyword"), ("hailstorm", "keyword"),
    }  # fmt: skip
    use = uses[0]
    assert (use.platform, use.item_key, use.publisher, use.at) == ("x", "x:1001", "42",
                                                                   at(0).timestamp())  # fmt: skip


def test_a_retweet_uses_the_originals_terms_at_its_own_time_by_the_retweeter() -> None:
    retweet = referencing("retweeted", "RT @pub: tweet 2001 #demo", "77")
    key, platform, moment, uses = read_item(retweet)
    assert (key, platform, moment) == ("x:2002", "x", at(20).timestamp())
    assert {(u.term, u.kind) for u in uses} >= {("demo", "hashtag")}
    assert {(u.item_key, u.publisher, u.at) for u in uses} == {("x:2002", "77", at(20).timestamp())}


def test_not_a_streamable_object_is_refused() -> None:
    with pytest.raises(InvalidPost):
        term_uses({"nothing": {}, "_observed_at": _z(at(0))})


def test_the_item_reader_counts_what_is_not_a_streamable_object_and_goes_on() -> None:
    reader = ItemReader(invalid=2)
    good = tweet("1001", at(5), at(0))
    read = list(reader.read([{"nothing": {}}, good, {"tweet": "?"}, good]))
    assert [item.item_key for item in read] == ["x:1001", "x:1001"]
    assert reader.invalid == 4


def test_a_quote_tweets_terms_count_at_its_own_time_by_the_quoter() -> None:
    """A quote is its own item: its own text's terms, at its own created_at, by its
    author — not at the quoted tweet's time (that one is volume when it happened)."""
    key, platform, moment, uses = read_item(referencing("quoted", "so true #quoted", "78"))
    assert (key, platform, moment) == ("x:2002", "x", at(20).timestamp())
    assert ("quoted", "hashtag") in {(u.term, u.kind) for u in uses}
    assert {(u.item_key, u.publisher, u.at) for u in uses} == {("x:2002", "78", at(20).timestamp())}


def referencing(kind: str, text: str, author: str) -> dict:
    """Tweet 2002 by `author` (created at 20, observed at 30) referencing 2001 (at 0)."""
    original = tweet("2001", at(0))["tweet"]["data"]
    item = tweet("2002", at(30), at(20))
    item["tweet"]["data"].update(author_id=author, text=text,
                                 referenced_tweets=[{"type": kind, "id": "2001"}])  # fmt: skip
    item["tweet"]["includes"]["tweets"] = [original]
    item["tweet"]["includes"]["users"].append({"id": author, "username": "fan"})
    return item


def test_an_item_created_far_after_it_was_observed_is_refused_naming_it() -> None:
    """A created_at in the future of its observation is a data error: taken as event
    time it would close every bucket up to it (a year-9999 item: a marker walking
    billions of empty buckets, and every real item after it late)."""
    reader = ItemReader()
    bogus = tweet("1001", at(5), datetime(9999, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidPost, match=r"x:1001 .*9999.*after it was observed"):
        read_item(bogus)
    skewed = tweet("1002", at(5), at(5) + timedelta(seconds=FUTURE_SKEW_S))  # a clock's skew
    assert [item.item_key for item in reader.read([bogus, skewed])] == ["x:1002"]
    assert reader.invalid == 1
