"""Reaching the warehouse: permanent DSN errors fail at once and never print the password;
a server that answered before and then goes away is waited for, under the one retry
policy, with log lines that say who retries what."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

import pytest
from psycopg2.extensions import make_dsn

from factories import stream
from pgtest import PostgresServer, with_database
from shoot2top.warehouse.database import (
    WarehouseError,
    WarehouseUnavailable,
    connect,
    stop_embedded,
)
from shoot2top.warehouse.loader import WarehouseLoader


@pytest.mark.parametrize(
    ("dsn", "secret_pieces"),
    [
        ("postgresql://u:p@ss@127.0.0.1:5432/db", ["p@ss", "ss@"]),
        ("postgresql://u:pa/ss@127.0.0.1:5432/db", ["pa/ss", '"pa"']),
        ("postgresql://u:s3cr%2Fe%40t@127.0.0.1:9/db", ["s3cr", "e@t", "s3cr/e"]),
        ("host=127.0.0.1 port=9 password=zz/y@x9", ["zz/y@x9"]),
        ("host=127.0.0.1 port=hunter2 password=hunter2", ["hunter2"]),
    ],
)
def test_no_dsn_error_prints_the_password(dsn, secret_pieces):
    started = time.monotonic()
    with pytest.raises(WarehouseError) as raised:
        connect(dsn)
    message = str(raised.value)
    assert not any(piece in message for piece in secret_pieces), message
    assert not isinstance(raised.value, WarehouseUnavailable)  # permanent: fail fast
    assert time.monotonic() - started < 10


def test_a_password_with_unescaped_characters_gets_advice():
    with pytest.raises(WarehouseError, match="percent-encode them"):
        connect("postgresql://u:p@ss@127.0.0.1:5432/db")


def test_a_missing_database_fails_at_once_without_retries(postgres_server, caplog):
    dsn = with_database(postgres_server.dsn, "no_such_database")
    loader = WarehouseLoader(dsn, max_retry_s=30)
    started = time.monotonic()
    with pytest.raises(WarehouseError, match='database "no_such_database" does not exist'):
        loader.load(stream(1))
    assert time.monotonic() - started < 5
    assert "retrying" not in caplog.text


@pytest.mark.slow
def test_a_server_that_answered_then_stays_down_is_retried_then_given_up(tmp_path, caplog):
    private = PostgresServer.private(tmp_path / "pg")
    try:
        dsn = private.new_database(migrated=True)
        loader = WarehouseLoader(dsn, component="warehouse", max_retry_s=2)
        assert loader.load(stream(3)).loaded == 3
        private.stop()
        caplog.set_level(logging.WARNING)
        started = time.monotonic()
        with pytest.raises(WarehouseError, match=r"warehouse: gave up after \d+ s of retries"):
            loader.load(stream(6)[3:])
        assert 1.5 < time.monotonic() - started < 20
        retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
        assert retries and all(line.startswith("sink 'warehouse': commit of 3 items failed")
                               for line in retries)  # fmt: skip
        assert "<unknown>" not in caplog.text
    finally:
        private.stop()


@pytest.mark.slow
def test_an_unattended_worker_that_starts_during_an_outage_waits_it_out(tmp_path, monkeypatch):
    """A Storm worker (re)started while PostgreSQL is down must not fail fast as a command
    typed by hand does: its tuples would fail until they were dead-lettered."""
    from shoot2top.runtime import retry

    private = PostgresServer.private(tmp_path / "pg")
    try:
        # the same database by a DSN this process has never connected with
        dsn = make_dsn(private.new_database(migrated=True), connect_timeout=9)
        private.stop()
        with pytest.raises(WarehouseError, match="check the host and port"):
            connect(dsn)  # by hand: at once, with a hint
        monkeypatch.setattr(retry, "_long_running", False)
        retry.expect_outages_from_the_start()  # what the Storm adapters declare
        with pytest.raises(WarehouseUnavailable):
            connect(dsn)
        loader = WarehouseLoader(dsn, max_retry_s=120)
        restarter = threading.Timer(3, private.restart)
        restarter.start()
        try:
            assert loader.load(stream(3)).loaded == 3  # waited until the server was back
        finally:
            restarter.join()
    finally:
        private.stop()


def test_stop_embedded_says_when_the_server_did_not_stop(tmp_path):
    # A process that ignores SIGINT stands in for a server that will not shut down.
    stubborn = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, "
         "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert stubborn.stdout.readline() == b"ready\n"
        data_dir = tmp_path / "postgres"
        data_dir.mkdir()
        (data_dir / "postmaster.pid").write_text(f"{stubborn.pid}\n{data_dir}\n")
        message = stop_embedded(tmp_path, timeout_s=0.3)
        assert "still running after 0.3 s" in message and str(stubborn.pid) in message
        assert not message.startswith("stopped")
        (data_dir / "postmaster.pid").unlink()
        assert stop_embedded(tmp_path).startswith("no embedded PostgreSQL running")
    finally:
        stubborn.kill()
        stubborn.wait()
