import copy
from collections import Counter

import pytest

from shoot2top.posts import InvalidPost, describe
from shoot2top.sample.generate import generate_items
from shoot2top.warehouse.features import extract, hashtags, iso_duration, keywords, mentions
from shoot2top.warehouse.rows import batch_rows, observe

ITEMS = generate_items(items=600)


def first(kind, predicate=lambda item: True):
    return copy.deepcopy(next(i for i in ITEMS if kind in i and predicate(i[kind])))


def test_tweet_with_video():
    item = first(
        "tweet", lambda t: any(m["type"] == "video" for m in t["includes"].get("media", []))
    )
    f = extract(item)
    data, media = item["tweet"]["data"], item["tweet"]["includes"]["media"][0]
    user = item["tweet"]["includes"]["users"][0]
    assert (f.platform, f.item_type, f.item_id) == ("x", "tweet", data["id"])
    assert f.publisher.publisher_id == data["author_id"] and f.publisher.handle == user["username"]
    assert f.publisher.followers == user["public_metrics"]["followers_count"]
    assert f.text == data["text"] and f.media_type == "video"
    assert f.duration_s == media["duration_ms"] / 1000
    assert f.metrics.views == media["public_metrics"]["view_count"]
    assert f.metrics.likes == data["public_metrics"]["like_count"]
    assert f.metrics.shares == data["public_metrics"]["retweet_count"]
    assert f.metrics.comments == data["public_metrics"]["reply_count"]
    assert f.metrics.quotes == data["public_metrics"]["quote_count"]
    assert f.url == f"https://x.com/{user['username']}/status/{data['id']}"
    assert f.hashtags == [t["tag"].casefold() for t in data.get("entities", {}).get("hashtags", [])]


def test_tweet_without_media_counts_impressions_as_views():
    item = first("tweet", lambda t: "attachments" not in t["data"])
    f = extract(item)
    assert f.media_type == "text" and f.duration_s is None
    assert f.metrics.views == item["tweet"]["data"]["public_metrics"]["impression_count"]


def test_youtube_video():
    item = first("video")
    f = extract(item)
    video = item["video"]
    assert f.publisher.publisher_id == video["snippet"]["channelId"]
    assert f.publisher.name == video["snippet"]["channelTitle"] and f.publisher.followers is None
    assert f.title == video["snippet"]["title"] and f.media_type == "video"
    assert f.metrics.views == int(video["statistics"]["viewCount"])
    assert f.metrics.shares is None and f.metrics.quotes is None
    assert f.duration_s == iso_duration(video["contentDetails"]["duration"])
    assert f.url == f"https://www.youtube.com/watch?v={video['id']}"


def test_facebook_page_video_and_post():
    video = extract(first("post", lambda p: "length" in p))
    assert video.media_type == "video" and video.duration_s > 0
    assert video.metrics.views is not None and video.metrics.shares is None
    assert video.url.startswith("https://www.facebook.com/")
    post_item = first("post", lambda p: "length" not in p and "shares" not in p)
    post = extract(post_item)
    assert post.metrics.shares == 0  # the Graph API omits `shares` until the first share
    assert post.metrics.likes == post_item["post"]["reactions"]["summary"]["total_count"]
    assert post.publisher.name == post_item["post"]["from"]["name"]


def test_items_without_hashtags_have_none():
    item = first("tweet", lambda t: "#" not in t["data"]["text"])
    assert extract(item).hashtags == []


def test_emoji_and_non_latin_text_are_kept_intact():
    assert hashtags("Tonight 🎧 #Música #खाना #東京 #midnightDrop") == [
        "música", "खाना", "東京", "midnightdrop",
    ]  # fmt: skip
    assert keywords("घर पर बनाएं स्वादिष्ट paella 🌧️ مباراة رائعة") == [
        "घर", "पर", "बनाएं", "स्वादिष्ट", "paella", "مباراة", "رائعة",
    ]  # fmt: skip
    assert keywords("今日は東京で大雨です") == ["今日は東京で大雨です"]


def test_keywords_drop_stopwords_short_latin_words_urls_tags_and_mentions():
    text = "The Cats of Rome are at it again! #cats @rome https://t.co/x 2026 ok"
    assert keywords(text) == ["cats", "rome"]
    assert mentions("mail a@b.c, ping @Someone, see https://youtube.com/@chan") == ["someone"]


def test_withheld_tweet_without_text_or_includes():
    item = {
        "tweet": {
            "data": {
                "id": "1",
                "created_at": "2026-11-20T10:00:00.000Z",
                "author_id": "9",
                "withheld": {"copyright": True, "country_codes": ["DE"]},
            }
        },
        "_observed_at": "2026-11-20T10:05:00Z",
    }
    f = extract(item)
    assert f.text is None and f.keywords == [] and f.hashtags == []
    assert f.publisher.publisher_id == "9" and f.publisher.name is None
    assert f.metrics.views is None and f.url == "https://x.com/i/web/status/1"


def test_deleted_or_private_youtube_video_keeps_only_its_identity():
    item = {
        "video": {
            "kind": "youtube#video",
            "id": "abc",
            "snippet": {"publishedAt": "2026-11-20T10:00:00Z"},
        }
    }
    f = extract(item)
    assert f.publisher is None and f.title is None and f.metrics.views is None
    assert f.duration_s is None


