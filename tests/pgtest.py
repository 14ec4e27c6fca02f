"""A real PostgreSQL for the tests: the embedded one (pgserver) in the test's temp dir.

Nothing from the machine is used (no DSN from the environment): every run starts its own
server, which the outage tests may kill and restart. Each test gets a database of its own,
a copy of one migrated template on the session's server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from shoot2top.warehouse.database import connect, embedded_dsn
from shoot2top.warehouse.schema import migrate


def with_database(dsn: str, database: str) -> str:
    """The same server, another database (URI or key=value DSNs)."""
    parsed = psycopg2.extensions.parse_dsn(dsn)
    parsed["dbname"] = database
    return psycopg2.extensions.make_dsn(**parsed)


# The session server's data is thrown away and it is never killed (outage drills get a
# private server): it need not flush to disk, which every commit and every new database
# otherwise waits for, nor keep more than two WAL segments (a new database is a copy of
# the template through the WAL: ~8 MB each).
THROWAWAY_SETTINGS = {
    "fsync": "off", "full_page_writes": "off", "synchronous_commit": "off",
    "min_wal_size": "'32MB'", "max_wal_size": "'32MB'",
}  # fmt: skip


@dataclass
class PostgresServer:
    dsn: str
    state_dir: Path  # the embedded server's state dir: this process may kill/restart it
    template: str | None = None  # a migrated database that new ones are copied from
    created: list[str] = field(default_factory=list)  # databases made by new_database

    @classmethod
    def start(cls, state_dir: Path) -> PostgresServer:
        """The embedded server for the session, unflushed, with a migrated template."""
        server = cls(embedded_dsn(state_dir), state_dir)
        server._run(
            *(f"ALTER SYSTEM SET {name} = {value}" for name, value in THROWAWAY_SETTINGS.items()),
            "SELECT pg_reload_conf()",
        )
        server.new_database(migrated=True)
        server.template = server.created.pop()  # a test's end never drops it
        server._run(
            f"ALTER DATABASE {server.template} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"
        )
        return server

    @classmethod
    def private(cls, state_dir: Path) -> PostgresServer:
        """An embedded server of its own, started out of process so it can be restarted."""
        return cls(start_in_subprocess(state_dir), state_dir)

    def new_database(self, migrated: bool = False) -> str:
        """A new empty database, or with `migrated` one at the current schema (a copy of
        the template: the same as migrating it, in half the time)."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        copy = migrated and self.template is not None
        self._run(f"CREATE DATABASE {name}" + (f" TEMPLATE {self.template}" if copy else ""))
        self.created.append(name)
        dsn = with_database(self.dsn, name)
        if migrated and not copy:
            connection = connect(dsn)
            migrate(connection)
            connection.close()
        return dsn

    def drop_databases_since(self, count: int) -> None:
        """Drop the databases made after the first `count` (those of a test that ended),
        so that the session's data stays small: written and deleted before the kernel
        writes it back, a test's database never reaches the disk."""
        names, self.created = self.created[count:], self.created[:count]
        drops = [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in names]
        if drops:
            self._run(*drops)

    def _run(self, *statements: str) -> None:
        """Run statements outside a transaction in the server's maintenance database."""
        connection = connect(self.dsn)
        connection.autocommit = True
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        connection.close()

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
        need not spend seconds on a shutdown checkpoint. Returns once the postmaster has
        exited (and removed its postmaster.pid), without waiting for whoever adopted it
        to reap it: that took 1.6 s here."""
        try:
            pid = self.postmaster_pid
        except (OSError, ValueError, IndexError):
            return  # not running
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)


CLI = [sys.executable, "-m", "shoot2top.cli"]


def start_in_subprocess(state_dir: Path) -> str:
    result = subprocess.run(
        [*CLI, "warehouse", "start", "--state-dir", str(state_dir)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def _alive(pid: int) -> bool:
    """Whether the process runs: it exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


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
