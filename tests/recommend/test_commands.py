"""`shoot2top recommend …`, `predict` and the forecast in `report live`, as a user runs
them, on a small evaluation world loaded into a real warehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from curves import loaded_world
from shoot2top.recommend.synthetic import World, generate

CLI = [sys.executable, "-m", "shoot2top.cli"]
PITCHSIDE = "UCq7xMvN2cJ8wL0pR5tYb3Kd"  # Pitchside Highlights (YouTube, football)

pytestmark = pytest.mark.slow


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SHOOT2TOP_STATE", "SHOOT2TOP_DSN")}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


@pytest.fixture(scope="module")
def loaded(postgres_server) -> tuple[str, World]:
    world = generate(7, weeks=2, posts_per_day=4)
    return loaded_world(postgres_server, world), world


def as_json(result: subprocess.CompletedProcess[str]) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_timing_ranks_all_hours_in_the_zone_given(loaded: tuple[str, World]) -> None:
    dsn, _ = loaded
    result = run("recommend", "timing", "--dsn", dsn, "--publisher", PITCHSIDE,
                 "--now", "latest", "--tz", "Europe/London", "--format", "json")  # fmt: skip
    rows = as_json(result)
    assert len(rows) == 168 and rows[0]["rank"] == 1
    assert {"slot", "expected", "low", "high", "items", "support", "own_weight"} <= rows[0].keys()
    assert "times in Europe/London" in result.stderr and "weighs half at" in result.stderr
    limited = run("recommend", "timing", "--dsn", dsn, "--publisher", PITCHSIDE,
                  "--now", "latest", "--limit", "3")  # fmt: skip
    assert limited.returncode == 0 and "When to post: Pitchside Highlights" in limited.stdout


def test_bad_input_fails_with_one_clear_line(loaded: tuple[str, World]) -> None:
    dsn, _ = loaded
    bad_zone = run("recommend", "timing", "--dsn", dsn, "--publisher", PITCHSIDE, "--tz", "Nowhere")
    assert bad_zone.returncode == 1
    assert "--tz: time zone 'Nowhere' is not an IANA name" in bad_zone.stderr
    unknown = run("recommend", "terms", "--dsn", dsn, "--publisher", "nobody")
    assert unknown.returncode == 1 and "no publisher 'nobody' in the warehouse" in unknown.stderr
    no_item = run("predict", "--dsn", dsn, "--item", "nope")
    assert no_item.returncode == 1 and "no item 'nope'" in no_item.stderr
    no_trends = run("recommend", "crosspromote", "--dsn", dsn, "--publisher", PITCHSIDE)
    assert no_trends.returncode == 0  # the migrated warehouse's trends table is empty
    assert "no trend is active at" in no_trends.stderr


def test_they_never_create_a_warehouse_and_find_the_demos(tmp_path: Path, postgres_server) -> None:
    """A fresh shell after scripts/demo.sh (its warehouse in .shoot2top/demo, no
    SHOOT2TOP_STATE): like the reports, they use that warehouse; with none, they say so
    rather than start an empty one in .shoot2top that every later report would read."""
    commands = [
        ("recommend", "timing", "--publisher", PITCHSIDE),
        ("recommend", "terms", "--publisher", PITCHSIDE),
        ("recommend", "crosspromote", "--publisher", PITCHSIDE),
        ("predict", "--item", "x"),
    ]
    for args in commands:
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 1, args
        assert "no warehouse in .shoot2top" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert not (tmp_path / ".shoot2top" / "postgres").exists(), args
    (tmp_path / ".shoot2top").mkdir(exist_ok=True)
    (tmp_path / ".shoot2top" / "demo").symlink_to(postgres_server.state_dir.resolve())
    found = run("recommend", "timing", "--publisher", PITCHSIDE, cwd=tmp_path)
    assert "using the one in .shoot2top/demo" in found.stderr
    assert "run `shoot2top warehouse init`" in found.stderr  # reached it: no schema there
    assert not (tmp_path / ".shoot2top" / "postgres").exists()


def test_terms_with_trends_from_a_file(loaded: tuple[str, World], tmp_path: Path) -> None:
    dsn, _ = loaded
    trends = tmp_path / "trends.jsonl"
    trends.write_text(json.dumps({"term": "#goal", "score": 8.5}) + "\n")
    result = run("recommend", "terms", "--dsn", dsn, "--publisher", PITCHSIDE,
                 "--now", "latest", "--trends", str(trends), "--format", "json")  # fmt: skip
    rows = as_json(result)
    assert rows and {"term", "lift", "low", "high", "support", "verdict"} <= rows[0].keys()
    flagged = [row for row in rows if row["trending"] is not None]
    assert [row["term"] for row in flagged] == ["#goal"]
    plain = run("recommend", "terms", "--dsn", dsn, "--publisher", PITCHSIDE, "--now", "latest")
    assert plain.returncode == 0, plain.stderr  # the trends table is there, empty
    assert not [
        row
        for row in as_json(
            run(
                "recommend",
                "terms",
                "--dsn",
                dsn,
                "--publisher",
                PITCHSIDE,
                "--now",
                "latest",
                "--format",
                "json",
            )
        )
        if row["trending"] is not None
    ]


def test_crosspromote_finds_the_planted_back_catalog(
    loaded: tuple[str, World], tmp_path: Path
) -> None:
    dsn, world = loaded
    trend = next(t for t in world.trends if t.term == "derbyday")
    now = trend.onset + timedelta(hours=2)
    trends = tmp_path / "trends.json"
    trends.write_text(json.dumps([{"term": "derbyday", "kind": "hashtag",
                                   "onset_at": trend.onset.isoformat()}]))  # fmt: skip
    rows = as_json(
        run("recommend", "crosspromote", "--dsn", dsn, "--publisher", PITCHSIDE,
            "--now", now.isoformat(), "--trends", str(trends), "--format", "json")
    )  # fmt: skip
    planted = world.matches[("derbyday", "youtube", PITCHSIDE)]
    top = [row["item_id"] for row in rows]
    assert len(top) == 5 and sum(item in planted for item in top) >= 4
    assert all(row["reason"].startswith("#derbyday trending: ") for row in rows)


def test_predict_and_the_live_forecast(loaded: tuple[str, World]) -> None:
    dsn, world = loaded
    item = next(
        i for i in world.items
        if i.platform == "youtube" and i.published > world.test_start + timedelta(days=2)
    )  # fmt: skip
    key = next(
        k for k, o in world.outcomes.items() if k[0] == "youtube" and k[1] == item.static["id"]
    )
    now = item.published + timedelta(hours=1)
    rows = as_json(run("predict", "--dsn", dsn, "--item", key[1], "--now", now.isoformat(),
                       "--format", "json"))  # fmt: skip
    assert [row["horizon"] for row in rows] == ["24h", "7d"]
    assert rows[0]["status"] == "forecast" and rows[0]["low"] <= rows[0]["value"] <= rows[0]["high"]
    assert rows[0]["metric"] == "views" and rows[0]["from_age_h"] <= 1
    live = as_json(run("report", "live", "--dsn", dsn, "--now", now.isoformat(), "--hours", "2",
                       "--format", "json"))  # fmt: skip
    row = next(r for r in live if r["item_id"] == key[1])
    assert row["forecast_24h"] == pytest.approx(rows[0]["value"], rel=1e-3)
    assert row["forecast_24h_low"] <= row["forecast_24h"] <= row["forecast_24h_high"]
