"""The evaluation world: deterministic, in the platforms' shapes, and its planted truth
is what the warehouse sees."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from shoot2top import codec
from shoot2top.posts import describe
from shoot2top.recommend.synthetic import STORIES, World, generate
from shoot2top.warehouse.features import extract


@pytest.fixture(scope="module")
def world() -> World:
    return generate(5, weeks=2, posts_per_day=3)


@pytest.mark.slow
def test_same_seed_same_world(world: World) -> None:
    again = generate(5, weeks=2, posts_per_day=3)
    first = [codec.dumps(obj) for batch in world.batches(2000) for obj in batch]
    assert first == [codec.dumps(obj) for batch in again.batches(2000) for obj in batch]
    assert generate(6, weeks=2, posts_per_day=3).outcomes != world.outcomes


@pytest.mark.slow
def test_items_are_streamable_objects_in_observation_order(world: World) -> None:
    objects = [obj for batch in world.batches(1000) for obj in batch]
    assert len(objects) == world.observations
    observed = [describe(obj).observed_at for obj in objects]
    assert observed == sorted(observed)
    assert max(observed) <= world.observed_until
    assert Counter(describe(obj).type for obj in objects).keys() == {"tweet", "video", "post"}
    keys = {(f.platform, f.item_id) for f in map(extract, objects)}
    assert keys == set(world.outcomes)


@pytest.mark.slow
def test_planted_truth_is_consistent(world: World) -> None:
    assert len(world.trends) == len(STORIES)
    for trend in world.trends:
        assert world.test_start <= trend.onset < trend.end <= world.published_until
    objects = {}
    for batch in world.batches(1000):
        for obj in batch:
            features = extract(obj)
            objects[(features.platform, features.item_id)] = features
    for (_term, platform, _publisher), ids in world.matches.items():
        assert len(ids) == 6
        for item_id in ids:
            features = objects[(platform, item_id)]
            assert features.media_type == "video"
            assert features.created_at < world.test_start
    for truth in world.publishers.values():
        assert sorted(truth.term_lifts.values()) == [0.5, 2.0, 2.0]
        assert 4 <= len(truth.good_slots) <= 42


def test_outcomes_match_what_the_platforms_report(world: World) -> None:
    """An observation taken right at 24 h reports the outcome (the counters are whole)."""
    checked = 0
    for item in world.items[:200]:
        outcome = world.outcomes[_key(item)]
        day = item.published + timedelta(hours=24)
        features = extract(_render(item, day))
        if outcome.metric == "views":
            reported = features.metrics.views
        else:
            m = features.metrics
            reported = (m.likes or 0) + (m.shares or 0) + (m.comments or 0)
        assert reported == pytest.approx(outcome.at_24h, abs=3)
        checked += 1
    assert checked == 200


def _key(item: object) -> tuple[str, str]:
    from shoot2top.recommend.synthetic import _warehouse_key

    return _warehouse_key(item)  # type: ignore[arg-type]


def _render(item: object, moment: object) -> dict:
    from shoot2top.sample.generate import observe

    return observe(item, moment)  # type: ignore[arg-type]
