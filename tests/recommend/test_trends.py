"""Trends as input: records from a file (the trends stage's records or hand-written),
and the active ones from the warehouse's `trends` table when it exists."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shoot2top.recommend.catalog import RecommendError
from shoot2top.recommend.trends import (
    ActiveTrend,
    TrendsUnavailable,
    active_trends,
    normalize_term,
    read_trends_file,
    select_active,
    trend_from_record,
)
from shoot2top.warehouse.database import connect

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
STAGE_RECORD = {  # `TrendEvent.record()` of the trends stage
    "id": "cycle-poisson/all/#midnightdrop/2026-11-21T11:00:00Z",
    "kind": "hashtag", "method": "cycle-poisson", "status": "rising", "scope": "all",
    "term": "midnightdrop", "onset_at": "2026-11-21T10:40:00Z",
    "detected_at": "2026-11-21T11:00:00Z", "peak_at": "2026-11-21T11:00:00Z",
    "ended_at": None, "volume": 42, "expected": 1.5, "score": 17.2, "publishers": 9,
    "peak_volume": 12, "window_min": 15,
    "top_items": [{"platform": "x", "item_id": "1866"}], "as_of": "2026-11-21T11:00:00Z",
}  # fmt: skip


def test_a_stage_record_and_a_streamed_event_read_the_same() -> None:
    trend = trend_from_record(STAGE_RECORD, "here")
    assert trend == trend_from_record({"trend": STAGE_RECORD, "_source": "trends"}, "here")
    assert (trend.term, trend.kind, trend.score, trend.volume) == (
        "midnightdrop",
        "hashtag",
        17.2,
        42,
    )
    assert trend.onset_at == datetime(2026, 11, 21, 10, 40, tzinfo=UTC)
    assert trend.ended_at is None and trend.top_items == (("x", "1866"),)
    assert trend.label == "#midnightdrop"


def test_hand_written_records_need_only_a_term() -> None:
    assert trend_from_record({"term": "#DerbyDay"}, "f") == ActiveTrend("derbyday", "hashtag")
    assert trend_from_record({"term": "Hailstorm"}, "f") == ActiveTrend("hailstorm", "keyword")
    assert normalize_term("＄ＡＡＰＬ") == normalize_term("$AAPL") == ("aapl", "cashtag")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"kind": "hashtag"}, "f:3: trend has no 'term'"),
        ({"term": "x", "score": "high"}, "f:3: trend 'x': could not convert string to float"),
        ({"term": "x", "onset_at": "yesterday"}, "f:3: trend 'x': Invalid isoformat"),
        ({"term": "x", "kind": 5}, "f:3: trend 'kind' must be a string"),
        ([1, 2], "f:3: a trend is a JSON object, got list"),
    ],
)
def test_bad_records_name_where_and_what(record: object, message: str) -> None:
    with pytest.raises(RecommendError, match=message):
        trend_from_record(record, "f:3")


def test_files_of_json_lines_or_an_array(tmp_path: Path) -> None:
    lines = tmp_path / "trends.jsonl"
    lines.write_text(json.dumps(STAGE_RECORD) + "\n\n" + json.dumps({"term": "encore"}) + "\n")
    array = tmp_path / "trends.json"
    array.write_text(json.dumps([STAGE_RECORD, {"term": "encore"}]))
    assert read_trends_file(lines) == read_trends_file(array)
    assert [t.term for t in read_trends_file(lines)] == ["midnightdrop", "encore"]
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"term": "ok"}) + "\n{not json\n")
    with pytest.raises(RecommendError, match=rf"{broken}:2: not valid JSON"):
        read_trends_file(broken)
    with pytest.raises(RecommendError, match=r"cannot read trends file .*missing\.json"):
        read_trends_file(tmp_path / "missing.json")


def test_active_means_detected_not_ended_and_not_stale() -> None:
    def trend(detected: timedelta | None, ended: timedelta | None = None) -> ActiveTrend:
        return ActiveTrend(
            "t", "keyword",
            detected_at=None if detected is None else NOW + detected,
            ended_at=None if ended is None else NOW + ended,
        )  # fmt: skip

    chosen = select_active(
        [
            trend(-timedelta(hours=1)),  # active
            trend(-timedelta(hours=1), ended=-timedelta(minutes=5)),  # over
            trend(-timedelta(hours=1), ended=timedelta(hours=2)),  # ends later: active now
            trend(timedelta(hours=1)),  # not yet detected
            trend(-timedelta(days=2)),  # never reported ended, too old
            trend(None),  # no times at all: taken as active
        ],
        NOW,
    )
    assert len(chosen) == 3


def test_a_warehouse_without_the_trends_table_says_so(pg_dsn: str) -> None:
    connection = connect(pg_dsn)
    try:
        with connection, connection.cursor() as cursor:  # as before migration 0010_trends
            cursor.execute("DROP TABLE trends CASCADE")
        with pytest.raises(TrendsUnavailable, match=r"no `trends` table.*0010_trends.*--trends"):
            active_trends(connection, NOW)
    finally:
        connection.close()


def test_active_trends_are_read_from_the_trends_table(pg_dsn: str) -> None:
    connection = connect(pg_dsn)
    try:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE trends CASCADE")  # another writer's table, same reader
            cursor.execute(
                "CREATE TABLE trends (id text PRIMARY KEY, term text, kind text, scope text,"
                " onset_at timestamptz, detected_at timestamptz, ended_at timestamptz,"
                " score double precision, volume bigint, top_items jsonb)"
            )
            for name, detected, ended in (
                ("live", NOW - timedelta(hours=1), None),
                ("over", NOW - timedelta(hours=3), NOW - timedelta(hours=1)),
                ("future", NOW + timedelta(hours=1), None),
            ):
                cursor.execute(
                    "INSERT INTO trends VALUES (%s, %s, 'hashtag', 'x', %s, %s, %s, 3.5, 10,"
                    " %s::jsonb)",
                    (name, name, detected, detected, ended, '[{"platform": "x", "item_id": "7"}]'),
                )
        connection.commit()
        found = active_trends(connection, NOW)
        assert [(t.term, t.scope, t.score, t.top_items) for t in found] == [
            ("live", "x", 3.5, (("x", "7"),))
        ]
        assert found[0].applies_to("x") and not found[0].applies_to("youtube")
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE trends DROP COLUMN ended_at")
        connection.commit()
        with pytest.raises(TrendsUnavailable, match="no column ended_at"):
            active_trends(connection, NOW)
    finally:
        connection.close()
