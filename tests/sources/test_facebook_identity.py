"""The Facebook source and identity, on the fake Graph API: a Page's post of its own video
and the Video node load as one item; an object without ``from`` belongs to the Page that
was listed."""

from __future__ import annotations

from shoot2top.posts import PAGE
from shoot2top.warehouse.features import extract
from sources.test_facebook import MIN, api, clock, graph, ids, source_for, take

__all__ = ["api", "clock", "graph"]  # fixtures


def test_a_post_of_a_video_and_the_video_node_are_one_item(api, graph, clock):
    metro = graph.pages["MetroEveningNews"]
    now = clock.time()
    video = graph.add_video(metro, now - 20 * MIN, "Flood footage", views=700, reactions=4)
    post = graph.add_post(metro, now - 19 * MIN, "Flood footage, watch", video=video, shares=6)
    photo = graph.add_post(metro, now - 18 * MIN, "A photo")
    items = take(clock.run(source_for(api, clock)), clock, items=3)
    assert sorted(ids(items)) == sorted([video.id, post.id, photo.id])
    by_id = {item["post"]["id"]: extract(item) for item in items}
    assert by_id[post.id].item_id == by_id[video.id].item_id == video.id
    assert by_id[post.id].aliases == ((post.id, "post"),)
    assert by_id[post.id].metrics.shares == 6 and by_id[video.id].metrics.views == 700
    assert by_id[photo.id].item_id == photo.id  # a photo post is its own item
    listing = graph.calls("/MetroEveningNews/posts")[0]
    assert "status_type" in listing.query["fields"].split(",")


def test_an_object_without_from_carries_the_listed_page(api, graph, clock):
    metro = graph.pages["MetroEveningNews"]
    now = clock.time()
    hidden = graph.add_video(metro, now - 10 * MIN, "No owner shown", views=5, anonymous=True)
    other = graph.add_video(metro, now - 9 * MIN, "Also anonymous", views=6, anonymous=True)
    items = take(clock.run(source_for(api, clock)), clock, items=2)
    assert sorted(ids(items)) == sorted([hidden.id, other.id])
    for item in items:
        assert "from" not in item["post"]
        assert item[PAGE] == {"id": metro.id, "name": metro.name}
        features = extract(item)
        assert features.publisher.publisher_id == metro.id
        assert features.publisher.name == metro.name
    page_reads = [r for r in graph.requests if r.path == "/v26.0/MetroEveningNews"]
    assert len(page_reads) == 1 and page_reads[0].query == {"fields": "id,name"}  # once


def test_a_live_video_is_listed_as_a_kind_of_video(api, graph, clock):
    """``/live_videos``: a LiveVideo node (``creation_time``, ``status``) is an item, not a
    dead letter, and loads as a video of its Page."""
    metro = graph.pages["MetroEveningNews"]
    live = graph.add_live_video(metro, clock.time() - 5 * MIN, "Election night", live_views=900)
    (item,) = take(clock.run(source_for(api, clock)), clock, items=1)
    assert item["post"]["id"] == live.id and item["_source"] == "fb.live_videos"
    assert item["post"]["status"] == "LIVE" and "creation_time" in item["post"]
    assert item["_topic"] == "MetroEveningNews"
    features = extract(item)
    assert (features.item_id, features.media_type) == (live.id, "video")
    assert features.publisher.publisher_id == metro.id
    listing = graph.calls("/MetroEveningNews/live_videos")[0]
    fields = listing.query["fields"].split(",")
    assert {"creation_time", "status", "live_views", "video{id}"} <= set(fields)


def test_a_live_video_and_its_video_node_are_one_item_tracked_once(api, graph, clock):
    metro = graph.pages["MetroEveningNews"]
    now = clock.time()
    video = graph.add_video(metro, now - 30 * MIN, "Election night", views=12_000)
    live = graph.add_live_video(metro, now - 30 * MIN, "Election night", status="VOD",
                                video=video)  # fmt: skip
    source = source_for(api, clock)
    stream = clock.run(source)
    first = take(stream, clock, items=2)
    assert sorted(ids(first)) == sorted([video.id, live.id])
    by_id = {item["post"]["id"]: extract(item) for item in first}
    assert by_id[live.id].item_id == by_id[video.id].item_id == video.id
    assert by_id[live.id].aliases == ((live.id, "live_video"),)
    assert set(source.snapshot()["tracker"]) == {f"videos:{video.id}"}  # tracked once
    refreshed = take(stream, clock, items=1, seconds=3 * MIN)
    assert ids(refreshed) == [video.id] and refreshed[0]["_source"] == "fb.refresh"
    assert extract(refreshed[0]).metrics.views == 12_000


def test_a_broadcast_listed_live_first_is_not_emitted_again_by_the_videos_listing(
    api, graph, clock
):
    """The broadcast is live: its LiveVideo is listed before its Video node is; the
    upload is tracked (and refreshed, with views) as the Video node from then on."""
    metro = graph.pages["MetroEveningNews"]
    now = clock.time()
    video = graph.add_video(metro, now - 2 * MIN, "Breaking", views=10)
    graph.delete(video.id)  # not in /videos yet
    live = graph.add_live_video(metro, now - 2 * MIN, "Breaking", video=video)
    source = source_for(api, clock, config={"poll_interval_s": 60.0})
    stream = clock.run(source)
    assert ids(take(stream, clock, items=1)) == [live.id]
    graph._add(video, {"views": 250})  # the Video node appears in /videos
    later = take(stream, clock, seconds=3 * MIN)
    assert [item["_source"] for item in later] == ["fb.refresh"]  # not fb.videos
    assert ids(later) == [video.id] and extract(later[0]).metrics.views == 250
    assert source.duplicates_dropped >= 1


def test_a_scheduled_live_video_is_tracked_as_a_live_video(api, graph, clock):
    metro = graph.pages["MetroEveningNews"]
    live = graph.add_live_video(metro, clock.time() - MIN, "Tomorrow's match",
                                status="SCHEDULED_UNPUBLISHED")  # fmt: skip
    source = source_for(api, clock)
    stream = clock.run(source)
    assert ids(take(stream, clock, items=1)) == [live.id]
    assert set(source.snapshot()["tracker"]) == {f"live_videos:{live.id}"}
    live.status = "LIVE"
    (refreshed,) = take(stream, clock, items=1, seconds=3 * MIN)
    assert refreshed["_source"] == "fb.refresh" and refreshed["post"]["status"] == "LIVE"
    reads = [r for r in graph.requests if r.path == "/v26.0/" and live.id in r.query["ids"]]
    assert "creation_time" in reads[0].query["fields"]
