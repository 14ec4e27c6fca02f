"""Reports as DataFrames for notebooks: the same figures as the CLI, unknown as NaN."""

from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd
import pytest

from shoot2top.lake.store import LocalStore
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.amplification import AMPLIFICATION_COLUMNS, amplification_report
from shoot2top.warehouse.database import WarehouseError
from shoot2top.warehouse.frames import Warehouse, find_state_dir
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.reports import REPORT_COLUMNS, live_report, video_report


@pytest.fixture(scope="module")
def warehouse(sample_lake, postgres_server) -> Warehouse:
    dsn = postgres_server.new_database(migrated=True)
    WarehouseLoader(dsn).load([i for i in LakeSource(LocalStore(sample_lake)) if i is not None])
    return Warehouse.open(dsn)


def test_each_report_is_a_frame_with_its_columns_and_nan_for_unknown(warehouse):
    videos = warehouse.videos()
    rows = video_report(warehouse.series())
    assert list(videos.columns) == list(REPORT_COLUMNS["videos"]) and len(videos) == len(rows)
    assert videos["item_id"].tolist() == [row["item_id"] for row in rows]
    unknown = [i for i, row in enumerate(rows) if row["views_7d"] is None]
    assert unknown and all(math.isnan(videos["views_7d"][i]) for i in unknown)
    assert pd.api.types.is_datetime64_any_dtype(videos["published"])
    assert list(warehouse.publishers().columns) == list(REPORT_COLUMNS["publishers"])


def test_live_is_as_of_the_newest_observation_by_default(warehouse):
    live = warehouse.live(hours=12)
    latest = warehouse.latest()
    assert live.attrs["as_of"] == latest
    expected = live_report(warehouse.series(until=latest), latest, hours=12)
    assert live["item_id"].tolist() == [row["item_id"] for row in expected]
    assert live["score"].notna().sum() > 5


def test_a_moment_with_an_offset_is_reported_in_utc(warehouse):
    """As the CLI's --now: "as_of" (shown in titles and notebooks) is UTC, not the offset."""
    live = warehouse.live(hours=12, now="2026-11-22T12:00:00+02:00")
    assert live.attrs["as_of"].isoformat() == "2026-11-22T10:00:00+00:00"


def test_amplification_is_the_report_as_of_the_newest_observation(warehouse):
    frame = warehouse.amplification(hours=72)
    assert frame.attrs["as_of"] == warehouse.latest()
    with warehouse._connection() as connection:
        rows = amplification_report(connection, warehouse.latest(), 72)
    assert list(frame.columns) == list(AMPLIFICATION_COLUMNS)
    assert frame["item_id"].tolist() == [row["item_id"] for row in rows] and rows
    assert pd.api.types.is_numeric_dtype(frame["amplifiers"])
    assert pd.api.types.is_datetime64_any_dtype(frame["last_at"])


def test_an_items_performance_is_what_its_chart_and_score_use(warehouse):
    top = warehouse.live(hours=12).iloc[0]
    curve = warehouse.performance(top["item_id"])
    last = curve.iloc[-1]
    assert last["value"] == pytest.approx(top["views"] if top["scored_on"] == "views"
                                          else top["interactions"])  # fmt: skip
    assert last["benchmark"] == pytest.approx(top["benchmark"], abs=0.06)
    assert (curve["peers_known"] > 0).all()
    seen = warehouse.observations(top["item_id"])
    assert len(seen) >= 2 and all(pd.api.types.is_numeric_dtype(seen[c]) for c in seen.columns[1:])
    youtube = warehouse.videos(platform="youtube")["item_id"][0]
    assert warehouse.observations(youtube)["quotes"].isna().all()  # YouTube has no quotes


def test_sql_trends_and_a_missing_item(warehouse):
    counts = warehouse.sql(
        "SELECT platform, count(*) AS n FROM reports.video_performance "
        "WHERE is_video AND platform = %(platform)s GROUP BY platform",
        {"platform": "youtube"},
    )
    assert counts["n"][0] == (warehouse.videos()["platform"] == "youtube").sum()
    trends = warehouse.trends()
    assert trends.empty and {"term", "kind", "scope", "detected_at"} <= set(trends.columns)
    with pytest.raises(KeyError, match="no item 'nope'"):
        warehouse.performance("nope")


def test_opening_never_creates_a_warehouse(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHOOT2TOP_DSN", raising=False)
    with pytest.raises(WarehouseError, match="no warehouse in"):
        Warehouse.open()
    assert not (tmp_path / ".shoot2top").exists()
    (tmp_path / ".shoot2top").mkdir()
    (tmp_path / "notebooks").mkdir()
    assert find_state_dir(tmp_path / "notebooks") == tmp_path / ".shoot2top"


@pytest.mark.slow
def test_the_cli_and_the_demo_do_not_need_the_analyst_libraries():
    code = ("import sys, shoot2top.cli, shoot2top.runtime.pipeline, shoot2top.warehouse.reports; "
            "print(sorted(m for m in ('pandas', 'sqlalchemy', 'starlette', 'uvicorn') "
            "if m in sys.modules))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_an_observation_missing_an_interaction_has_its_engagement_unknown(warehouse, monkeypatch):
    """Engagement per observation adds up every interaction the item reports; where one
    is missing in an observation it is NaN there (as in the reports), not a partial sum.
    (The sample never misses a field: the item is made here.)"""
    from datetime import UTC, datetime, timedelta

    from shoot2top.warehouse.performance import Point, Series

    created = datetime(2026, 11, 20, 10, tzinfo=UTC)
    points = [Point(created + timedelta(hours=1), likes=10, shares=2),
              Point(created + timedelta(hours=2), likes=20)]  # fmt: skip
    item = Series("facebook", "x", "p", "P", "photo", None, created, points)
    monkeypatch.setattr(warehouse, "_item", lambda item_id, platform: item)
    seen = warehouse.observations("x")
    assert seen["engagement"][0] == 12 and math.isnan(seen["engagement"][1])
