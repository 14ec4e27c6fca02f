"""Tests for the deterministic sample stream (`shoot2top.sample.generate`)."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from shoot2top.sample.generate import generate_items
from shoot2top.sample.trends import PlantedTrend, planted_trends
from shoot2top.sample.world import DEFAULT_START, PUBLISHERS, SPAN, TOPICS
from shoot2top.warehouse.features import extract

TYPE_KEYS = {"tweet", "video", "post"}
OBSERVED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
X_CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FB_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")
NON_LATIN = re.compile(r"[\u0600-\u06ff\u0900-\u097f\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return generate_items()


def type_key(obj: dict[str, Any]) -> str:
    (key,) = [key for key in obj if not key.startswith("_")]
    return key


def referenced(message: dict[str, Any]) -> str | None:
    """How a tweet points at another: "retweeted", "quoted", or None."""
    references = message["data"].get("referenced_tweets")
    return references[0]["type"] if references else None


def tweet_of(message: dict[str, Any]) -> dict[str, Any]:
    """The tweet an X message is an observation of: a retweet's is the original."""
    if referenced(message) == "retweeted":
        return message["includes"]["tweets"][0]
    return message["data"]


def item_id(obj: dict[str, Any]) -> tuple[str, str]:
    key = type_key(obj)
    payload = obj[key]
    return key, tweet_of(payload)["id"] if key == "tweet" else payload["id"]


def created_at(obj: dict[str, Any]) -> datetime:
    key = type_key(obj)
    payload = obj[key]
    raw = {
        "tweet": lambda: tweet_of(payload)["created_at"],
        "video": lambda: payload["snippet"]["publishedAt"],
        "post": lambda: payload["created_time"],
    }[key]()
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def publisher_id(obj: dict[str, Any]) -> str:
    key = type_key(obj)
    payload = obj[key]
    if key == "tweet":
        return tweet_of(payload)["author_id"]
    if key == "video":
        return payload["snippet"]["channelId"]
    return payload["from"]["id"]


def text_of(obj: dict[str, Any]) -> str:
    key = type_key(obj)
    payload = obj[key]
    if key == "tweet":
        return tweet_of(payload)["text"]
    if key == "video":
        snippet = payload["snippet"]
        return "\n".join([snippet["title"], snippet["description"], *snippet.get("tags", [])])
    return "\n".join(payload.get(field, "") for field in ("message", "title", "description"))


def metrics_of(obj: dict[str, Any]) -> dict[str, int]:
    key = type_key(obj)
    payload = obj[key]
    if key == "tweet":
        metrics = dict(tweet_of(payload)["public_metrics"])
        for media in payload["includes"].get("media", []):
            if "public_metrics" in media:
                metrics["view_count"] = media["public_metrics"]["view_count"]
        return metrics
    if key == "video":
        return {name: int(value) for name, value in payload["statistics"].items()}
    metrics = {
        "reactions": payload["reactions"]["summary"]["total_count"],
        "comments": payload["comments"]["summary"]["total_count"],
        "shares": payload.get("shares", {}).get("count", 0),
    }
    if "video_insights" in payload:
        metrics["views"] = payload["video_insights"]["data"][0]["values"][0]["value"]
    return metrics


