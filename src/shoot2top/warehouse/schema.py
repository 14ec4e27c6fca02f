"""Versioned, idempotent schema migrations (`shoot2top warehouse init|migrate`).

Migrations are the package's ``migrations/NNNN_name.sql`` files, applied in order, each
in its own transaction under an advisory lock (so concurrent starters do not race), and
recorded with a checksum: an edited migration that was already applied is an error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from shoot2top.warehouse.database import WarehouseError

MIGRATIONS_TABLE = "shoot2top_migrations"
_LOCK_KEY = 0x5_2_7_0_D_B  # any constant shared by every migrator


class SchemaError(WarehouseError):
    """The warehouse schema is not what this code expects; the message says what to do."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations() -> list[Migration]:
    """The package's migrations, in version order."""
    return _packaged_migrations()


def _packaged_migrations() -> list[Migration]:
    found = []
    for entry in files("shoot2top.warehouse").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append(Migration(int(number), name, entry.read_text("utf-8")))
    return sorted(found, key=lambda migration: migration.version)


def latest_version() -> int:
    return migrations()[-1].version


def applied(connection: Any) -> dict[int, str]:
    """Applied versions and their checksums (empty for a new database)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,))
        if cursor.fetchone()[0] is None:
            connection.rollback()
            return {}
        cursor.execute(f"SELECT version, checksum FROM {MIGRATIONS_TABLE}")
        rows = dict(cursor.fetchall())
    connection.rollback()
    return rows


def migrate(connection: Any) -> list[Migration]:
    """Apply every pending migration; returns those applied now (none if up to date)."""
    done = []
    for migration in migrations():
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
                " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cursor.execute(
                f"SELECT checksum FROM {MIGRATIONS_TABLE} WHERE version = %s",
                (migration.version,),
            )
            row = cursor.fetchone()
            if row is not None:
                if row[0] != migration.checksum:
                    raise SchemaError(
                        f"migration {migration.version:04d}_{migration.name}.sql was changed "
                        "after it was applied; add a new migration instead"
                    )
                continue
            cursor.execute(migration.sql)
            cursor.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            done.append(migration)
    return done


def require_current(connection: Any) -> None:
    """Fail clearly when the schema is missing or behind this code.

    Every packaged migration must be applied, not just the newest number: versions may
    have gaps (a number kept for a migration written on another branch), and one merged
    later with a lower number than those applied is still pending.
    """
    versions = applied(connection)
    if not versions:
        raise SchemaError("the warehouse has no schema: run `shoot2top warehouse init`")
    pending = [m for m in migrations() if m.version not in versions]
    if pending:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        raise SchemaError(
            f"the warehouse schema is at version {max(versions)} without {names}, which "
            "this code needs: run `shoot2top warehouse migrate`"
        )
