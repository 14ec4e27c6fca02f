"""Which terms: planted lifts recovered with their direction, a term riding along with a
good one not credited, identical terms grouped, trends flagged."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from curves import MONDAY, catalog, item, posting_times, series
from shoot2top.recommend.catalog import RecommendError
from shoot2top.recommend.terms import HELPS, HURTS, NO_HISTORY, UNCLEAR, recommend_terms
from shoot2top.recommend.trends import ActiveTrend

LIFTS = {"goal": 2.0, "ucl": 2.0, "football": 0.5}
NEUTRAL = ("matchday", "highlights", "derby", "stadium", "fans", "tonight", "replay", "coach")


def world(days: int = 21, per_day: int = 12, seed: int = 3) -> list:
    """Posts with random hashtags (a third each) and keywords; `LIFTS` multiply reach.
    "pundit" rides along with #goal (on four in five of its posts) but does nothing."""
    rng = random.Random(seed)
    items = []
    for n, created in enumerate(posting_times(rng, MONDAY, days, per_day)):
        tags = [tag for tag in (*LIFTS, *NEUTRAL[:4]) if rng.random() < 0.33]
        words = [word for word in NEUTRAL[4:] if rng.random() < 0.33]
        if "goal" in tags and rng.random() < 0.8:
            words.append("pundit")
        if rng.random() < 0.3:
            words += ["full", "time"]  # always together
        reach = 10_000 * math.prod(LIFTS.get(tag, 1.0) for tag in tags)
        final = reach * math.exp(rng.gauss(0, 0.7))
        items.append(item(series(f"i{n}", created, final), hashtags=tags, keywords=words))
    return items


def test_planted_lifts_are_recovered_with_their_direction() -> None:
    result = recommend_terms(catalog(world()), "youtube", "p1")
    verdicts = {row.term: row for row in result.terms}
    helps = {row.term for row in result.verdicts(HELPS)}
    hurts = {row.term for row in result.verdicts(HURTS)}
    assert {"#goal", "#ucl"} <= helps and "#football" in hurts
    assert len(helps | hurts) <= 4  # a 90% interval: one null term in ten may pass
    goal = verdicts["#goal"]
    assert goal.low > 1 and goal.lift == pytest.approx(2.0, rel=0.3)
    assert verdicts["#football"].high < 1
    assert result.items > 200 and result.candidates >= 10


def test_a_term_that_rides_along_with_a_good_one_is_not_credited() -> None:
    result = recommend_terms(catalog(world()), "youtube", "p1")
    pundit = next(row for row in result.terms if row.term == "pundit")
    assert pundit.raw_lift > 1.4  # alone, it looks good: it comes with #goal
    assert pundit.verdict == UNCLEAR and pundit.low < 1 < pundit.high


def test_terms_always_used_together_are_one_row() -> None:
    result = recommend_terms(catalog(world()), "youtube", "p1")
    full = [row for row in result.terms if "full" in (row.term, *(t for _, t in row.group))]
    assert len(full) == 1
    assert full[0].term == "full" and full[0].group == (("keyword", "time"),)


def test_trending_terms_are_flagged_and_new_ones_listed() -> None:
    trends = [
        ActiveTrend("goal", "hashtag", score=12.5),
        ActiveTrend("derbyday", "hashtag", score=30.0),
        ActiveTrend("aapl", "cashtag", score=99.0),  # not a kind this table has
    ]
    result = recommend_terms(catalog(world()), "youtube", "p1", trends=trends)
    rows = {row.term: row for row in result.terms}
    assert rows["#goal"].trending == 12.5 and rows["#goal"].verdict == HELPS
    assert rows["#ucl"].trending is None
    assert rows["#derbyday"].verdict == NO_HISTORY and rows["#derbyday"].lift is None
    assert rows["#derbyday"].support == 0
    assert "$aapl" not in rows and "aapl" not in rows
    assert result.terms[-1].term == "#derbyday"  # after the terms with a history


def test_rare_terms_are_left_out_and_thin_publishers_refused() -> None:
    items = world()
    result = recommend_terms(catalog(items), "youtube", "p1", min_support=120)
    assert result.terms == [] and result.candidates == 0
    with pytest.raises(RecommendError, match="has 3 scored posts; terms need at least 10"):
        recommend_terms(catalog(items[:8]), "youtube", "p1")
    later = [one for one in items if one.created_at > MONDAY + timedelta(days=1)]
    assert 0 < recommend_terms(catalog(later), "youtube", "p1").items < result.items


def test_thin_data_never_claims_no_effect_with_certainty() -> None:
    result = recommend_terms(catalog(world()[:40]), "youtube", "p1", min_support=3)
    assert result.terms and min(result.effect_sd.values()) >= 0.2  # never narrower than 2 spikes
    for row in result.terms:
        assert row.high / row.low > 1.2  # the evidence alone would shrink these to ×1 ± 0


def test_a_trend_without_a_score_is_flagged_with_its_score_unknown() -> None:
    """A trends file needs only a term: its score is unknown (None), never 0, and the
    term is still flagged as trending."""
    trends = [ActiveTrend("goal", "hashtag"), ActiveTrend("derbyday", "hashtag")]
    result = recommend_terms(catalog(world()), "youtube", "p1", trends=trends)
    rows = {row.term: row for row in result.terms}
    assert rows["#goal"].trending is None and rows["#goal"].trends
    assert rows["#derbyday"].trending is None and rows["#derbyday"].trends
    assert rows["#derbyday"].verdict == NO_HISTORY
    assert not rows["#ucl"].trends


def test_the_highest_known_score_of_a_term_s_trends_is_shown() -> None:
    trends = [
        ActiveTrend("goal", "hashtag", score=12.5),
        ActiveTrend("goal", "hashtag", scope="youtube"),  # score unknown
    ]
    rows = {row.term: row for row in recommend_terms(
        catalog(world()), "youtube", "p1", trends=trends).terms}  # fmt: skip
    assert rows["#goal"].trending == 12.5 and rows["#goal"].trends
