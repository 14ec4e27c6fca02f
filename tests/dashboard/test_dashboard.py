"""`shoot2top dashboard` in a real headless Chromium: it loads, shows the demo's data,
and updates by itself within 2 s of a commit; pipeline health, trends, access token,
read-only role. Screenshots are kept in each test's temp dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2.extensions
import pytest

from browser import chromium
from pgtest import PostgresServer
from shoot2top.analytics.events import TrendEvent
from shoot2top.analytics.outputs import WarehouseEvents
from shoot2top.dashboard.panels import trends_view
from shoot2top.lake.store import LocalStore
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.access import READER_ROLE, ensure_reader_role
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.reports import latest_observation, live_report, load_series
from shoot2top.warehouse.schema import migrate
from waits import wait_for

REPO = Path(__file__).parents[2]
CLI = [sys.executable, "-m", "shoot2top.cli"]


class Dashboard:
    """A `shoot2top dashboard` process; `url` once it listens."""

    def __init__(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.process = subprocess.Popen(
            [*CLI, "dashboard", "--port", "0", *args], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, cwd=cwd,
        )  # fmt: skip
        self.first_line = self.process.stderr.readline()
        assert "dashboard: http://" in self.first_line, self.first_line + self.stop()
        self.url = self.first_line.split()[1]

    def stop(self) -> str:
        """Ctrl-C; returns what it logged (it must exit cleanly)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        return self.first_line + self.process.stderr.read()


@contextmanager
def opened(dashboard: Dashboard, tmp_path: Path) -> Iterator[Any]:
    """The dashboard's page in a fresh headless Chromium, once its first data is in."""
    with chromium(tmp_path / "profile") as browser:
        page = browser.new_page()
        page.goto(dashboard.url)
        page.wait_for_function("document.body.dataset.version > 0")
        yield page


def reader_dsn(dsn: str) -> str:
    """The read-only role on the same server and database (trusted on the socket)."""
    admin = connect(dsn)
    ensure_reader_role(admin)
    admin.close()
    parts = psycopg2.extensions.parse_dsn(dsn)
    parts["user"] = READER_ROLE
    return psycopg2.extensions.make_dsn(**parts)


@pytest.fixture(scope="module")
def demo(postgres_server) -> str:
    """A warehouse holding what scripts/demo.sh loads: the committed sample lake."""
    dsn = postgres_server.new_database(migrated=True)
    lake = LocalStore(REPO / "data" / "sample-lake")
    WarehouseLoader(dsn).load([item for item in LakeSource(lake) if item is not None])
    return dsn


def fresh_video(dsn: str, item_id: str, views: int) -> dict:
    """A video of the demo's first YouTube channel, published half an hour before the
    newest observation and seen a minute after it: far above that channel's benchmark."""
    connection = connect(dsn)
    with connection.cursor() as cursor:
        cursor.execute("SELECT publisher_id FROM items WHERE platform = 'youtube' LIMIT 1")
        (channel,) = cursor.fetchone()
    newest = latest_observation(connection)
    connection.close()
    z = "%Y-%m-%dT%H:%M:%SZ"
    return {"video": {"kind": "youtube#video", "id": item_id,
                      "snippet": {"publishedAt": (newest - timedelta(minutes=30)).strftime(z),
                                  "channelId": channel, "title": f"Fresh upload {item_id}"},
                      "statistics": {"viewCount": str(views), "likeCount": "10"}},
            "_observed_at": (newest + timedelta(minutes=1)).strftime(z)}  # fmt: skip


def live_ids(page) -> list[str]:
    return page.eval_on_selector_all(
        "#live tr[data-item-id]", "rows => rows.map(r => r.dataset.itemId)"
    )


