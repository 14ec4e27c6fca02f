"""Age-matched scores, and the catalog read from a real warehouse: terms, text, the
publisher lookup and its errors."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from curves import MONDAY, catalog, item, series
from shapes import at, yt_video
from shoot2top.recommend.catalog import (
    MIN_BENCHMARK_PEERS,
    RecommendError,
    age_matched_scores,
    find_item,
    find_publisher,
    load_catalog,
)
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.loader import WarehouseLoader


def test_score_is_the_log_of_views_at_24h_over_the_trimmed_mean_of_earlier_items() -> None:
    earlier = [
        series(f"e{i}", MONDAY + timedelta(hours=i), final)
        for i, final in enumerate([1000, 2000, 3000, 4000, 100_000, 10])
    ]
    late = series("late", MONDAY + timedelta(days=2), 5000)
    scores = age_matched_scores([*earlier, late])
    at_24h = [one.value_at_age(timedelta(hours=24)) for one in earlier]
    kept = sorted(at_24h)[1:-1]  # a quarter of 6 rounds down to 1 dropped at each end
    expected = sum(kept) / len(kept)
    score = scores[("youtube", "late")]
    assert score.expected == pytest.approx(expected)
    assert score.actual == late.value_at_age(timedelta(hours=24))
    assert score.log_ratio == pytest.approx(math.log(score.actual / expected))
    assert score.peers == 6


def test_no_score_without_enough_earlier_peers_or_before_24h() -> None:
    items = [series(f"i{n}", MONDAY + timedelta(hours=n), 1000) for n in range(7)]
    young = series("young", MONDAY + timedelta(days=3), 1000, ages_h=(1, 6, 12))
    scores = age_matched_scores([*items, young])
    scored = sorted(key[1] for key in scores)
    # the first MIN_BENCHMARK_PEERS items have too few earlier peers; the young one no 24 h
    assert scored == [f"i{n}" for n in range(MIN_BENCHMARK_PEERS, 7)]


def test_peers_are_the_same_publisher_and_media_type() -> None:
    mine = [series(f"m{n}", MONDAY + timedelta(hours=n), 1000) for n in range(6)]
    others = [series(f"o{n}", MONDAY + timedelta(hours=n), 10**6, publisher="p2") for n in range(6)]
    shorts = [series(f"s{n}", MONDAY + timedelta(hours=n), 10**6, media="short") for n in range(6)]
    target = series("t", MONDAY + timedelta(days=1), 1000)
    score = age_matched_scores([*mine, *others, *shorts, target])[("youtube", "t")]
    assert score.log_ratio == pytest.approx(0.0, abs=1e-9)


def test_interactions_score_items_without_views() -> None:
    posts = [
        series(f"f{n}", MONDAY + timedelta(hours=n), 100, platform="facebook", interactions=True)
        for n in range(7)
    ]
    score = age_matched_scores(posts)[("facebook", "f6")]
    assert score.metric == "engagement"
    assert score.log_ratio == pytest.approx(0.0, abs=1e-9)


def test_catalog_keeps_terms_and_sorts_items_by_time() -> None:
    later = item(series("b", MONDAY + timedelta(hours=2), 10), hashtags=["x"])
    first = item(series("a", MONDAY, 10), keywords=["y"])
    built = catalog([later, first])
    assert [one.series.item_id for one in built.items] == ["a", "b"]
    assert built.publisher_items("youtube", "p1")[1].hashtags == ("x",)


def _load(dsn: str) -> None:
    items = []
    for number in range(8):
        published = at(number * 60)
        title = f"Derby day number {number} #MatchDay" if number % 2 else f"ニュース {number}"
        for age in (30, 24 * 60 + 5):
            items.append(
                yt_video(f"v{number}", published, title, at(number * 60 + age), views=100 + age)
            )
    WarehouseLoader(dsn).load(items)


def test_load_catalog_reads_terms_text_and_cuts_at_the_moment(pg_dsn: str) -> None:
    _load(pg_dsn)
    connection = connect(pg_dsn)
    try:
        everything = load_catalog(connection)
        early = load_catalog(connection, until=at(3 * 60 + 31))
    finally:
        connection.close()
    one = everything.find(("youtube", "v1"))
    assert one is not None
    assert "matchday" in one.hashtags and "derby" in one.keywords
    assert one.text.startswith("Derby day number 1")
    assert everything.find(("youtube", "v2")).keywords  # Japanese text kept as a keyword
    assert [i.series.item_id for i in early.items] == ["v0", "v1", "v2", "v3"]
    # observations after the moment are not read: nothing is 24 h old yet, nothing scored
    assert early.scores == {}
    assert len(everything.scores) == 8 - MIN_BENCHMARK_PEERS


def test_find_publisher_and_item_say_what_is_missing_or_ambiguous(pg_dsn: str) -> None:
    _load(pg_dsn)
    connection = connect(pg_dsn)
    try:
        assert find_publisher(connection, "UCnews").name == "News Channel"
        assert find_item(connection, "v3") == ("youtube", "v3")
        with pytest.raises(RecommendError, match="no publisher 'nobody' in the warehouse"):
            find_publisher(connection, "nobody")
        with pytest.raises(RecommendError, match="--columns platform,publisher_id,publisher"):
            find_publisher(connection, "News Channel")  # a name: the hint shows the ids
        with pytest.raises(RecommendError, match="no publisher 'UCnews' on x"):
            find_publisher(connection, "UCnews", "x")
        with pytest.raises(RecommendError, match=r"no item 'v99'.*--columns platform,item_id"):
            find_item(connection, "v99")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO publishers (platform, publisher_id, last_observed_at)"
                " VALUES ('x', 'UCnews', now())"
            )
        connection.commit()
        with pytest.raises(RecommendError, match=r"ambiguous .*youtube:UCnews.*--platform"):
            find_publisher(connection, "UCnews")
    finally:
        connection.close()