def by_platform(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [obj[key] for obj in items if key in obj]


# --------------------------------------------------------------------------- stream


def test_same_seed_same_json_and_other_seed_differs() -> None:
    first = json.dumps(generate_items(seed=11, items=400))
    assert first == json.dumps(generate_items(seed=11, items=400))
    assert first != json.dumps(generate_items(seed=12, items=400))


@pytest.mark.slow
def test_default_stream_is_deterministic(items: list[dict[str, Any]]) -> None:
    assert json.dumps(items) == json.dumps(generate_items(seed=7, items=3000))


@pytest.mark.parametrize("count", [0, 1, 5, 37, 250])
def test_exact_count(count: int) -> None:
    assert len(generate_items(seed=3, items=count)) == count


def test_exact_count_default(items: list[dict[str, Any]]) -> None:
    assert len(items) == 3000


def test_negative_count_is_rejected() -> None:
    with pytest.raises(ValueError):
        generate_items(items=-1)


def test_sorted_by_observed_at_inside_the_span(items: list[dict[str, Any]]) -> None:
    stamps = [obj["_observed_at"] for obj in items]
    assert all(OBSERVED_AT.match(stamp) for stamp in stamps)
    assert stamps == sorted(stamps)
    moments = [datetime.fromisoformat(stamp.replace("Z", "+00:00")) for stamp in stamps]
    assert moments[0] >= DEFAULT_START and moments[-1] <= DEFAULT_START + SPAN
    assert moments[-1] - moments[0] > timedelta(days=2, hours=12)


def test_envelope(items: list[dict[str, Any]]) -> None:
    for obj in items:
        assert type_key(obj) in TYPE_KEYS
        assert set(obj) == {type_key(obj), "_observed_at", "_source", "_topic"}
        assert obj["_source"] == "sample"
        assert obj["_topic"] in TOPICS


def test_platform_mix(items: list[dict[str, Any]]) -> None:
    shares = Counter(type_key(obj) for obj in items)
    assert 0.40 <= shares["tweet"] / len(items) <= 0.50
    assert 0.25 <= shares["video"] / len(items) <= 0.35
    assert 0.20 <= shares["post"] / len(items) <= 0.30


def test_observations_do_not_share_mutable_parts() -> None:
    stream = generate_items(seed=5, items=200)
    first = stream[0]
    twin = next(obj for obj in stream[1:] if item_id(obj) == item_id(first))
    before = json.dumps(twin)
    first[type_key(first)].clear()
    assert json.dumps(twin) == before


def test_start_moves_the_stream() -> None:
    start = datetime(2027, 3, 1, 6, 30, tzinfo=UTC)
    stream = generate_items(seed=7, items=300, start=start)
    assert stream[0]["_observed_at"] >= "2027-03-01T06:30:00Z"
    assert stream[-1]["_observed_at"] <= "2027-03-04T06:30:00Z"
    assert all(start <= trend.start < start + SPAN for trend in planted_trends(7, start))
    naive = generate_items(seed=7, items=300, start=start.replace(tzinfo=None))
    assert json.dumps(naive) == json.dumps(stream)


@pytest.mark.slow
def test_serialized_size(items: list[dict[str, Any]]) -> None:
    compact = json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode()
    assert len(compact) < 4_000_000
    assert len(json.dumps(items, separators=(",", ":"))) < 4_200_000  # retweets carry 2 tweets


# --------------------------------------------------------------------------- shapes


def test_tweet_shape(items: list[dict[str, Any]]) -> None:
    media_types: Counter[str] = Counter()
    references: Counter[str] = Counter()
    for obj in items:
        if "tweet" not in obj:
            continue
        message = obj["tweet"]
        data, includes = message["data"], message["includes"]
        assert set(message) == {"data", "includes", "matching_rules"}
        assert re.fullmatch(r"\d{19}", data["id"])
        assert data["conversation_id"] == data["id"]
        assert data["edit_history_tweet_ids"] == [data["id"]]
        assert X_CREATED_AT.match(data["created_at"])
        assert data["possibly_sensitive"] is False
        assert len(data["text"]) <= 280
        assert set(data["public_metrics"]) == {
            "retweet_count",
            "reply_count",
            "like_count",
            "quote_count",
            "bookmark_count",
            "impression_count",
        }
        assert all(type(v) is int for v in data["public_metrics"].values())
        kind = referenced(message)
        users = includes["users"]
        assert [user["id"] for user in users][:1] == [data["author_id"]]
        assert all("followers_count" in user["public_metrics"] for user in users)
        if kind is not None:  # the referenced tweet and its author come whole
            (other,) = includes["tweets"]
            assert data["referenced_tweets"] == [{"type": kind, "id": other["id"]}]
            assert [user["id"] for user in users[1:]] == [other["author_id"]]
            assert other["author_id"] != data["author_id"]
            assert other["created_at"] < data["created_at"]
            assert set(other["public_metrics"]) == set(data["public_metrics"])
            references[kind] += 1
        else:
            assert len(users) == 1 and "tweets" not in includes
        text = data["text"]
        entities = data.get("entities", {})
        if "entities" in data:
            assert entities, "entities is omitted rather than empty"
            assert all(entities.values()), "empty entity lists are omitted"
        for tag in entities.get("hashtags", []):
            assert text[tag["start"] : tag["end"]] == "#" + tag["tag"]
        for mention in entities.get("mentions", []):
            assert text[mention["start"] : mention["end"]] == "@" + mention["username"]
        for url in entities.get("urls", []):
            assert text[url["start"] : url["end"]] == url["url"]
            assert url["url"].startswith("https://t.co/")
        assert message["matching_rules"][0]["tag"] == obj["_topic"]
        assert re.fullmatch(r"\d{19}", message["matching_rules"][0]["id"])
        if "attachments" not in data:
            assert "media" not in includes
            media_types["none"] += 1
            continue
        (media,) = includes["media"]
        assert data["attachments"]["media_keys"] == [media["media_key"]]
        if kind != "retweeted":  # a retweet's cut text may have lost the media's link
            assert media["media_key"] in {url.get("media_key") for url in entities["urls"]}
        media_types[media["type"]] += 1
        if media["type"] == "video":
            assert media["media_key"].startswith("7_")
            assert media["duration_ms"] > 0
            assert type(media["public_metrics"]["view_count"]) is int
            assert media["variants"][0]["content_type"] == "video/mp4"
        else:
            assert media["type"] == "photo"
            assert not {"duration_ms", "public_metrics", "variants"} & set(media)
    assert media_types["video"] > media_types["photo"] > 0
    assert media_types["video"] > media_types["none"] > 0
    assert references["retweeted"] > references["quoted"] > 0


def test_video_shape(items: list[dict[str, Any]]) -> None:
    for video in by_platform(items, "video"):
        assert video["kind"] == "youtube#video"
        assert re.fullmatch(r"[A-Za-z0-9_-]{27}", video["etag"])
        assert re.fullmatch(r"[A-Za-z0-9_-]{11}", video["id"])
        snippet = video["snippet"]
        assert OBSERVED_AT.match(snippet["publishedAt"])
        assert re.fullmatch(r"UC[A-Za-z0-9_-]{22}", snippet["channelId"])
        assert snippet["localized"] == {
            "title": snippet["title"],
            "description": snippet["description"],
        }
        assert snippet["thumbnails"]["default"]["url"].endswith(f"/vi/{video['id']}/default.jpg")
        assert snippet.get("tags", ["x"]), "tags is omitted rather than empty"
        assert snippet["liveBroadcastContent"] == "none"
        assert re.fullmatch(r"PT(\d+H)?(\d+M)?(\d+S)?", video["contentDetails"]["duration"])
        assert video["contentDetails"]["caption"] in {"true", "false"}
        assert set(video["statistics"]) == {
            "viewCount",
            "likeCount",
            "favoriteCount",
            "commentCount",
        }
        assert all(isinstance(v, str) and v.isdigit() for v in video["statistics"].values())


def test_post_shape(items: list[dict[str, Any]]) -> None:
    pages = {publisher.id: publisher for publisher in PUBLISHERS["facebook"]}
    kinds: dict[str, str] = {}
    for post in by_platform(items, "post"):
        assert FB_TIME.match(post["created_time"])
        page = pages[post["from"]["id"]]
        assert post["from"]["name"] == page.name
        assert post["reactions"]["summary"]["viewer_reaction"] == "NONE"
        assert post["comments"]["summary"]["can_comment"] is True
        if "video_insights" in post:
            kinds[post["id"]] = "video"
            assert re.fullmatch(r"\d+", post["id"])
            assert FB_TIME.match(post["updated_time"])
            assert post["permalink_url"] == f"/{page.handle}/videos/{post['id']}/"
            assert isinstance(post["length"], float)
            (insight,) = post["video_insights"]["data"]
            assert insight["name"] == "total_video_views"
            assert insight["id"] == f"{post['id']}/video_insights/total_video_views/lifetime"
            assert "shares" not in post
        else:
            kinds[post["id"]] = "post"
            page_id, post_id = post["id"].split("_")
            assert page_id == page.id
            assert post["permalink_url"] == f"https://www.facebook.com/{page_id}/posts/{post_id}"
            (attachment,) = post["attachments"]["data"]
            assert attachment["type"] == "video_inline"
            assert attachment["target"]["url"] == attachment["url"]
            assert "shares" not in post or post["shares"]["count"] > 0
    video_share = Counter(kinds.values())["video"] / len(kinds)
    assert 0.2 <= video_share <= 0.6  # about 40% are Page videos


def test_retweets_and_quotes_of_the_other_publishers_tweets(items: list[dict[str, Any]]) -> None:
    """A share of the tweets retweet or quote another sample publisher's tweet posted up
    to a day before, in X's wire shape; the warehouse credits a retweet to the original
    (its author, its counters) and keeps the retweeter as the amplifier."""
    tweets = {obj["tweet"]["data"]["id"]: obj for obj in items if "tweet" in obj}
    kinds = Counter(referenced(obj["tweet"]) for obj in tweets.values())
    assert 0.1 <= kinds["retweeted"] / len(tweets) <= 0.3
    assert 0.01 <= kinds["quoted"] / len(tweets) <= 0.1
    originals = {data_id for data_id, obj in tweets.items() if referenced(obj["tweet"]) is None}
    for obj in tweets.values():
        message = obj["tweet"]
        kind = referenced(message)
        if kind is None:
            continue
        data, (other,) = message["data"], message["includes"]["tweets"]
        assert other["id"] in originals  # one of the sample's own tweets
        delay = moment(data["created_at"]) - moment(other["created_at"])
        assert timedelta(minutes=5) <= delay <= timedelta(hours=24, seconds=1)
        features = extract(obj)
        (reference,) = features.references
        assert (reference.kind, reference.referenced_id) == (kind, other["id"])
        if kind == "retweeted":
            author = message["includes"]["users"][1]["username"]
            assert data["text"].startswith(f"RT @{author}: ")
            assert len(data["text"]) <= 140
            own, its = data["public_metrics"], other["public_metrics"]
            assert own["like_count"] == 0 and own["retweet_count"] == its["retweet_count"]
            assert (
                features.item_id == other["id"]
                and features.publisher.publisher_id == other["author_id"]
            )
            assert (
                features.amplifier is not None
                and features.amplifier.publisher_id == data["author_id"]
            )
            for tag in data.get("entities", {}).get("hashtags", []):
                assert data["text"][tag["start"] : tag["end"]] == "#" + tag["tag"]
        else:
            assert (
                features.item_id == data["id"]
                and features.publisher.publisher_id == data["author_id"]
            )
            assert any(other["id"] in url["expanded_url"] for url in data["entities"]["urls"])


# --------------------------------------------------------------------------- observations


def test_repeated_observations_with_non_decreasing_metrics(items: list[dict[str, Any]]) -> None:
    history: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for obj in items:
        history[item_id(obj)].append(obj)
    counts = [len(observations) for observations in history.values()]
    assert statistics.median(counts) >= 5
    assert max(counts) >= 8
    grew = 0
    for observations in history.values():
        assert len({created_at(obj) for obj in observations}) == 1
        assert len({obj["_topic"] for obj in observations}) == 1
        stamps = [obj["_observed_at"] for obj in observations]
        assert stamps == sorted(stamps)
        assert created_at(observations[0]) < datetime.fromisoformat(
            stamps[0].replace("Z", "+00:00")
        )
        series = [metrics_of(obj) for obj in observations]
        for (stamp, metrics), (again, other) in pairwise(zip(stamps, series, strict=True)):
            assert stamp != again or metrics == other  # seen twice in a second (a retweet)
        for earlier, later in pairwise(series):
            assert all(later.get(name, 0) >= value for name, value in earlier.items())
        grew += len(series) > 1 and series[-1] != series[0]
    assert grew > 0.8 * sum(count > 1 for count in counts)


def test_reach_is_heavy_tailed_and_differs_by_publisher(items: list[dict[str, Any]]) -> None:
    latest = {obj["video"]["id"]: obj for obj in items if "video" in obj}.values()
    mature_views: dict[str, list[int]] = defaultdict(list)  # channel -> views at >= 12h
    for obj in latest:
        observed = datetime.fromisoformat(obj["_observed_at"].replace("Z", "+00:00"))
        if observed - created_at(obj) >= timedelta(hours=12):
            views = int(obj["video"]["statistics"]["viewCount"])
            mature_views[obj["video"]["snippet"]["channelId"]].append(views)
    medians = {channel: statistics.median(views) for channel, views in mature_views.items()}
    assert max(medians.values()) > 1.5 * min(medians.values())
    relative = [v / medians[channel] for channel, views in mature_views.items() for v in views]
    assert max(relative) > 5  # a few hits far above their channel's median


def test_several_publishers_per_platform(items: list[dict[str, Any]]) -> None:
    for platform, publishers in PUBLISHERS.items():
        assert len(publishers) >= 4
        assert len({publisher.id for publisher in publishers}) == len(publishers)
        assert all(publisher.followers > 0 for publisher in publishers)
        assert all(publisher.platform == platform for publisher in publishers)
    seen: dict[str, set[str]] = defaultdict(set)
    for obj in items:
        seen[type_key(obj)].add(publisher_id(obj))
    assert seen["tweet"] == {publisher.id for publisher in PUBLISHERS["x"]}
    assert seen["video"] == {publisher.id for publisher in PUBLISHERS["youtube"]}
    assert seen["post"] == {publisher.id for publisher in PUBLISHERS["facebook"]}


# --------------------------------------------------------------------------- content


def test_some_non_latin_text_and_some_items_without_hashtags(
    items: list[dict[str, Any]],
) -> None:
    latest = {item_id(obj): obj for obj in items}.values()
    non_latin = [obj for obj in latest if NON_LATIN.search(text_of(obj))]
    assert len(non_latin) > 0.05 * len(latest)
    assert {type_key(obj) for obj in non_latin} == TYPE_KEYS
    for key in TYPE_KEYS:
        of_type = [obj for obj in latest if type_key(obj) == key]
        without = [obj for obj in of_type if "#" not in text_of(obj)]
        assert 0 < len(without) < len(of_type)
    languages = {obj["tweet"]["data"]["lang"] for obj in latest if "tweet" in obj}
    assert {"en", "ja", "ar"} <= languages


def test_planted_trends_are_deterministic_and_well_formed() -> None:
    trends = planted_trends()
    assert trends == planted_trends(seed=7, start=DEFAULT_START)
    assert 2 <= len(trends) <= 4
    assert {trend.kind for trend in trends} == {"hashtag", "keyword"}
    assert [trend.start for trend in trends] == sorted(trend.start for trend in trends)
    for trend in trends:
        assert isinstance(trend, PlantedTrend)
        assert trend.term == trend.term.lower()
        assert timedelta(hours=1) <= trend.end - trend.start <= timedelta(hours=3)
        assert trend.start >= DEFAULT_START and trend.end < DEFAULT_START + SPAN
        assert len(trend.platforms) >= 2


def test_planted_trends_burst_inside_their_window(items: list[dict[str, Any]]) -> None:
    assert_bursts(items, planted_trends())


@pytest.mark.slow
def test_planted_trends_burst_for_another_seed() -> None:
    assert_bursts(generate_items(seed=8), planted_trends(seed=8))


def assert_bursts(stream: list[dict[str, Any]], trends: list[PlantedTrend]) -> None:
    """Distinct items carrying the term, by created time: far more inside the window."""
    published = {item_id(obj): (created_at(obj), text_of(obj).lower()) for obj in stream}
    for trend in trends:
        needle = "#" + trend.term if trend.kind == "hashtag" else trend.term
        inside = outside = 0
        for created, text in published.values():
            if needle in text:
                if trend.start <= created < trend.end:
                    inside += 1
                else:
                    outside += 1
        assert inside >= 15, trend
        assert inside >= 5 * max(outside, 1), (trend, inside, outside)