def test_facebook_post_with_missing_optional_fields():
    item = {"post": {"id": "1_2", "created_time": "2026-11-20T10:00:00+0000"}}
    f = extract(item)
    assert f.publisher.publisher_id == "1"  # no `from`: the Page its id names
    assert f.publisher.name is None and f.text is None and f.media_type == "status"
    assert f.metrics.likes is None and f.metrics.comments is None


def test_malformed_counters_become_none():
    item = first("video")
    item["video"]["statistics"] = {"viewCount": "lots", "likeCount": True, "commentCount": None}
    assert extract(item).metrics.views is None


def test_legacy_v1_tweet():
    item = {
        "tweet": {
            "id_str": "7",
            "created_at": "Fri Dec 18 00:00:01 +0000 2015",
            "text": "Hello #World",
            "user": {"id_str": "9", "screen_name": "bob", "followers_count": 3},
            "entities": {"hashtags": [{"text": "World"}], "user_mentions": []},
            "retweet_count": 2,
            "favorite_count": 5,
        }
    }
    f = extract(item)
    assert f.hashtags == ["world"] and f.publisher.handle == "bob"
    assert (f.metrics.likes, f.metrics.shares) == (5, 2)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT4M13S", 253), ("PT36S", 36), ("P1DT2H", 93600), ("PT0S", 0), ("P0D", 0), ("bad", None)],
)
def test_iso_durations(text, seconds):
    assert iso_duration(text) == seconds


def test_every_sample_item_extracts_its_identity_text_and_metrics():
    """Across all 600 items of every shape the sample makes: the identity agrees with
    `posts.describe`, every item has its words and at least one counter, counters are
    never negative, and text features come from the item's own text."""
    kinds_seen = Counter()
    for item in ITEMS:
        f, described = extract(item), describe(item)
        # The item is what was posted, or the video it is an observation of (a Page's
        # post of its own video is the video; the post's id stays as an alias).
        known_as = {f.item_id, *(alias for alias, _ in f.aliases)}
        assert (f.item_type, f.platform) == (described.type, described.platform)
        retweet = next((r for r in f.references if r.kind == "retweeted"), None)
        if retweet is not None:  # an observation of the original; the retweeter amplifies
            assert (retweet.referencing_id, retweet.referenced_id) == (
                described.item_id, f.item_id,
            )  # fmt: skip
            assert f.amplifier is not None
            assert f.amplifier.publisher_id == described.publisher_id != f.publisher.publisher_id
            assert f.created_at < described.created_at and f.observed_at == described.observed_at
        else:
            assert described.item_id in known_as, (described.item_id, known_as)
            assert f.publisher is not None
            assert f.publisher.publisher_id == described.publisher_id
            assert (f.created_at, f.observed_at) == (described.created_at, described.observed_at)
        words = " ".join(filter(None, (f.text, f.title, f.description))).casefold()
        assert words, f"{described.item_id}: no text, title or description"
        assert all(f"#{tag}" in words for tag in f.hashtags), (f.hashtags, words)
        assert all(f"@{name}" in words for name in f.mentions), (f.mentions, words)
        assert all(keyword in words for keyword in f.keywords), (f.keywords, words)
        counters = [getattr(f.metrics, name) for name in ("views", "likes", "shares",
                                                          "comments", "quotes")]  # fmt: skip
        assert any(value is not None for value in counters), described.item_id
        assert all(value is None or value >= 0 for value in counters), counters
        kinds_seen[f.item_type, f.media_type] += 1
    assert {kind for kind, _ in kinds_seen} == {"tweet", "video", "post"}, kinds_seen


# --------------------------------------------------------------------------- wrong types

WRONG_VALUES = (None, 7, 2**70, 1.5, "", "x\x00", True, [], ["a"], {}, {"a": 1}, [{"a": 1}])


def _paths(value, prefix=()):
    """Every key path into an item (the first two elements of each list)."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:2]):
            yield from _paths(inner, (*prefix, index))


def _replaced(item, path, value):
    item = copy.deepcopy(item)
    holder = item
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = copy.deepcopy(value)
    return item


def _one_of_each_shape():
    """An item of every shape the sample has (tweet with and without media, retweet,
    video, post, Page video ...), told apart by their sorted key paths."""
    seen = {}
    for item in ITEMS:
        shape = frozenset(path for path in _paths(item) if len(path) <= 3)
        seen.setdefault(shape, item)
    return list(seen.values())


def test_a_wrong_type_anywhere_in_an_item_is_bad_input_never_a_crash(caplog):
    """Extraction either takes the item (repairing or dropping the field) or refuses it
    with `InvalidPost`: anything else would stop a whole load, since the loader lets
    programming errors through. Every field of every item shape gets every wrong type."""
    caplog.set_level("ERROR")
    crashes = Counter()
    for item in _one_of_each_shape():
        for path in _paths(item):
            for value in WRONG_VALUES:
                try:
                    batch_rows([observe(_replaced(item, path, value))], {})
                except InvalidPost:
                    pass
                except Exception as error:
                    crashes[f"{'.'.join(map(str, path))} = {value!r}: {error!r}"] += 1
    assert not crashes, "\n".join(sorted(crashes))
