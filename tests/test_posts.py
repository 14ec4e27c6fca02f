from datetime import UTC, datetime

import pytest

from factories import T0, post, tweet, video
from shoot2top.posts import InvalidPost, describe, format_time, post_type, stamp


@pytest.mark.parametrize(
    ("maker", "kind", "platform", "publisher"),
    [
        (tweet, "tweet", "x", "42"),
        (video, "video", "youtube", "UC1"),
        (post, "post", "facebook", "99"),
    ],
)
def test_describe_reads_identity_and_times_for_each_platform(maker, kind, platform, publisher):
    info = describe(maker("abc", T0))
    assert (info.type, info.platform, info.item_id, info.publisher_id) == (
        kind,
        platform,
        "abc",
        publisher,
    )
    assert info.created_at == T0 and info.observed_at == T0
    assert info.source == "test"


def test_observed_time_defaults_to_created_time_when_never_stamped():
    item = video("v", T0)
    del item["_observed_at"]
    assert describe(item).observed_at == T0


def test_legacy_v1_tweets_from_the_original_lakes_are_read():
    legacy = {
        "tweet": {
            "id_str": "7",
            "created_at": "Fri Dec 18 00:00:01 +0000 2015",
            "user": {"id_str": "9"},
        }
    }
    info = describe(legacy)
    assert info.item_id == "7" and info.publisher_id == "9"
    assert info.created_at == datetime(2015, 12, 18, 0, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10, tzinfo=UTC)),
        ("2026-01-01T10:00:00", datetime(2026, 1, 1, 10, tzinfo=UTC)),  # no zone: UTC
        ("2026-01-01T12:00:00+02:00", datetime(2026, 1, 1, 10, tzinfo=UTC)),
        ("2026-01-01T10:00:00.5+0000", datetime(2026, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_times_in_any_zone_or_none_are_read_as_utc(text, expected):
    item = post("p", T0)
    item["post"]["created_time"] = item["_observed_at"] = text
    info = describe(item)
    assert info.created_at == info.observed_at == expected
    assert info.created_at.tzinfo is info.observed_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([1, 2], "expected a JSON object, got list"),
        ({"_observed_at": "2026-01-01T00:00:00Z"}, "no type key"),
        ({"tweet": {}, "video": {}}, "several type keys ['tweet', 'video']"),
        ({"reel": {"id": "1"}}, "unknown type key 'reel'"),
        ({"video": "oops"}, "'video' payload is str"),
        ({"video": {"snippet": {"publishedAt": "2026-01-01T00:00:00Z"}}}, "video has no id"),
        ({"post": {"id": "1"}}, "post 1 has no created time"),
        ({"post": {"id": "1", "created_time": "yesterday"}}, "'yesterday' is not an ISO-8601"),
        (
            {"post": {"id": "1", "created_time": "2026-01-01T00:00:00+0000"}, "_observed_at": 5},
            "_observed_at is 5",
        ),
    ],
)
def test_anything_else_is_rejected_saying_what_is_wrong(obj, message):
    with pytest.raises(InvalidPost, match=None) as caught:
        describe(obj)
    assert message in str(caught.value)


def test_post_type_is_the_cheap_check():
    assert post_type(post("p", T0)) == "post"


def test_stamp_wraps_a_payload_with_provenance():
    obj = stamp("video", {"id": "v"}, observed_at=T0, source="youtube.search", topic="cooking")
    assert obj == {
        "video": {"id": "v"},
        "_observed_at": "2026-11-20T10:00:00Z",
        "_source": "youtube.search",
        "_topic": "cooking",
    }
    with pytest.raises(InvalidPost, match="unknown type key 'reel'"):
        stamp("reel", {}, observed_at=T0, source="s")


def test_format_time_is_utc_with_z():
    assert (
        format_time(datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC)) == "2026-01-02T03:04:05.000600Z"
    )
