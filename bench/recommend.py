"""Recommendations and forecasts, evaluated out of time on planted truth.

Generates an evaluation world (`shoot2top.recommend.synthetic`: the sample's twelve
publishers, several weeks of posts in the platforms' API shapes, planted hour-of-week
effects, hashtag lifts, back-catalog videos matching stories that trend in the last
week, growth curves with known 24 h / 7 d outcomes), loads it through the real warehouse
loader (`WarehouseLoader`) into PostgreSQL, and evaluates each product through the same
library functions the CLI calls, fitting on the earlier weeks and testing on the last:

- timing: uplift of the age-matched score of test-week posts that fell in the top 24
  recommended hours vs the same publisher's other posts (×−1, pooled within
  publishers), against the global hour-of-week; recovery of the planted hours;
- terms: precision and recall of the helps/hurts verdicts against the planted lifts, and
  the test-week uplift of posts using a recommended term, against each term tested alone
  (and against the raw ranking given as many terms);
- cross-promotion: precision@5 of the videos recommended two hours after each trend's
  onset against the planted matches, against the publisher's best videos and against
  exact term matches;
- forecast: median absolute percentage error at 24 h and 7 d from each test item's
  first hour, against the publisher's median growth curve; coverage of the 80% intervals.

Intervals are bootstrap percentile intervals (90%, 1,000 resamples; test items resampled
within their publisher). Throughput: the load (items/s) and each product's evaluation
time. After the run the warehouse is checked to hold exactly the generated items and
observations, nothing dead-lettered. The 1-minute load average before and after is
reported: the machines are shared.

    python bench/recommend.py [--seed 7] [--weeks 4] [--posts-per-day 10] [--dsn DSN]

Without --dsn or SHOOT2TOP_DSN, an embedded PostgreSQL is started in a temporary
directory and stopped at the end. Last line: JSON with timing_uplift, timing_uplift_ci,
timing_baseline_uplift, terms_precision, terms_recall, crosspromote_precision_at_5,
forecast_mape_24h, forecast_baseline_mape_24h, forecast_mape_7d,
forecast_baseline_mape_7d, forecast_coverage_80, goals and details.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from typing import Any

import psycopg2.extensions

from shoot2top.recommend import evaluation
from shoot2top.recommend.catalog import Catalog, load_catalog
from shoot2top.recommend.synthetic import generate
from shoot2top.warehouse.database import DSN_VARIABLE, connect, embedded_dsn, stop_embedded
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.schema import migrate

COVERAGE_GOAL = (0.75, 0.85)
PRECISION_AT_5_GOAL = 0.8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--posts-per-day", type=float, default=10.0)
    parser.add_argument("--dsn", default=os.environ.get(DSN_VARIABLE))
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    state = None if args.dsn else tempfile.mkdtemp(prefix="bench-recommend-")
    server = args.dsn or embedded_dsn(state)
    database = f"bench_recommend_{uuid.uuid4().hex[:8]}"
    admin = connect(server)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {database}")
    dsn = _with_database(server, database)
    try:
        summary = run(dsn, args)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()
        if state:
            stop_embedded(state)
            shutil.rmtree(state, ignore_errors=True)
    summary["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(summary))


def run(dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    world = generate(args.seed, weeks=args.weeks, posts_per_day=args.posts_per_day)
    generated = time.perf_counter() - began
    connection = connect(dsn)
    migrate(connection)
    loader = WarehouseLoader(dsn)
    began = time.perf_counter()
    for batch in world.batches():
        loader.load(batch)
    loader.close()
    load_s = time.perf_counter() - began
    _log(f"world seed {args.seed}: {len(world.items):,} items, {world.observations:,} "
         f"observations (generated in {generated:.1f} s, loaded in {load_s:.1f} s)")  # fmt: skip
    _verify(connection, world)
    timings: dict[str, float] = {}

    def timed(name: str, function: Any, *arguments: Any, **keywords: Any) -> Any:
        began = time.perf_counter()
        result = function(*arguments, **keywords)
        timings[name] = round(time.perf_counter() - began, 2)
        shown = (
            f"{len(result.items)} items, {len(result.scores)} with an age-matched score"
            if isinstance(result, Catalog)
            else json.dumps(result)
        )
        _log(f"{name}: {shown} ({timings[name]} s)")
        return result

    train = timed("catalog_train", load_catalog, connection, until=world.test_start)
    full = timed("catalog_full", load_catalog, connection)
    timing = timed("timing", evaluation.evaluate_timing, train, full, world)
    terms = timed("terms", evaluation.evaluate_terms, train, full, world)
    cross = timed(
        "crosspromote",
        evaluation.evaluate_crosspromote,
        lambda moment: load_catalog(connection, until=moment),
        world,
    )
    forecast = timed("forecast", evaluation.evaluate_forecast, train, full, world)
    connection.close()
    best_baseline = max(
        cross["baseline_popular_precision_at_5"], cross["baseline_exact_precision_at_5"]
    )
    goals = {
        "timing": _excludes_zero(timing["log_uplift_vs_baseline_ci"]),
        "terms": _excludes_zero(terms["log_uplift_vs_baseline_ci"])
        and _excludes_zero(terms["f1_gain_ci"]),
        "crosspromote": cross["precision_at_5"] >= PRECISION_AT_5_GOAL
        and _excludes_zero(cross["gain_over_best_baseline_ci"]),
        "forecast": _excludes_zero(forecast["mape_gain_24h_ci"])
        and _excludes_zero(forecast["mape_gain_7d_ci"]),
        "forecast_coverage": COVERAGE_GOAL[0] <= forecast["coverage_80"] <= COVERAGE_GOAL[1],
    }
    return {
        "timing_uplift": timing["uplift"],
        "timing_uplift_ci": timing["uplift_ci"],
        "timing_baseline_uplift": timing["baseline_uplift"],
        "terms_precision": terms["precision"],
        "terms_recall": terms["recall"],
        "crosspromote_precision_at_5": cross["precision_at_5"],
        "forecast_mape_24h": forecast["mape_24h"],
        "forecast_baseline_mape_24h": forecast["baseline_mape_24h"],
        "forecast_mape_7d": forecast["mape_7d"],
        "forecast_baseline_mape_7d": forecast["baseline_mape_7d"],
        "forecast_coverage_80": forecast["coverage_80"],
        "goals": goals,
        "items_per_s": round(world.observations / load_s),
        "ratio_to_baseline": {
            "forecast_mape_24h": _ratio(forecast["mape_24h"], forecast["baseline_mape_24h"]),
            "forecast_mape_7d": _ratio(forecast["mape_7d"], forecast["baseline_mape_7d"]),
            "crosspromote_precision_at_5": _ratio(cross["precision_at_5"], best_baseline),
        },
        "seconds": timings,
        "details": {
            "seed": args.seed,
            "weeks": args.weeks,
            "items": len(world.items),
            "observations": world.observations,
            "timing": timing,
            "terms": terms,
            "crosspromote": cross,
            "forecast": forecast,
        },
    }


def _verify(connection: Any, world: Any) -> None:
    """The warehouse holds exactly the generated items and observations."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM items")
        (items,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM metric_snapshots")
        (observations,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM dead_letters")
        (dead,) = cursor.fetchone()
    connection.rollback()
    expected = (len(world.outcomes), world.observations, 0)
    if (items, observations, dead) != expected:
        sys.exit(
            f"verification failed: warehouse holds {items} items, {observations} observations, "
            f"{dead} dead letters; expected {expected}"
        )


def _excludes_zero(interval: list[float] | None) -> bool:
    return interval is not None and interval[0] > 0


def _ratio(value: float | None, baseline: float | None) -> float | None:
    return None if not value or not baseline else round(value / baseline, 3)


def _with_database(dsn: str, database: str) -> str:
    parsed = psycopg2.extensions.parse_dsn(dsn)
    parsed["dbname"] = database
    return psycopg2.extensions.make_dsn(**parsed)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
