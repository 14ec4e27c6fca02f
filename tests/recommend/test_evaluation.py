"""The evaluation's own arithmetic on known inputs, and the whole evaluation on a small
world loaded into a real warehouse (what bench/recommend.py runs at full size)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from curves import MONDAY, catalog, item, loaded_world, series
from shoot2top.recommend import evaluation
from shoot2top.recommend.catalog import load_catalog
from shoot2top.recommend.synthetic import generate
from shoot2top.warehouse.database import connect


def test_uplift_pools_within_publisher_differences() -> None:
    # publisher A: recommended posts +1 over the others; B: +0 (equal sizes, equal weights)
    strata = [
        [(True, False, 1.0), (True, False, 1.0), (False, True, 0.0), (False, True, 0.0)],
        [(True, True, 5.0), (True, True, 5.0), (False, False, 5.0), (False, False, 5.0)],
    ]
    assert evaluation._uplift(strata, 0) == pytest.approx(0.5)
    assert evaluation._uplift(strata, 1) == pytest.approx(-0.5)
    assert evaluation._uplift([[(True, True, 1.0)]], 0) is None  # nothing to compare with
    compared = evaluation._compare(strata, seed=1)
    assert compared["uplift"] == pytest.approx(math.exp(0.5) - 1, abs=1e-3)
    assert compared["log_uplift_vs_baseline"] == pytest.approx(1.0)


def test_f1_pools_verdicts_over_publishers() -> None:
    rows = [(2, 2, 3, 10, 3), (1, 2, 3, 10, 3)]  # ours 3/4 true, baseline 6/20; 6 planted
    assert evaluation._f1(rows, 0) == pytest.approx(round(2 * 0.75 * 0.5 / 1.25, 3))
    assert evaluation._f1(rows, 2) == pytest.approx(round(2 * 0.3 * 1.0 / 1.3, 3))


def test_naive_verdicts_credit_a_term_that_rides_along() -> None:
    items = []
    for n in range(120):
        good = n % 3 == 0
        tags = ["goal"] if good else []
        words = ["pundit"] if good or n % 7 == 0 else []
        final = 10_000 * (3 if good else 1) * (1.2 if n % 2 else 0.8)
        created = MONDAY + timedelta(hours=3 * n)
        items.append(item(series(f"i{n}", created, final), hashtags=tags, keywords=words))
    verdicts = evaluation._naive_verdicts(catalog(items), "youtube", "p1")
    assert ("hashtag", "goal") in verdicts["helps"]
    assert ("keyword", "pundit") in verdicts["helps"]  # what the regression avoids


def test_the_global_hour_of_week_ranks_raw_means() -> None:
    items = [
        item(series(f"i{n}", MONDAY + timedelta(hours=n), 30_000 if n % 24 == 20 else 10_000))
        for n in range(24 * 14)
    ]
    ranked = evaluation.global_hour_of_week(catalog(items), "youtube", MONDAY.tzinfo)
    assert {slot % 24 for slot in ranked[:7]} == {20}


@pytest.mark.slow
def test_the_whole_evaluation_on_a_small_world(postgres_server) -> None:
    world = generate(13, weeks=3, posts_per_day=6)
    connection = connect(loaded_world(postgres_server, world))
    try:
        train = load_catalog(connection, until=world.test_start)
        full = load_catalog(connection)
        timing = evaluation.evaluate_timing(train, full, world)
        terms = evaluation.evaluate_terms(train, full, world)
        cross = evaluation.evaluate_crosspromote(
            lambda moment: load_catalog(connection, until=moment), world
        )
        forecast = evaluation.evaluate_forecast(train, full, world)
    finally:
        connection.close()
    assert timing["uplift"] > timing["baseline_uplift"]
    assert timing["uplift_ci"][0] < timing["uplift"] < timing["uplift_ci"][1]
    assert terms["precision"] > terms["baseline_precision"]
    assert cross["pairs"] == len(world.matches) and cross["precision_at_5"] >= 0.8
    assert cross["precision_at_5"] > cross["baseline_exact_precision_at_5"]
    assert forecast["mape_24h"] < forecast["baseline_mape_24h"]
    assert forecast["mape_7d"] < forecast["baseline_mape_7d"]
    assert 0.65 <= forecast["coverage_80"] <= 0.95
