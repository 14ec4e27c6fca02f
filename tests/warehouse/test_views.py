"""The SQL views compute what the Python reports compute, row by row, on the sample."""

from __future__ import annotations

from datetime import timedelta

import psycopg2.extras
import pytest

from shoot2top.lake.store import LocalStore
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.reports import (
    latest_observation,
    live_report,
    load_series,
    publisher_report,
    video_report,
)


@pytest.fixture(scope="module")
def loaded(sample_lake, postgres_server) -> str:
    dsn = postgres_server.new_database(migrated=True)
    WarehouseLoader(dsn).load([i for i in LakeSource(LocalStore(sample_lake)) if i is not None])
    return dsn


def query(dsn: str, sql: str, *params) -> list[dict]:
    connection = connect(dsn)
    with connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
        cursor.execute(sql, params)
        rows = [dict(row) for row in cursor.fetchall()]
    connection.close()
    return rows


def same(python: dict, sql: dict, columns: list[str], tolerance: float = 0.051) -> None:
    """Equal, but for the Python report's rounding to 0.1 (age to 0.01)."""
    for column in columns:
        want, got = python[column], sql[column]
        if isinstance(want, float) and got is not None:
            assert got == pytest.approx(want, abs=tolerance, rel=1e-9), (column, python, sql)
        else:
            assert got == want, (
                column,
                python["item_id" if "item_id" in python else "publisher_id"],
                want,
                got,
            )


def python_series(dsn: str, until=None):
    connection = connect(dsn)
    try:
        return load_series(connection, until=until)
    finally:
        connection.close()


def test_video_performance_is_the_videos_report(loaded):
    expected = {row["item_id"]: row for row in video_report(python_series(loaded))}
    rows = query(loaded, "SELECT * FROM reports.video_performance WHERE is_video")
    assert {row["item_id"] for row in rows} == set(expected)
    columns = [c for c in expected[next(iter(expected))] if c not in ("published",)]
    for row in rows:
        want = expected[row["item_id"]]
        assert row["published"] == want["published"]
        same(want, row, columns)
    everything = query(loaded, "SELECT count(*) AS n FROM reports.video_performance")[0]["n"]
    assert everything == len(python_series(loaded))  # other media are there too, unranked


def test_publisher_summary_is_the_publishers_report(loaded):
    expected = {
        (r["platform"], r["publisher_id"]): r for r in publisher_report(python_series(loaded))
    }
    rows = query(loaded, "SELECT * FROM reports.publisher_summary")
    assert {(row["platform"], row["publisher_id"]) for row in rows} == set(expected)
    for row in rows:
        want = expected[(row["platform"], row["publisher_id"])]
        same(want, row, list(want))


@pytest.mark.parametrize("hours_before_end", [0, 20])
def test_live_scores_are_the_live_report(loaded, hours_before_end):
    connection = connect(loaded)
    now = latest_observation(connection) - timedelta(hours=hours_before_end)
    connection.close()
    expected = {row["item_id"]: row for row in live_report(python_series(loaded, now), now)}
    rows = query(loaded, "SELECT * FROM reports.live_scores_at(%s, 24)", now)
    assert {row["item_id"] for row in rows} == set(expected) and len(rows) > 20
    assert sum(1 for row in rows if row["score"] is not None) > 10
    for row in rows:
        want = expected[row["item_id"]]
        same(want, row, [c for c in want if c != "age_h"])
        assert row["age_h"] == pytest.approx(want["age_h"], abs=0.0051)
    if hours_before_end == 0:  # the view is the function as of the newest observation
        view = query(loaded, "SELECT * FROM reports.live_scores")
        assert sorted(map(str, view)) == sorted(map(str, rows))