@pytest.mark.slow
def test_the_page_shows_the_demo_and_updates_itself_within_2_s_of_a_commit(
    demo, sample_lake, tmp_path
):
    state = tmp_path / "state"
    dashboard = Dashboard("--dsn", reader_dsn(demo), "--state-dir", str(state))
    try:
        with opened(dashboard, tmp_path) as page:
            page.wait_for_selector("#live tr[data-item-id]")
            connection = connect(demo)
            now = latest_observation(connection)
            expected = live_report(load_series(connection, until=now), now)
            connection.close()
            assert live_ids(page)[:5] == [row["item_id"] for row in expected[:5]]
            body = page.inner_text("body")
            assert "As of 2026-11-22 23:54:25 UTC" in body and "Neon Arcade" in body
            assert "No trend detected yet." in body  # migrated: the table is there, empty
            assert "Publishers" in body and "Pipeline health" in body
            page.screenshot(path=tmp_path / "1-loaded.png", full_page=True)

            version = int(page.evaluate("document.body.dataset.version"))
            WarehouseLoader(demo).load([fresh_video(demo, "freshUpload1", 900_000_000)])
            committed = time.monotonic()
            page.wait_for_selector('#live tr[data-item-id="freshUpload1"]', timeout=10_000)
            pushed_after = time.monotonic() - committed
            print(f"pushed {pushed_after:.2f} s after the commit")
            assert pushed_after <= 2.0, f"shown {pushed_after:.2f} s after the commit"
            assert int(page.evaluate("document.body.dataset.version")) > version  # no reload
            assert live_ids(page)[0] == "freshUpload1"  # the top score now
            assert "warehouse" in page.inner_text("#health")  # the loader, heard committing
            page.screenshot(path=tmp_path / "2-updated.png", full_page=True)

            replay = _replay(tmp_path, sample_lake, state, demo)
            try:
                wait_for(lambda: "running" in page.inner_text("#health")
                         and "replay" in page.inner_text("#health"),
                         "the running replay in pipeline health", timeout=60)  # fmt: skip
                page.locator("#health").screenshot(path=tmp_path / "3-health.png")
            finally:
                replay.send_signal(signal.SIGINT)
                replay.wait(timeout=60)
            health = page.inner_text("#health")
            assert "lake" in health and "warehouse" in health
        for secret in ("password", "passfile"):
            assert secret not in body
    finally:
        log = dashboard.stop()
    assert dashboard.process.returncode == 0 and "Traceback" not in log


