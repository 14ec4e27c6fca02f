"""Who and what an observation is about, on the platforms' documented shapes
(tests/shapes.py): retweets, quotes, replies, edited tweets, Facebook post/video pairs
and live videos, objects without ``from``, thin refreshes, ids that are not ids, and
features that must not be invented from cut or placeholder text."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import uuid

import pytest

from pgtest import checksums
from shapes import (
    PAGE,
    at,
    fb_item,
    fb_live_video,
    fb_post,
    fb_video,
    hashtag_entities,
    snowflake,
    x_item,
    x_metrics,
    x_tweet,
    x_user,
    x_video,
    yt_video,
)
from shoot2top.posts import InvalidPost, describe
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.features import extract
from shoot2top.warehouse.loader import WarehouseLoader

NASA = x_user("11348282", "NASA", 80_000_000)
FAN = x_user("222", "fan", 12)
CRITIC = x_user("333", "critic", 4500)
ORIGINAL_AT = at(-120)
ORIGINAL_ID = snowflake(ORIGINAL_AT)
ORIGINAL_TEXT = "Liftoff! Artemis heads for the Moon, watch the launch again #Artemis #NASA"
MEDIA_KEY = "7_1590000000000000007"


def original(likes: int = 900, retweets: int = 300) -> dict:
    return x_tweet(
        ORIGINAL_ID, ORIGINAL_TEXT, NASA["id"], ORIGINAL_AT,
        metrics=x_metrics(likes=likes, retweets=retweets), media_keys=[MEDIA_KEY],
        entities=hashtag_entities(ORIGINAL_TEXT, "Artemis", "NASA"),
    )  # fmt: skip


def retweet(by: dict, minutes: float, views: int, *, with_original: bool = True) -> dict:
    """A retweet as X sends it: text cut with "…", the original in ``includes.tweets``."""
    moment = at(minutes)
    text = f"RT @NASA: {ORIGINAL_TEXT}"[:59] + "\u2026"  # "... #Artemis #NA…"
    data = x_tweet(
        snowflake(moment, int(by["id"])), text, by["id"], moment,
        metrics=x_metrics(retweets=300), media_keys=[MEDIA_KEY],
        referenced=[("retweeted", ORIGINAL_ID)],
        entities={"mentions": [{"start": 3, "end": 8, "username": "NASA", "id": NASA["id"]}]},
    )  # fmt: skip
    return x_item(
        data, moment + (at(1) - at(0)),
        users=[by, NASA] if with_original else [by],
        media=[x_video(MEDIA_KEY, views)],
        tweets=[original()] if with_original else None,
    )  # fmt: skip


def rows(dsn: str, sql: str) -> list[tuple]:
    connection = connect(dsn)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        found = cursor.fetchall()
    connection.close()
    return found


def load_in_every_order(postgres_server, items: list[dict]) -> str:
    """Load `items` in every order (each as its own batch, then all in one): the
    warehouse must end the same; returns one of those databases."""
    results, dsn = set(), ""
    for order in [*itertools.permutations(items), None]:
        dsn = postgres_server.new_database(migrated=True)
        loader = WarehouseLoader(dsn)
        if order is None:
            loader.load(items)
        else:
            for item in order:
                loader.load([item])
        loader.close()
        results.add(tuple(sorted(checksums(dsn).items())))
    assert len(results) == 1
    return dsn


# ----------------------------------------------------------------------------- retweets


def test_a_retweet_observes_the_original_and_is_only_a_link_for_the_retweeter():
    features = extract(retweet(FAN, -5, views=50_000))
    assert features.item_id == ORIGINAL_ID and features.created_at == ORIGINAL_AT
    assert features.publisher.publisher_id == NASA["id"] and features.publisher.handle == "NASA"
    assert features.text == ORIGINAL_TEXT  # the original's whole text, not the cut copy
    assert features.hashtags == ["artemis", "nasa"]  # not "na" from "#NA…"
    assert features.media_type == "video" and features.metrics.views == 50_000
    assert (features.metrics.likes, features.metrics.shares) == (900, 300)
    assert features.url == f"https://x.com/NASA/status/{ORIGINAL_ID}"
    assert features.amplifier.publisher_id == FAN["id"] and features.amplifier.followers == 12
    (link,) = features.references
    assert (link.kind, link.referenced_id, link.publisher_id) == ("retweeted", ORIGINAL_ID, "222")


@pytest.mark.slow
def test_retweets_credit_the_original_in_the_warehouse_whatever_the_order(postgres_server):
    direct = x_item(original(likes=880, retweets=290), at(-10),
                    users=[NASA], media=[x_video(MEDIA_KEY, 48_000)])  # fmt: skip
    items = [direct, retweet(FAN, -5, views=50_000), retweet(CRITIC, -3, views=51_000)]
    dsn = load_in_every_order(postgres_server, items)
    assert rows(dsn, "SELECT item_id, publisher_id, media_type FROM items") == [
        (ORIGINAL_ID, NASA["id"], "video")
    ]
    views = rows(dsn, "SELECT views FROM metric_snapshots ORDER BY observed_at")
    assert views == [(48_000,), (50_000,), (51_000,)]  # all three observe the original
    links = rows(dsn, "SELECT kind, referenced_id, publisher_id FROM item_references ORDER BY 3")
    assert links == [("retweeted", ORIGINAL_ID, "222"), ("retweeted", ORIGINAL_ID, "333")]
    publishers = dict(rows(dsn, "SELECT publisher_id, handle FROM publishers"))
    assert publishers == {NASA["id"]: "NASA", "222": "fan", "333": "critic"}


def test_a_retweet_without_its_original_in_includes_loads_only_the_link(pg_dsn):
    result = WarehouseLoader(pg_dsn).load([retweet(FAN, -5, 50_000, with_original=False)])
    assert (result.loaded, result.dead_lettered) == (1, 0)
    assert rows(pg_dsn, "SELECT count(*) FROM items") == [(0,)]
    assert rows(pg_dsn, "SELECT count(*) FROM metric_snapshots") == [(0,)]
    assert rows(pg_dsn, "SELECT referenced_id, publisher_id FROM item_references") == [
        (ORIGINAL_ID, "222")
    ]
    assert rows(pg_dsn, "SELECT publisher_id FROM publishers") == [("222",)]


# ----------------------------------------------------------------------------- quotes, replies


def test_a_quote_is_the_quoters_own_item_linked_to_the_quoted_video():
    moment = at(-2)
    text = "This launch never gets old https://t.co/q"
    data = x_tweet(
        snowflake(moment, 9), text, CRITIC["id"], moment,
        metrics=x_metrics(likes=40, impressions=7_000),
        media_keys=[MEDIA_KEY],  # even if X listed the quoted video's media here
        referenced=[("quoted", ORIGINAL_ID)],
        entities={"urls": [{"start": 27, "end": 41, "url": "https://t.co/q",
                            "expanded_url": f"https://x.com/NASA/status/{ORIGINAL_ID}"}]},
    )  # fmt: skip
    item = x_item(data, at(0), users=[CRITIC, NASA], media=[x_video(MEDIA_KEY, 50_000)],
                  tweets=[original()])  # fmt: skip
    features = extract(item)
    assert features.item_id == data["id"] and features.publisher.publisher_id == CRITIC["id"]
    assert features.media_type == "text" and features.duration_s is None
    assert features.metrics.views == 7_000  # its own impressions, not the video's views
    assert features.amplifier is None
    (link,) = features.references
    assert (link.referencing_id, link.kind, link.referenced_id) == (
        data["id"], "quoted", ORIGINAL_ID,
    )  # fmt: skip


def test_a_reply_is_the_repliers_own_item_linked_to_its_parent():
    moment = at(-1)
    data = x_tweet(snowflake(moment, 5), "@NASA what a view", FAN["id"], moment,
                   metrics=x_metrics(likes=2), referenced=[("replied_to", ORIGINAL_ID)],
                   entities={"mentions": [{"start": 0, "end": 5, "username": "NASA"}]})  # fmt: skip
    features = extract(x_item(data, at(0), users=[FAN, NASA], tweets=[original()]))
    assert features.item_id == data["id"] and features.publisher.publisher_id == FAN["id"]
    assert features.mentions == ["nasa"] and features.metrics.likes == 2
    assert [(r.kind, r.referenced_id) for r in features.references] == [("replied_to", ORIGINAL_ID)]


# ----------------------------------------------------------------------------- edits


@pytest.mark.slow
def test_the_versions_of_an_edited_tweet_are_one_item_with_the_latest_text(postgres_server):
    a_at, b_at = at(-30), at(-20)
    a_id, b_id = snowflake(a_at, 1), snowflake(b_at, 2)
    key = "7_a"
    first = x_tweet(a_id, "Launch at 10:00 #Artemis", NASA["id"], a_at,
                    metrics=x_metrics(likes=50), media_keys=[key])  # fmt: skip
    edited = x_tweet(b_id, "Launch moved to 11:00 #Artemis", NASA["id"], b_at,
                     metrics=x_metrics(likes=20), media_keys=[key],
                     history=[a_id, b_id])  # fmt: skip
    stale = {**first, "edit_history_tweet_ids": [a_id, b_id], "public_metrics": x_metrics(55)}
    items = [
        x_item(first, at(-25), users=[NASA], media=[x_video(key, 1_000)]),
        x_item(edited, at(-10), users=[NASA], media=[x_video(key, 3_000)]),
        # a later refresh of the old id: the old version, frozen, newest observation of all
        x_item(stale, at(-5), users=[NASA], media=[x_video(key, 3_100)], source="x.refresh"),
    ]
    dsn = load_in_every_order(postgres_server, items)
    ((item_id, text, created, version, url),) = rows(
        dsn, "SELECT item_id, text, created_at, edit_version, url FROM items"
    )
    assert (item_id, text, version) == (a_id, "Launch moved to 11:00 #Artemis", 1)
    assert created == a_at and url == f"https://x.com/NASA/status/{b_id}"
    assert rows(dsn, "SELECT alias_id, item_id, kind FROM item_aliases") == [(b_id, a_id, "edit")]
    # the superseded version's frozen counters are not the item's
    assert rows(dsn, "SELECT views, likes FROM metric_snapshots ORDER BY observed_at") == [
        (1_000, 50), (3_000, 20),
    ]  # fmt: skip


# ----------------------------------------------------------------------------- thin refreshes


def test_a_lookup_without_includes_does_not_blank_media_duration_or_author(postgres_server):
    data = original()
    full = x_item(data, at(0), users=[NASA], media=[x_video(MEDIA_KEY, 50_000, 61_000)])
    thin = x_item({**data, "public_metrics": x_metrics(likes=950)}, at(5), source="x.refresh")
    features = extract(thin)
    assert features.media_type is None and features.duration_s is None  # unknown here
    assert features.metrics.views is None and not features.detailed
    dsn = load_in_every_order(postgres_server, [full, thin])
    assert rows(dsn, "SELECT media_type, duration_s, publisher_id FROM items") == [
        ("video", 61.0, NASA["id"])
    ]
    assert rows(dsn, "SELECT name FROM publishers") == [("Nasa",)]
    assert rows(dsn, "SELECT views, likes FROM metric_snapshots ORDER BY observed_at") == [
        (50_000, 900), (None, 950),
    ]  # fmt: skip


def test_a_youtube_read_without_content_details_keeps_the_duration(postgres_server):
    full = yt_video("dQw4w9WgXcQ", at(-60), "Highlights", at(0), views=100)
    thin = yt_video("dQw4w9WgXcQ", at(-60), "Highlights", at(10), views=150,
                    parts=("snippet", "statistics"))  # fmt: skip
    dsn = load_in_every_order(postgres_server, [full, thin])
    assert rows(dsn, "SELECT duration_s, media_type FROM items") == [(253.0, "video")]
    assert rows(dsn, "SELECT views FROM metric_snapshots ORDER BY observed_at") == [
        (100,), (150,),
    ]  # fmt: skip


# ----------------------------------------------------------------------------- Facebook


@pytest.mark.slow
def test_a_page_post_of_a_video_and_its_video_node_are_one_item(postgres_server):
    video_id, created = "10160000000000001", at(-60)
    items = [
        fb_item(fb_post("900001", created, "Flood footage", reactions=10, comments=2,
                        shares=3, video_id=video_id), at(0)),
        fb_item(fb_video(video_id, created, "Flood footage from the coast", views=500,
                         reactions=10, comments=2), at(1)),
        fb_item(fb_post("900001", created, "Flood footage", reactions=30, comments=5,
                        shares=9, video_id=video_id), at(30)),
    ]  # fmt: skip
    dsn = load_in_every_order(postgres_server, items)
    assert rows(dsn, "SELECT item_id, media_type, duration_s, title FROM items") == [
        (video_id, "video", 95.5, "Flood footage from the coast")
    ]
    assert rows(dsn, "SELECT alias_id, kind FROM item_aliases") == [
        (f"{PAGE['id']}_900001", "post")
    ]
    assert rows(dsn, "SELECT views, shares FROM metric_snapshots ORDER BY observed_at") == [
        (None, 3), (500, None), (None, 9),
    ]  # fmt: skip


def test_a_share_of_a_video_is_not_the_video():
    shared = fb_post("900002", at(-10), "Look at this", video_id="10160000000000001",
                     status_type="shared_story")  # fmt: skip
    assert extract(fb_item(shared, at(0))).item_id == f"{PAGE['id']}_900002"


def test_a_live_video_is_a_video_and_one_item_with_its_video_node():
    live = fb_live_video("20170000000000009", at(-15), "Election night", status="LIVE",
                         video_id="10160000000000042", live_views=3_500, reactions=80)  # fmt: skip
    item = fb_item(live, at(0))
    info = describe(item)  # not a dead letter: `creation_time` is its created time
    assert info.created_at == at(-15) and info.publisher_id == PAGE["id"]
    features = extract(item)
    assert (features.item_id, features.media_type) == ("10160000000000042", "video")
    assert features.aliases == (("20170000000000009", "live_video"),)
    assert features.metrics.views is None  # live_views counts viewers now, not views
    assert features.metrics.likes == 80 and features.metrics.shares is None
    vod = fb_video("10160000000000042", at(-15), "Election night", views=12_000)
    assert extract(fb_item(vod, at(60))).item_id == features.item_id
    scheduled = fb_live_video(
        "20170000000000010", at(30), "Tomorrow", status="SCHEDULED_UNPUBLISHED"
    )
    assert extract(fb_item(scheduled, at(0))).item_id == "20170000000000010"


def test_an_object_without_from_belongs_to_the_listed_page():
    video = fb_video("10160000000000077", at(-5), "Traffic", views=10, from_page=False)
    listed = extract(fb_item(video, at(0), _page=dict(PAGE)))
    assert listed.publisher.publisher_id == PAGE["id"]
    assert listed.publisher.name == PAGE["name"]
    post = fb_post("900003", at(-5), "No author here", from_page=False)
    assert extract(fb_item(post, at(0))).publisher.publisher_id == PAGE["id"]  # from its id


# ----------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        ("id", {"$numberLong": "1590"}, "tweet id is dict {'$numberLong': '1590'}, expected"),
        ("id", ["1590"], "tweet id is list ['1590'], expected a string or an integer"),
        ("id", 1.59e18, "tweet id is float"),
        ("id", True, "tweet id is bool"),
        ("author_id", {"id": "1"}, "publisher id is dict {'id': '1'}, expected a string"),
    ],
)
def test_an_id_must_be_a_string_or_an_integer(where, value, message):
    data = original()
    data[where] = value
    with pytest.raises(InvalidPost) as caught:
        describe(x_item(data, at(0)))
    assert message in str(caught.value)
    data[where] = 1590000000000000001 if where == "id" else 11348282
    assert describe(x_item(data, at(0))).item_id  # integers are ids (v1.1 numbers)


def test_an_object_id_is_a_dead_letter_and_the_rest_loads(pg_dsn):
    bad = original()
    bad["id"] = {"$numberLong": "1590"}
    good = x_item(original(), at(0), users=[NASA], media=[x_video(MEDIA_KEY, 1)])
    result = WarehouseLoader(pg_dsn).load([good, x_item(bad, at(1)), good])
    assert (result.loaded, result.dead_lettered) == (2, 1)
    ((reason,),) = rows(pg_dsn, "SELECT reason FROM dead_letters")
    assert "tweet id is dict" in reason and "expected a string or an integer" in reason
    assert rows(pg_dsn, "SELECT item_id FROM items") == [(ORIGINAL_ID,)]


@pytest.mark.slow
def test_lake_verify_reports_an_object_id(tmp_path):
    bad = original()
    bad["id"] = {"$numberLong": "1590"}
    folder = tmp_path / "lake" / f"2026-11-20T00:00:00-{uuid.uuid4()}"
    folder.mkdir(parents=True)
    good = x_item(original(), at(0))
    (folder / "0000000").write_text(json.dumps([good, x_item(bad, at(1))]))
    result = subprocess.run(
        [sys.executable, "-m", "shoot2top.cli", "lake", "verify", str(tmp_path / "lake")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0000000 item 1: tweet id is dict" in result.stdout
    assert "1 valid item(s), 1 problem(s)" in result.stdout


# ----------------------------------------------------------------------------- text features


def test_hashtags_and_mentions_come_from_entities_when_present():
    text = "Great match #Football tonight, congrats #Champ\u2026"
    data = x_tweet("1", text, "9", at(0), entities=hashtag_entities(text, "Football"))
    features = extract(x_item(data, at(0)))
    assert features.hashtags == ["football"]  # what X parsed, nothing from the text


def test_the_text_fallback_invents_nothing_from_a_cut_word():
    text = "RT @fcnews: Great match #Football tonight with @Coach, more at https://t.co/Ab\u2026"
    features = extract(x_item(x_tweet("1", text, "9", at(0)), at(0)))  # no entities asked
    assert features.hashtags == ["football"] and features.mentions == ["fcnews", "coach"]
    assert features.urls == [] and "https" not in features.keywords
    cut_tag = extract(x_item(x_tweet("2", "Tonight: #Football #Champ\u2026", "9", at(0)), at(0)))
    assert cut_tag.hashtags == ["football"] and "champ" not in cut_tag.keywords
    cut_link = extract(x_item(x_tweet("3", "Watch the final https://t.co/x1 htt\u2026", "9",
                                      at(0)), at(0)))  # fmt: skip
    assert cut_link.urls == ["https://t.co/x1"] and cut_link.keywords == ["final"]


def test_a_withheld_placeholder_has_no_keywords_mentions_or_tags():
    text = (
        "This Post from @newsdesk has been withheld in Germany, France in response to a "
        "legal demand. Learn more. #news"
    )
    features = extract(x_item(x_tweet("1", text, "9", at(0)), at(0)))
    assert features.text == text  # stored as X sent it
    assert (features.keywords, features.mentions, features.hashtags) == ([], [], [])
    account = "@newsdesk's account has been withheld in India based on local law(s)."
    assert extract(x_item(x_tweet("2", account, "9", at(0)), at(0))).keywords == []