def z(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def youtube(item_id: str, channel: str, created, observed, views, likes, comments) -> dict:
    statistics = {name: str(value) for name, value in
                  (("viewCount", views), ("likeCount", likes), ("commentCount", comments))
                  if value is not None}  # fmt: skip
    return {"video": {"kind": "youtube#video", "id": item_id,
                      "snippet": {"publishedAt": z(created), "channelId": channel,
                                  "title": f"video {item_id}"},
                      "statistics": statistics},
            "_observed_at": z(observed)}  # fmt: skip


def page_post(item_id: str, created, observed, reactions, comments, shares) -> dict:
    post = {
        "id": item_id,
        "created_time": created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "from": {"id": "77", "name": "Page"},
        "message": f"post {item_id}",
        "comments": {"summary": {"total_count": comments}},
        "shares": {"count": shares},
    }
    if reactions is not None:  # hidden: the Graph API leaves the summary out
        post["reactions"] = {"summary": {"total_count": reactions}}
    return {"post": post, "_observed_at": z(observed)}


@pytest.fixture(scope="module")
def edgy(postgres_server) -> str:
    """Cases the sample lacks: pools of more than 100 peers, equal publication times,
    first observations between 1 and 2 h (no zero anchor), days late, hidden likes,
    observations without any counter, and Page posts scored on interactions."""
    import random
    from datetime import UTC, datetime

    rng = random.Random(11)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    items = []
    for channel in ("UCa", "UCb"):
        for n in range(150):
            created = start + timedelta(hours=n // 3)  # three at a time: a tie at the cut
            first = rng.choice([0.2, 0.9, 1.0, 1.5, 1.99, 30.0])
            offsets = sorted({first, *(first + rng.uniform(0.5, 70) for _ in range(5))})
            views = 0
            for k, offset in enumerate(offsets):
                views += rng.randrange(10, 100_000)
                likes = None if rng.random() < 0.15 else views // 20  # hidden at times
                blank = rng.random() < 0.05  # an observation without counters
                items.append(youtube(f"{channel}-{n}", channel, created,
                                     created + timedelta(hours=offset),
                                     None if blank else views, None if blank else likes,
                                     None if blank else views // 100 + k))  # fmt: skip
    for n in range(40):
        created = start + timedelta(hours=3 * n + 1)
        for k in range(4):
            reactions = None if rng.random() < 0.3 else rng.randrange(100) * (k + 1)
            items.append(page_post(f"77_{n}", created, created + timedelta(hours=0.5 + 9 * k),
                                   reactions, 5 * k, k))  # fmt: skip
    dsn = postgres_server.new_database(migrated=True)
    WarehouseLoader(dsn).load(items)
    return dsn


@pytest.mark.slow
def test_the_views_agree_with_the_reports_on_edge_cases(edgy):
    series = python_series(edgy)
    videos = {row["item_id"]: row for row in video_report(series)}
    rows = query(edgy, "SELECT * FROM reports.video_performance WHERE is_video")
    assert {row["item_id"] for row in rows} == set(videos)
    for row in rows:
        same(videos[row["item_id"]], row, [c for c in videos[row["item_id"]] if c != "published"])
    publishers = {r["publisher_id"]: r for r in publisher_report(series)}
    for row in query(edgy, "SELECT * FROM reports.publisher_summary"):
        same(publishers[row["publisher_id"]], row, list(publishers[row["publisher_id"]]))
    connection = connect(edgy)
    end = latest_observation(connection)
    connection.close()
    for now, hours in ((end, 24.0), (end - timedelta(hours=30), 48.0), (end, 400.0)):
        expected = {
            r["item_id"]: r for r in live_report(python_series(edgy, now), now, hours=hours)
        }
        live = query(edgy, "SELECT * FROM reports.live_scores_at(%s, %s)", now, hours)
        assert {row["item_id"] for row in live} == set(expected)
        for row in live:
            same(
                expected[row["item_id"]], row, [c for c in expected[row["item_id"]] if c != "age_h"]
            )
    assert len(live) > 200 and {r["scored_on"] for r in live} == {"views", "interactions"}


def test_the_trends_view_is_the_trends_table_however_it_came(postgres_server):
    from shoot2top.warehouse.schema import migrate

    fresh = postgres_server.new_database(migrated=True)  # 0010_trends made both
    assert query(fresh, "SELECT to_regclass('reports.trends') AS v")[0]["v"] == "reports.trends"
    assert query(fresh, "SELECT * FROM reports.trends") == []
    staged = postgres_server.new_database(migrated=False)
    connection = connect(staged)
    with connection, connection.cursor() as cursor:  # as the trends stage's migration makes it
        cursor.execute("CREATE TABLE trends (trend_id text PRIMARY KEY, term text, score float)")
        cursor.execute("INSERT INTO trends VALUES ('t1', 'storm', 4.5)")
    migrate(connection)
    connection.close()
    assert query(staged, "SELECT * FROM reports.trends") == [
        {"trend_id": "t1", "term": "storm", "score": 4.5}
    ]
