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
