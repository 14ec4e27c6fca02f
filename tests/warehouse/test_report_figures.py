"""Reports show only figures the platforms gave: no early views invented for an item first
seen old, unknown counters left unknown (not 0) in medians, ranks, benchmarks and live
scores, and a score on interactions named so. Items in the platforms' shapes
(tests/shapes.py), loaded into a real warehouse."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shapes import (
    PAGE,
    at,
    fb_item,
    fb_post,
    fb_video,
    x_item,
    x_metrics,
    x_tweet,
    x_user,
    x_video,
    yt_video,
)
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.performance import PUBLICATION_ANCHOR
from shoot2top.warehouse.reports import live_report, load_series, publisher_report, video_report

DAY = 24 * 60  # minutes


def series_of(dsn: str, items: list[dict]) -> list:
    WarehouseLoader(dsn).load(items)
    connection = connect(dsn)
    try:
        return load_series(connection)
    finally:
        connection.close()


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {row["item_id"]: row for row in rows}


def test_an_item_first_seen_days_later_gets_no_invented_early_figures(pg_dsn):
    seen = ((3 * DAY, 9_000), (5 * DAY, 9_500), (8 * DAY, 9_800))
    old = [yt_video("oldoldoldol", at(0), "Found late", at(minutes), views=views)
           for minutes, views in seen]  # fmt: skip
    young = [yt_video("youngyoungy", at(0), "Seen early", at(minutes), views=views)
             for minutes, views in ((30, 300), (120, 900))]  # fmt: skip
    rows = by_id(video_report(series_of(pg_dsn, [*old, *young])))
    late = rows["oldoldoldol"]
    assert (late["views_1h"], late["views_6h"], late["views_24h"]) == (None, None, None)
    assert late["views_7d"] == pytest.approx(9_500 + 300 * (2 / 3), abs=0.1)  # 5 d .. 8 d
    assert late["peak_views_per_h"] == pytest.approx(500 / 48, abs=0.05)  # not 9,000 / 72 h
    early = rows["youngyoungy"]  # first seen 30 min after publication: from zero then
    assert early["views_1h"] == pytest.approx(300 + 600 * 30 / 90, abs=0.1)
    assert early["peak_views_per_h"] == pytest.approx(600, abs=0.1)


def test_the_publication_anchor_threshold_is_an_hour(pg_dsn):
    assert timedelta(hours=1) == PUBLICATION_ANCHOR
    items = [
        yt_video("justintimee", at(0), "a", at(60), views=600),
        yt_video("justtoolate", at(0), "b", at(61), views=610),
    ]
    series = {s.item_id: s for s in series_of(pg_dsn, items)}
    assert series["justintimee"].value_at_age(timedelta(minutes=30)) == pytest.approx(300)
    assert series["justtoolate"].value_at_age(timedelta(minutes=30)) is None


def test_unknown_counters_stay_unknown_in_engagement(pg_dsn):
    items = [  # the owner hides the likes after the first look
        yt_video("hiddenlikes", at(0), "Likes hidden", at(10), views=100, likes=50, comments=10),
        yt_video("hiddenlikes", at(0), "Likes hidden", at(20), views=200, likes=None, comments=20),
        yt_video("hiddenlikes", at(0), "Likes hidden", at(40), views=400, likes=None, comments=40),
    ]
    (series,) = series_of(pg_dsn, items)
    # hidden likes are not 0 likes: no engagement of 20 or 40 where only comments are known
    assert series.value_at(at(20), "engagement") is None
    assert series.value_at(at(5), "engagement") == 30  # from zero: first seen at 10 min
    assert by_id(video_report([series]))["hiddenlikes"]["latest_engagement"] == 50 + 40
    assert series.value_at(at(30), "views") == 300  # the views are known throughout
    fan = x_user("5", "fan")
    thin = x_item(x_tweet("77", "clip", "5", at(0), metrics=x_metrics(likes=3),
                          media_keys=["7_9"]), at(10), users=[fan])  # fmt: skip
    ((row,),) = [[r for r in video_report(series_of(pg_dsn, [thin]), include_all_media=True)
                  if r["item_id"] == "77"]]  # fmt: skip
    assert row["latest_views"] is None  # media unknown: neither the video's views nor 0


def facebook_pages(pg_dsn: str) -> list:
    """A Page that posts without videos (no view counter at all), a Page with videos."""
    other = {"id": "231874650298113", "name": "Sabor de Casa"}
    posts = [
        fb_item(fb_post(f"90000{n}", at(-60 + n), f"post {n}", reactions=400 + n, comments=50,
                        shares=20), at(60))
        for n in range(3)
    ]  # fmt: skip
    videos = [
        fb_item({**fb_video(f"1016000000000000{n}", at(-60 + n), f"video {n}", views=50 * n,
                            reactions=5), "from": other}, at(60))
        for n in range(1, 4)
    ]  # fmt: skip
    return series_of(pg_dsn, [*posts, *videos])


def test_facebook_pages_without_views_do_not_sink_in_the_publisher_ranking(pg_dsn):
    rows = publisher_report(facebook_pages(pg_dsn))
    assert [row["publisher"] for row in rows] == [PAGE["name"], "Sabor de Casa"]
    first, second = rows
    assert first["median_views"] is None and first["top_views"] is None  # unknown, not 0
    assert first["median_engagement"] == 471  # 401 + 50 + 20
    assert (first["ranked_on"], first["rank_in_platform"]) == ("interactions", 1)
    assert first["best_item"] == f"{PAGE['id']}_900002"
    assert second["median_views"] == 100 and second["best_item"] == "10160000000000003"


def test_a_live_score_on_interactions_says_so_and_uses_known_values(pg_dsn):
    series = facebook_pages(pg_dsn)
    rows = by_id(live_report(series, at(60), hours=3))
    post = rows[f"{PAGE['id']}_900002"]
    assert post["scored_on"] == "interactions" and post["views"] is None
    assert post["interactions"] == 472
    video = rows["10160000000000003"]
    assert video["scored_on"] == "views" and video["views"] == 150
    assert video["interactions"] == 5  # reactions (a Video node has no shares counter)


def test_a_peer_first_seen_old_is_left_out_of_the_benchmark(pg_dsn):
    nasa = x_user("9", "nasa")

    def clip(tweet_id: str, published: int, observed: int, views: int) -> dict:
        data = x_tweet(tweet_id, "clip", "9", at(published), media_keys=[f"7_{tweet_id}"],
                       metrics=x_metrics(likes=1))  # fmt: skip
        return x_item(data, at(observed), users=[nasa], media=[x_video(f"7_{tweet_id}", views)])

    items = [
        clip("1", 0, 10, 100), clip("1", 0, 40, 400),  # a peer seen young
        clip("2", 5, 5 + 2 * DAY, 90_000),  # a peer first seen two days old
        clip("3", 2 * DAY, 2 * DAY + 20, 50),  # the item scored
    ]  # fmt: skip
    rows = by_id(live_report(series_of(pg_dsn, items), at(2 * DAY + 20), hours=1))
    # peer 1 at 20 min: 200 (between 10 and 40 min); peer 2 is unknown at 20 min, not 0
    assert rows["3"]["benchmark"] == 200 and rows["3"]["score"] == -4.0


def test_a_video_with_unknown_interactions_sorts_after_one_with_none():
    """Without views, videos order by interactions; an unknown figure is not a zero."""
    from datetime import UTC, datetime

    from shoot2top.warehouse.performance import Point, Series

    created = datetime(2026, 11, 20, 10, tzinfo=UTC)
    seen = created + timedelta(minutes=30)

    def video(item_id: str, point: Point) -> Series:
        return Series("facebook", item_id, "p", "P", "video", None, created, [point])

    rows = video_report([
        video("a-unknown", Point(seen)),  # observed, no counter reported
        video("b-zero", Point(seen, likes=0, shares=0, comments=0)),
        video("c-some", Point(seen, likes=3)),
    ])  # fmt: skip
    assert [row["item_id"] for row in rows] == ["c-some", "b-zero", "a-unknown"]
    assert rows[2]["latest_engagement"] is None and rows[1]["latest_engagement"] == 0
