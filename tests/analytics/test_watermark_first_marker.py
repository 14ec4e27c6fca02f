"""The first watermark marker starts at the first bucket with items, whatever the batch
sizes: an item-by-item replay (Storm at a pace) and a batched one (in-process, Storm at
pace 0) warm the detectors up from the same bucket, so they give the same events."""

from __future__ import annotations

from shoot2top.analytics.watermark import EventClock


def first_marker(batches: list[list[tuple[str, float]]]):
    clock = EventClock(300, 600)
    for batch in batches:
        for key, at in batch:
            clock.admit(key, "x", at)
        marker = clock.advance()
        if marker is not None:
            return marker
    return None


def test_no_marker_before_a_bucket_with_items_closes() -> None:
    clock = EventClock(300, 600)
    clock.admit("a", "x", 10_000.0)
    assert clock.advance() is None  # nothing with items is closed yet


def test_the_first_marker_does_not_depend_on_batching() -> None:
    items = [(f"k{i}", 10_000.0 + 97.0 * i) for i in range(40)]
    one_by_one = first_marker([[item] for item in items])
    batched = first_marker([items[:25], items[25:]])
    assert one_by_one is not None and batched is not None
    assert one_by_one.traffic[0][0] == batched.traffic[0][0] == 9_900.0


def test_an_item_at_the_lateness_bound_counts_and_every_bucket_closes_once() -> None:
    """Watermark = newest time - lateness; a bucket ending at or before it is closed:
    an item exactly at the watermark is in an open bucket, one a hair before is late.
    Each bucket is in exactly one marker, and the end of input closes the rest."""
    clock = EventClock(300, 300)
    assert clock.admit("a", "x", 600.0)
    assert clock.admit("b", "x", 1200.0)  # watermark 900: the bucket 600-900 closes
    assert clock.admit("c", "x", 900.0)  # at the watermark: its bucket 900-1200 is open
    assert not clock.admit("d", "x", 899.999)  # in the closed bucket: late
    marker = clock.advance()
    assert marker is not None and marker.closed_until == 900.0
    assert [start for start, _ in marker.traffic] == [600.0]
    assert marker.decided_at(600.0) == 1200.0  # the time of the item that closed it
    assert clock.advance() is None  # not closed twice
    final = clock.finish()
    assert [(start, counts) for start, counts in final.traffic] == [
        (900.0, (("x", 1),)), (1200.0, (("x", 1),)),
    ]  # fmt: skip
    assert clock.counters() == {"admitted": 3, "duplicates": 0, "late": 1, "refreshes": 0}
