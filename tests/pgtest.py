"""A real PostgreSQL for the tests: the embedded one (pgserver) in the test's temp dir.

Nothing from the machine is used (no DSN from the environment): every run starts its own
server, which the outage tests may kill and restart. Each test gets a database of its own.
"""

from __future__ import annotations

import contextlib
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
    state_dir: Path  # the embedded server's state dir: this process may kill/restart it

    @classmethod
    def start(cls, state_dir: Path) -> PostgresServer:
        """The embedded server for the session."""
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
        return int((self.state_dir / "postgres" / "postmaster.pid").read_text().split()[0])

    def kill(self) -> None:
        """SIGKILL the postmaster: a crash, not a shutdown. Returns once it is reaped and
        its backends have exited too, so that a restart finds the data directory free
        (pgserver takes a postmaster.pid whose process exists, even a zombie, as running)."""
        pid = self.postmaster_pid
        processes = [pid, *_children(pid)]
        os.kill(pid, signal.SIGKILL)
        while any(Path(f"/proc/{process}").exists() for process in processes):
            time.sleep(0.05)

    def restart(self) -> None:
        """Start it again, as a user would (pgserver caches servers per process)."""
        self.dsn = start_in_subprocess(self.state_dir)

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT): a test server's data is thrown away, so it
        need not spend seconds on a shutdown checkpoint."""
        try:
            pid = self.postmaster_pid
        except (OSError, ValueError, IndexError):
            return  # not running
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


CLI = [sys.executable, "-m", "shoot2top.cli"]


def start_in_subprocess(state_dir: Path) -> str:
    result = subprocess.run(
        [*CLI, "warehouse", "start", "--state-dir", str(state_dir)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a postmaster's backends and workers)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


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
