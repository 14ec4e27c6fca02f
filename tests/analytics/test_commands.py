"""`shoot2top trends detect` and `shoot2top report trends`, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shoot2top.analytics.outputs import WarehouseEvents
from shoot2top.analytics.stage import TrendStage
from shoot2top.lake.store import LocalStore
from shoot2top.sample.lake import write_sample_lake
from shoot2top.sample.trends import planted_trends
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.loader import WarehouseLoader

CLI = [sys.executable, "-m", "shoot2top.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}  # wide enough not to cut the labels
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("detect") / "lake"
    write_sample_lake(LocalStore(root), items=12000)
    return root


@pytest.mark.slow
def test_detect_prints_the_planted_trends_as_json_lines(lake: Path) -> None:
    result = run("trends", "detect", "--lake", str(lake), "--all-only")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["scope"] for r in records} == {"all"}
    assert {"term", "kind", "onset_at", "detected_at", "peak_at", "ended_at", "volume",
            "expected", "score", "publishers", "top_items"} <= records[0].keys()  # fmt: skip
    found = {(r["term"], r["kind"]) for r in records}
    assert {(t.term, t.kind) for t in planted_trends()} <= found
    assert all(r["onset_at"].endswith("Z") for r in records)
    kinds = run("trends", "detect", "--lake", str(lake), "--kinds", "keyword", "--all-only")
    assert {json.loads(line)["kind"] for line in kinds.stdout.splitlines()} == {"keyword"}
    table = run("trends", "detect", "--lake", str(lake), "--all-only", "--format", "table",
                "--method", "ratio")  # fmt: skip
    assert table.returncode == 0 and "#midnightdrop" in table.stdout


@pytest.mark.slow
def test_a_narrow_detect_table_names_an_option_detect_has(lake: Path) -> None:
    args = [*CLI, "trends", "detect", "--lake", str(lake), "--all-only", "--format", "table"]
    env = {**os.environ, "COLUMNS": "80"}
    table = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert table.returncode == 0, table.stderr
    assert "too narrow for" in table.stdout and "use --format json" in table.stdout
    assert "--columns" not in table.stdout  # detect has no such option


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lake", "/no/such/lake"], "lake root /no/such/lake does not exist"),
        (["--lake", "s3://"], "has no bucket"),
        (["--kinds", "hashtag,emoji"], "--kinds 'hashtag,emoji': unknown kind 'emoji'"),
        (["--since", "yesterday"], "Invalid value for '--since'"),
        (
            ["--since", "2026-11-21", "--until", "2026-11-20"],
            "--since 2026-11-21T00:00:00Z must be before --until 2026-11-20T00:00:00Z",
        ),
        (["--method", "magic"], "Invalid value for '--method'"),
        (["--bucket-s", "420"], "--bucket-s 420: must divide an hour"),
    ],
)
@pytest.mark.slow
def test_detect_bad_input_fails_with_a_clear_line(lake: Path, args, message) -> None:
    full = args if "--lake" in args else ["--lake", str(lake), *args]
    result = run("trends", "detect", *full)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.slow
def test_report_trends_from_the_warehouse(lake: Path, pg_dsn: str, tmp_path: Path) -> None:
    stage = TrendStage()
    items = [item for item in LakeSource(LocalStore(lake)) if item is not None]
    sink = WarehouseEvents(pg_dsn)
    sink.send(stage.process(items) + stage.finish())
    sink.close()
    first = _trend_rows(pg_dsn)
    replay = TrendStage()  # the same lake replayed again into the same table
    sink = WarehouseEvents(pg_dsn)
    sink.send(replay.process(items) + replay.finish())
    sink.close()
    assert first and _trend_rows(pg_dsn) == first  # upserted on the identity: same rows
    trend = planted_trends()[0]
    moment = (trend.start.replace(minute=0) + (trend.end - trend.start) / 2).isoformat()
    chart = tmp_path / "trends.png"
    result = run("report", "trends", "--dsn", pg_dsn, "--now", moment, "--hours", "3",
                 "--format", "json", "--chart", str(chart))  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    row = next(r for r in rows if r["label"] == "#" + trend.term and r["scope"] == "all")
    assert row["status"] == "rising" and row["ended_at"] is None  # as known at that moment
    assert row["volume"] > row["expected"] and row["ratio"] >= 3
    assert chart.stat().st_size > 1000
    table = run("report", "trends", "--dsn", pg_dsn, "--now", "2026-11-23T00:00", "--hours", "72")
    assert table.returncode == 0 and "#midnightdrop" in table.stdout
    empty = run("report", "trends", "--dsn", pg_dsn, "--now", "2020-01-01T00:00:00")
    assert empty.returncode == 0 and "no trend detected" in empty.stderr
    bad = run("report", "trends", "--dsn", pg_dsn, "--now", "soon")
    assert bad.returncode == 1 and "--now 'soon' is not" in bad.stderr
    nothing = run("report", "trends", "--dsn", pg_dsn, "--now", "latest")
    assert nothing.returncode == 1 and "no observations yet" in nothing.stderr
    WarehouseLoader(pg_dsn).load(items)  # the newest observation: 2026-11-22
    day = run("report", "trends", "--dsn", pg_dsn, "--now", "latest")  # the last 24 h: none
    assert day.returncode == 0 and "the newest was detected at 2026-11-2" in day.stderr
    assert "try more --hours" in day.stderr and "try --now latest" not in day.stderr  # given
    latest = run("report", "trends", "--dsn", pg_dsn, "--now", "latest", "--hours", "72",
                 "--format", "json")  # fmt: skip
    assert latest.returncode == 0, latest.stderr
    rows = json.loads(latest.stdout)
    assert {r["label"] for r in rows} >= {"#midnightdrop", "hailstorm"}
    # With --platform, the hint's newest trend is that platform's: the newest of all
    # is elsewhere, or the platform has none.
    newest = max(rows, key=lambda row: row["detected_at"])
    other = next(p for p in ("x", "youtube", "facebook") if p != newest["scope"])
    mine = [row["detected_at"] for row in rows if row["scope"] == other]
    scoped = run("report", "trends", "--dsn", pg_dsn, "--now", "latest", "--platform", other)
    assert scoped.returncode == 0, scoped.stderr
    if mine:
        assert f"the newest was detected at {max(mine)[:16].replace('T', ' ')}" in scoped.stderr
    else:
        assert "the trends stage writes them" in scoped.stderr


def _trend_rows(dsn: str) -> list[tuple]:
    with connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT * FROM trends ORDER BY term, kind, scope, onset_at")
        return cursor.fetchall()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "terms"),
    [
        (["--since", "2026-11-21T00:00:00Z"], {"hailstorm"}),  # Z accepted
        (["--until", "2026-11-21T00:00:00+00:00"], {"midnightdrop"}),
        (["--since", "2026-11-20T00:00:00", "--until", "2026-11-21T00:00:00Z"], {"midnightdrop"}),
        (["--glob", "2026-11-21T*"], {"hailstorm"}),
        ([], {"midnightdrop", "hailstorm"}),
    ],
)
def test_detect_selects_by_glob_since_and_until(lake: Path, args, terms) -> None:
    """The planted trends are a day apart (#midnightdrop on the 20th, hailstorm on the
    21st): selecting the partitions or the observed times selects them."""
    result = run("trends", "detect", "--lake", str(lake), "--all-only", *args)
    assert result.returncode == 0, result.stderr
    assert {json.loads(line)["term"] for line in result.stdout.splitlines()} == terms
