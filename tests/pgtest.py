"""A real PostgreSQL for the tests: the embedded one (pgserver), or any given by DSN.

Set ``SHOOT2TOP_TEST_DSN`` to run the suite against another server (its role must be
allowed to create databases). Each test gets a database of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from shoot2top.warehouse.database import connect, embedded_dsn
from shoot2top.warehouse.schema import migrate


def with_database(dsn: str, database: str) -> str:
    """The same server, another database (URI or key=value DSNs)."""
    parsed = psycopg2.extensions.parse_dsn(dsn)
    parsed["dbname"] = database
    return psycopg2.extensions.make_dsn(**parsed)


@dataclass
class PostgresServer:
    dsn: str
    state_dir: Path | None  # set for an embedded server this process may kill/restart

    @classmethod
    def start(cls, state_dir: Path) -> PostgresServer:
        """The server for the session: `SHOOT2TOP_TEST_DSN`, else an embedded one."""
        given = os.environ.get("SHOOT2TOP_TEST_DSN")
        if given:
            return cls(given, None)
        return cls(embedded_dsn(state_dir), state_dir)

    @classmethod
    def private(cls, state_dir: Path) -> PostgresServer:
        """An embedded server of its own, started out of process so it can be restarted."""
        return cls(start_in_subprocess(state_dir), state_dir)

    def new_database(self, migrated: bool = False) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        connection = connect(self.dsn)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        connection.close()
        dsn = with_database(self.dsn, name)
        if migrated:
            connection = connect(dsn)
            migrate(connection)
            connection.close()
        return dsn

    @property
    def postmaster_pid(self) -> int:
        assert self.state_dir is not None, "only an embedded server can be killed"
        return int((self.state_dir / "postgres" / "postmaster.pid").read_text().split()[0])

    def kill(self) -> None:
        """SIGKILL the postmaster: a crash, not a shutdown."""
        pid = self.postmaster_pid
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)

    def restart(self) -> None:
        """Start it again, as a user would (pgserver caches servers per process)."""
        assert self.state_dir is not None
        self.dsn = start_in_subprocess(self.state_dir)

    def stop(self) -> None:
        if self.state_dir is not None:
            from shoot2top.warehouse.database import stop_embedded

            stop_embedded(self.state_dir)


CLI = [sys.executable, "-m", "shoot2top.cli"]


def start_in_subprocess(state_dir: Path) -> str:
    result = subprocess.run(
        [*CLI, "warehouse", "start", "--state-dir", str(state_dir)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


def checksums(dsn: str) -> dict[str, str]:
    """An order-independent fingerprint of every warehouse table's contents."""
    tables = (
        "publishers", "items", "item_hashtags", "item_mentions", "item_urls",
        "item_keywords", "metric_snapshots", "dead_letters",
    )  # fmt: skip
    connection = connect(dsn)
    out = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                f"FROM {table} t"
            )
            count, digest = cursor.fetchone()
            out[table] = f"{count}:{digest}"
    connection.close()
    return out
