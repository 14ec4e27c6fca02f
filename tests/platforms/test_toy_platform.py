"""Adding a platform is one registration (docs/platforms.md): a toy fourth platform,
registered by `toy_platform` in a fresh `shoot2top` process, parses in a config, builds
as a source, validates, extracts and loads into the warehouse and the lake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2

from factories import lake_counts

HERE = Path(__file__).parent
# `shoot2top` with the toy platform registered first, as a built-in one is by its module
CLI = [sys.executable, "-c", "import toy_platform; from shoot2top.cli import main; main()"]


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path, **env},
    )


def write_config(tmp_path: Path, source: dict) -> Path:
    config = {
        "name": "toy-run",
        "state_dir": str(tmp_path / "state"),
        "sources": [source],
        "sinks": [
            {"type": "postgres", "dsn": "${TOY_DSN}", "batch_items": 2},
            {"type": "lake", "uri": str(tmp_path / "lake"), "fsync": False},
        ],
    }
    path = tmp_path / "toy.json"
    path.write_text(json.dumps(config))
    return path


def test_a_toy_platform_runs_from_config_to_the_warehouse(tmp_path: Path, pg_dsn: str) -> None:
    config = write_config(tmp_path, {"type": "toy", "api_key": "${TOY_KEY}", "clips": 5})
    result = run_cli("ingest", "--config", str(config), "--quiet", TOY_KEY="k", TOY_DSN=pg_dsn)
    assert result.returncode == 0, result.stderr
    assert "toy-run: 5 items (clip 5)" in result.stdout

    assert lake_counts(tmp_path / "lake") == {"clip": 5}
    with psycopg2.connect(pg_dsn) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT item_id, item_type, publisher_id, media_type, url FROM items "
            "WHERE platform = 'toy' ORDER BY item_id"
        )
        assert cursor.fetchall() == [
            (f"c{n}", "clip", "maker1", "video", f"https://toy.example/clips/c{n}")
            for n in range(5)
        ]
        cursor.execute("SELECT name FROM publishers WHERE platform = 'toy'")
        assert cursor.fetchall() == [("Maker One",)]
        cursor.execute("SELECT hashtag FROM item_hashtags WHERE item_id = 'c3' ORDER BY 1")
        assert cursor.fetchall() == [("cooking",), ("toy3",)]
        cursor.execute("SELECT keyword FROM item_keywords WHERE item_id = 'c3' ORDER BY 1")
        assert cursor.fetchall() == [("clip",), ("kitchen",), ("series",)]
        cursor.execute(
            "SELECT views, likes FROM metric_snapshots WHERE platform = 'toy' ORDER BY item_id"
        )
        assert cursor.fetchall() == [(100 * (n + 1), n) for n in range(5)]


def test_a_toy_platform_config_is_checked_like_a_built_in_one(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"type": "toy", "api_key": "k", "clipz": 5})
    result = run_cli("ingest", "--config", str(config))
    assert result.returncode != 0
    assert "sources[0].api_key: secrets must be given as a ${ENV_VAR} reference" in result.stderr
    assert "sources[0].clipz: unknown key" in result.stderr
    assert "'k'" not in result.stderr  # a secret's input is never echoed

    config = write_config(tmp_path, {"type": "tok", "api_key": "${TOY_KEY}"})
    result = run_cli("ingest", "--config", str(config))
    assert "'lake', 'x', 'youtube', 'facebook', 'toy'" in result.stderr


def test_the_cli_offers_a_registered_platform(tmp_path: Path) -> None:
    result = run_cli("report", "--help")
    assert result.returncode == 0, result.stderr
    assert "[x|youtube|facebook|toy]" in result.stdout


def test_a_source_config_not_tagged_with_its_platform_is_refused_on_import() -> None:
    register = (
        "from shoot2top.platforms import Platform, register\n"
        "register(Platform(name='bad', type_key='badclip', identity=lambda p, i: (1, 2, 3),\n"
        "    extractor='toy_clip:extract_clip', source_config='toy_clip:ToySourceConfig',\n"
        "    source='toy_clip:ToySource'))\n"
        "import shoot2top.config\n"
    )
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", register],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert result.returncode != 0
    assert (
        "PlatformError: platform 'bad': source_config 'toy_clip:ToySourceConfig' must be a "
        'Strict model with type: Literal["bad"]'
    ) in result.stderr
