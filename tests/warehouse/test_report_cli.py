"""`shoot2top report` as a person uses it: which warehouse, hints, --watch, exports,
errors. Real processes against the real (embedded) PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from factories import video
from shoot2top.cli import CLEAR_SCREEN, Commands
from shoot2top.lake.store import LocalStore
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.reports import latest_observation
from terminal import Terminal
from waits import wait_for

CLI = [sys.executable, "-m", "shoot2top.cli"]


def run(*args: str, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, cwd=cwd,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.fixture(scope="module")
def loaded(sample_lake, postgres_server) -> str:
    dsn = postgres_server.new_database(migrated=True)
    WarehouseLoader(dsn).load([i for i in LakeSource(LocalStore(sample_lake)) if i is not None])
    return dsn


@pytest.mark.slow
def test_a_report_never_creates_a_warehouse_and_says_which_to_use(tmp_path):
    result = run("report", "videos", cwd=tmp_path)
    assert result.returncode == 1
    assert "no warehouse in .shoot2top" in result.stderr and "scripts/demo.sh" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".shoot2top" / "postgres").exists()


@pytest.mark.slow
def test_a_report_finds_the_lone_warehouse_below_the_default_state_dir(tmp_path, postgres_server):
    """The demo's warehouse is in .shoot2top/demo: a report from the checkout finds it
    (here the session's embedded server, whose default database has no schema)."""
    (tmp_path / ".shoot2top").mkdir()
    (tmp_path / ".shoot2top" / "demo").symlink_to(postgres_server.state_dir.resolve())
    result = run("report", "videos", cwd=tmp_path)
    assert "using the one in .shoot2top/demo" in result.stderr
    assert "run `shoot2top warehouse init`" in result.stderr  # reached it: no schema there
    assert not (tmp_path / ".shoot2top" / "postgres").exists()
    chosen = run("report", "videos", "--state-dir", ".shoot2top", cwd=tmp_path)
    assert chosen.returncode == 1  # a state dir chosen on purpose is not second-guessed
    assert "pass --state-dir .shoot2top/demo" in chosen.stderr


@pytest.mark.slow
def test_help_documents_the_state_dir_variable():
    assert "SHOOT2TOP_STATE" in run("--help").stdout
    assert "[env var: SHOOT2TOP_STATE]" in " ".join(run("report", "--help").stdout.split())


@pytest.mark.slow
def test_an_empty_live_report_says_to_try_latest(loaded):
    result = run("report", "live", "--dsn", loaded)
    assert result.returncode == 0 and "(no rows)" in result.stdout
    assert "try --now latest" in result.stderr
    latest = run("report", "live", "--dsn", loaded, "--now", "latest")
    assert "(no rows)" not in latest.stdout and "try" not in latest.stderr


@pytest.mark.slow
def test_exports_are_faithful(loaded):
    rows = list(csv.DictReader(io.StringIO(run("report", "videos", "--dsn", loaded,
                                               "--format", "csv").stdout)))  # fmt: skip
    connection = connect(loaded)
    with connection.cursor() as cursor:
        cursor.execute("SELECT item_id, coalesce(title, text, description) FROM items")
        titles = dict(cursor.fetchall())
    connection.close()
    assert any(len(titles[row["item_id"]]) > 60 for row in rows)
    assert all(row["title"] == titles[row["item_id"]] for row in rows)  # whole, not cut
    text = run("report", "live", "--dsn", loaded, "--format", "csv", "--now", "2000-01-01").stdout
    assert text == "platform,item_id,publisher,media_type,title,age_h,views,interactions," \
                   "views_per_h,scored_on,benchmark,score,forecast_24h,forecast_24h_low," \
                   "forecast_24h_high\n"  # fmt: skip
    chosen = run("report", "publishers", "--dsn", loaded, "--format", "json",
                 "--columns", "publisher,items")  # fmt: skip
    assert all(list(row) == ["publisher", "items"] for row in json.loads(chosen.stdout))


@pytest.mark.slow
def test_a_table_fits_the_terminal(loaded):
    result = run("report", "videos", "--dsn", loaded, env={"COLUMNS": "90"})
    lines = result.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 90  # terminal cells, not code points
    assert len([line for line in lines if line.startswith("│")]) == len(
        json.loads(run("report", "videos", "--dsn", loaded, "--format", "json").stdout)
    )  # one line per row


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["report", "live", "--chart", "/nonexistent/dir/x.png"],
            "/nonexistent/dir does not exist",
        ),
        (["--log-level", "LOUD", "report", "live"], "'LOUD' is not one of"),
        (["report", "live", "--hours", "-5"], "-5.0 is not in the range x>0"),
        (["report", "live", "--columns", "nope"], "nope not in this report"),
        (["report", "live", "--item", "v1"], "--item is for --chart"),  # was ignored
        (["report", "videos", "--hours", "6"], "--hours is for the live, trends and"),  # too
        (["report", "live", "--all-media"], "--all-media is for the videos report, not live"),
        (["report", "trends", "--publisher", "p1"], "trends are by platform (--platform)"),
    ],
)
@pytest.mark.slow
def test_mistakes_are_one_line_errors(loaded, args, message):
    result = run(*args, "--dsn", loaded) if args[0] == "report" else run(*args)
    assert result.returncode in (1, 2) and message in result.stderr
    assert "Traceback" not in result.stderr