def _replay(tmp_path: Path, lake: Path, state: Path, dsn: str) -> subprocess.Popen:
    """A paced replay into the warehouse, keeping its status where the dashboard looks."""
    config = tmp_path / "replay.json"
    config.write_text(json.dumps({
        "name": "replay", "state_dir": str(state), "checkpoint_interval_s": 0.5,
        "sources": [{"type": "lake", "name": "lake", "uri": str(lake), "pace": 20000}],
        "sinks": [{"type": "postgres", "name": "warehouse", "dsn": "${TEST_DSN}",
                   "batch_items": 50, "batch_age_s": 0.2}],
    }))  # fmt: skip
    return subprocess.Popen(
        [*CLI, "ingest", "--config", str(config), "--quiet"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env={**os.environ, "TEST_DSN": dsn},
    )  # fmt: skip


@pytest.mark.slow
def test_the_trends_view_shows_the_stage_when_it_is_set_up(postgres_server, tmp_path):
    dsn = postgres_server.new_database(migrated=True)
    detected = datetime(2026, 11, 22, 10, tzinfo=UTC).timestamp()
    events = WarehouseEvents(dsn)  # what the trends stage writes
    events.send([TrendEvent("stormchase", "hashtag", "all", detected - 900, detected,
                            detected, None, 120, 8.5, 14.1, 9, (), "signitrend")])  # fmt: skip
    events.close()
    dashboard = Dashboard("--dsn", reader_dsn(dsn), "--state-dir", str(tmp_path))
    try:
        with opened(dashboard, tmp_path) as page:
            trends = page.inner_text("#trends")
            page.locator("#trends").screenshot(path=tmp_path / "trends.png")
    finally:
        dashboard.stop()
    assert "stormchase" in trends and "rising" in trends and "14.1" in trends
    assert "not set up" not in trends


def test_the_trends_view_says_when_the_stage_is_not_set_up(postgres_server):
    connection = connect(postgres_server.new_database(migrated=True))
    with connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE trends CASCADE")  # a warehouse without the stage's table
    view = trends_view(connection)
    connection.close()
    assert view["tables"] == [] and "not set up" in view["notes"][0]


@pytest.mark.slow
def test_another_address_than_loopback_needs_a_token():
    result = subprocess.run([*CLI, "dashboard", "--host", "0.0.0.0"], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 1 and "needs an access token" in result.stderr
    assert "SHOOT2TOP_DASHBOARD_TOKEN" in result.stderr


@pytest.mark.slow
def test_with_a_token_every_request_needs_it(demo, tmp_path):
    token = "t0ken-" + "x" * 30
    dashboard = Dashboard("--host", "0.0.0.0", "--dsn", reader_dsn(demo), "--state-dir",
                          str(tmp_path), env={"SHOOT2TOP_DASHBOARD_TOKEN": token})  # fmt: skip
    base = dashboard.url.replace("0.0.0.0", "127.0.0.1")
    try:
        for path in ("/", "/api/snapshot", "/events", "/static/dashboard.js"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base.rstrip("/") + path, timeout=10)
            assert refused.value.code == 401
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        page = opener.open(f"{base}?token={token}", timeout=10)  # sets the cookie, redirects
        assert page.geturl().rstrip("/") == base.rstrip("/") and "Shoot2Top" in page.read().decode()
        data = opener.open(base + "api/snapshot", timeout=10).read().decode()
        assert "Neon Arcade" in data and token not in data
        bearer = urllib.request.Request(base + "api/snapshot",
                                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert urllib.request.urlopen(bearer, timeout=10).status == 200
    finally:
        log = dashboard.stop()
    assert token not in log


@pytest.mark.slow
def test_the_embedded_warehouse_is_read_through_the_read_only_role(tmp_path):
    """No DSN, started from a checkout after the demo: the dashboard finds the demo's
    embedded warehouse (.shoot2top/demo), connects to it as shoot2top_reader (its LISTEN
    connection is seen on the server as that role), and shows that state directory's
    pipelines."""
    server = PostgresServer.private(tmp_path / "state")
    admin = connect(server.dsn)
    migrate(admin)
    admin.close()
    (server.state_dir / "replay-sample").mkdir()
    (server.state_dir / "replay-sample" / "status.json").write_text(json.dumps({
        "pipeline": "replay-sample", "running": False, "stopped_by": "end of input",
        "sources": {"sample": {"items": 3000, "bytes_read": 10, "bytes_total": 10}},
        "sinks": {"warehouse": {"stored": 3000}}, "dead_letters": 0,
    }))  # fmt: skip
    checkout = tmp_path / "checkout"
    (checkout / ".shoot2top").mkdir(parents=True)
    (checkout / ".shoot2top" / "demo").symlink_to(server.state_dir)
    dashboard = Dashboard(cwd=checkout)
    try:

        def listening_roles():
            connection = connect(server.dsn)
            with connection.cursor() as cursor:
                cursor.execute("SELECT usename FROM pg_stat_activity WHERE query LIKE 'LISTEN%'")
                roles = {row[0] for row in cursor.fetchall()}
            connection.close()
            return roles

        assert wait_for(listening_roles, "the dashboard's LISTEN") == {READER_ROLE}
        body = json.loads(urllib.request.urlopen(dashboard.url + "api/snapshot", timeout=10).read())
        assert body["warehouse"].startswith("embedded warehouse in")
        (pipelines, _) = body["views"]["health"]["tables"]
        assert {row["pipeline"] for row in pipelines["rows"]} == {"replay-sample"}
    finally:
        dashboard.stop()
        server.stop()


@pytest.mark.slow
def test_a_nimbus_that_is_not_host_and_port_is_refused_before_anything_starts():
    result = subprocess.run([*CLI, "dashboard", "--nimbus", "nimbus-without-port"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (
        result.returncode == 1
        and "--nimbus 'nimbus-without-port' is not HOST:PORT" in result.stderr
    )
