"""The embedded warehouse on TCP: loopback only, passwords kept 0600 and never shown, a
read-only role; against a real embedded PostgreSQL of the test's own."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from pgtest import PostgresServer
from shoot2top.warehouse.access import PasswordFile

CLI = [sys.executable, "-m", "shoot2top.cli"]


def start_tcp(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "warehouse", "start", "--tcp", "--state-dir", str(state_dir), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def server(tmp_path):
    server = PostgresServer.private(tmp_path / "state")
    yield server
    server.stop()


@pytest.mark.slow
def test_tcp_with_generated_passwords_and_a_read_only_role(server, tmp_path):
    state = server.state_dir
    result = start_tcp(state)
    assert result.returncode == 0, result.stderr
    admin, reader = result.stdout.split()
    password_file = state / "pgpass"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    port, passwords = PasswordFile(password_file).read()
    assert set(passwords) == {"postgres", "shoot2top_reader"}
    for word in passwords.values():  # never printed
        assert word not in result.stdout + result.stderr
    assert f"@127.0.0.1:{port}/" in admin and "passfile=" in admin

    connection = psycopg2.connect(admin)
    with connection, connection.cursor() as cursor:
        cursor.execute("SHOW listen_addresses")
        assert cursor.fetchone() == ("127.0.0.1",)  # loopback, nothing else
        cursor.execute("CREATE TABLE figures (n int); INSERT INTO figures VALUES (7)")
    connection.close()

    connection = psycopg2.connect(reader)
    with connection.cursor() as cursor:
        cursor.execute("SELECT n FROM figures")
        assert cursor.fetchall() == [(7,)]
    connection.rollback()
    with connection.cursor() as cursor, pytest.raises(psycopg2.Error, match="read-only"):
        cursor.execute("INSERT INTO figures VALUES (8)")
    connection.rollback()
    with connection.cursor() as cursor, pytest.raises(psycopg2.Error, match="permission denied"):
        cursor.execute("SET TRANSACTION READ WRITE; INSERT INTO figures VALUES (8)")
    connection.close()

    tcp = f"host=127.0.0.1 port={port} dbname=postgres user=postgres"
    with pytest.raises(psycopg2.OperationalError, match="no password supplied"):
        psycopg2.connect(tcp, passfile="/nonexistent")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(tcp, password="guess")

    again = start_tcp(state)  # idempotent: same port, same passwords, no restart needed
    assert again.returncode == 0 and again.stdout.split() == [admin, reader]
    assert PasswordFile(password_file).read() == (port, passwords)
    socket_only = subprocess.run([*CLI, "warehouse", "start", "--state-dir", str(state)],
                                 capture_output=True, text=True, timeout=60)  # fmt: skip
    assert f"port={port}" in socket_only.stdout  # the socket DSN follows the port


def test_the_password_file_is_private_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        PasswordFile(tmp_path / "pgpass").write(5432, {"postgres": "s3cret"})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "pgpass").stat().st_mode) == 0o600
    assert PasswordFile(tmp_path / "pgpass").read() == (5432, {"postgres": "s3cret"})


@pytest.mark.slow
def test_port_without_tcp_is_refused(tmp_path):
    result = subprocess.run([*CLI, "warehouse", "start", "--port", "5433", "--state-dir",
                             str(tmp_path)], capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 1 and "--port is for --tcp" in result.stderr
    assert not (tmp_path / "postgres").exists()