def test_item_is_refused_where_the_chart_plots_no_one_item(tmp_path):
    """The trends chart plots every trend: `--item` there was silently ignored."""
    from shoot2top.cli import main

    args = ["report", "trends", "--chart", str(tmp_path / "t.png"), "--item", "#x"]
    result = CliRunner().invoke(main, [*args, "--dsn", "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 1  # before the warehouse is reached
    assert "--item: the trends chart plots every trend, not one item" in result.output


@pytest.mark.parametrize(
    ("now_text", "advice"),
    [("2026-11-23T00:00:00", "try --now latest or more --hours"), ("latest", "try more --hours")],
)
def test_an_old_window_hint_suggests_what_was_not_given(capsys, now_text, advice):
    """The newest amplification (or trend) is older than --hours before --now: with --now
    latest given already, suggesting it again was no help."""
    from shoot2top.cli import ReportRequest, _hint_amplification

    request = ReportRequest(
        "amplification", [], "table", None, None, None, False, 24.0, now_text, None, None, True
    )
    now = datetime(2026, 11, 23, tzinfo=UTC)
    _hint_amplification(request, "the window", now, now - timedelta(hours=30))
    hint = capsys.readouterr().err
    assert "the warehouse's newest is from 2026-11-21 18:00 UTC" in hint
    assert hint.rstrip().endswith(advice)


@pytest.mark.slow
def test_latest_on_an_empty_warehouse_is_a_clear_error(postgres_server):
    result = run("report", "live", "--now", "latest", "--dsn", postgres_server.new_database(True))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "the warehouse has no observations yet" in result.stderr


@pytest.mark.parametrize(
    "text", ["2026-11-20T10:00:00+02:00", "2026-11-20T08:00:00Z", "2026-11-20 08:00"]
)
def test_now_with_an_offset_is_reported_in_utc(text):
    """Titles print --now as "… UTC": 10:00+02:00 was printed as 10:00 UTC."""
    from shoot2top.cli import _report_time

    now = _report_time(text, connection=None)
    assert now == datetime(2026, 11, 20, 8, tzinfo=UTC) and f"{now:%H:%M %Z}" == "08:00 UTC"


@pytest.mark.parametrize(
    "command",
    [["report", "live"], ["recommend", "timing", "--publisher", "p"], ["predict", "--item", "i"]],
)
def test_a_bad_now_is_named_before_any_warehouse_is_looked_for(tmp_path, command):
    """Checked before any work: it was 'no warehouse in …' first (or a stopped embedded
    server was started), and only then the --now mistake."""
    from shoot2top.cli import main

    args = [*command, "--now", "yesterday", "--state-dir", str(tmp_path)]
    result = CliRunner().invoke(main, args, env={"SHOOT2TOP_DSN": ""})
    assert result.exit_code == 1
    assert "--now 'yesterday' is not 'now', 'latest' or an ISO-8601 time" in result.output


def test_an_unexpected_error_is_one_line_unless_debugging():
    @click.group(cls=Commands)
    def group() -> None:
        pass

    @group.command()
    def boom() -> None:
        raise KeyError("the value")

    result = CliRunner().invoke(group, ["boom"])
    assert result.exit_code == 1
    assert "unexpected KeyError: 'the value' (`shoot2top --log-level DEBUG …`" in result.output
    assert "before the command" in result.output  # a global option: after it, click refuses it


@pytest.mark.slow
def test_watch_refreshes_in_place_with_new_data(loaded):
    """`--watch` on a terminal redraws the report in place, and shows what was loaded
    since the last refresh."""
    terminal = Terminal(
        [*CLI, "report", "live", "--dsn", loaded, "--now", "latest", "--watch", "0.5",
         "--columns", "item_id,score"],
    )  # fmt: skip
    clear = CLEAR_SCREEN.encode()
    try:
        wait_for(lambda: terminal.output.count(clear) >= 2, "two refreshes",
                 process=terminal.process)  # fmt: skip
        connection = connect(loaded)
        newest = latest_observation(connection)
        connection.close()
        fresh = video("fresh-video-1", newest + timedelta(minutes=5), newest)
        WarehouseLoader(loaded).load([fresh])
        wait_for(lambda: b"fresh-video-1" in terminal.output, "the new item on screen",
                 process=terminal.process)  # fmt: skip
    finally:
        terminal.process.send_signal(signal.SIGINT)
        code = terminal.wait(timeout=30)
    assert code == 0 and "Traceback" not in terminal.text
    last = bytes(terminal.output).rsplit(clear, 1)[1].decode()
    assert "fresh-video-1" in last and "Ctrl-C stops" in last
