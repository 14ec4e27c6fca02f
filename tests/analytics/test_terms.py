"""Term uses of one item: the warehouse's terms and case folding, cashtags, retweets at
their own time by the retweeter."""

from __future__ import annotations

import pytest

from factories import _z, at, tweet
from shoot2top.analytics.terms import ItemReader, read_item, term_uses
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
    original = tweet("2001", at(0))["tweet"]["data"]
    retweet = tweet("2002", at(30), at(20))
    data = retweet["tweet"]["data"]
    data.update(author_id="77", text="RT @pub: tweet 2001 #demo",
                referenced_tweets=[{"type": "retweeted", "id": "2001"}])  # fmt: skip
    retweet["tweet"]["includes"]["tweets"] = [original]
    retweet["tweet"]["includes"]["users"].append({"id": "77", "username": "fan"})
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
