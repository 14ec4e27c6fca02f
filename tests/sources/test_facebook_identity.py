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
    items = take(iter(source_for(api, clock)), clock, items=3)
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
    items = take(iter(source_for(api, clock)), clock, items=2)
    assert sorted(ids(items)) == sorted([hidden.id, other.id])
    for item in items:
        assert "from" not in item["post"]
        assert item[PAGE] == {"id": metro.id, "name": metro.name}
        features = extract(item)
        assert features.publisher.publisher_id == metro.id
        assert features.publisher.name == metro.name
    page_reads = [r for r in graph.requests if r.path == "/v26.0/MetroEveningNews"]
    assert len(page_reads) == 1 and page_reads[0].query == {"fields": "id,name"}  # once
