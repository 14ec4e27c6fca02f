import pytest

from pgtest import checksums
from shoot2top.warehouse import schema
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.schema import (
    SchemaError,
    applied,
    latest_version,
    migrate,
    require_current,
)


def test_init_is_idempotent(postgres_server):
    dsn = postgres_server.new_database()
    connection = connect(dsn)
    with pytest.raises(SchemaError, match="run `shoot2top warehouse init`"):
        require_current(connection)
    assert [m.version for m in migrate(connection)] == [m.version for m in schema.migrations()]
    assert migrate(connection) == []
    assert max(applied(connection)) == latest_version()
    require_current(connection)


def test_an_edited_migration_is_refused(pg_dsn, monkeypatch):
    original = schema.migrations()
    edited = [schema.Migration(m.version, m.name, m.sql + "\n-- edited") for m in original]
    monkeypatch.setattr(schema, "migrations", lambda: edited)
    with pytest.raises(SchemaError, match=r"0001_initial\.sql was changed after it was applied"):
        migrate(connect(pg_dsn))


def test_a_pending_migration_is_reported_and_applied(pg_dsn, monkeypatch):
    extra = schema.Migration(latest_version() + 1, "extra", "CREATE TABLE extra (x int)")
    monkeypatch.setattr(schema, "migrations", lambda: [*schema._packaged_migrations(), extra])
    connection = connect(pg_dsn)
    with pytest.raises(SchemaError, match=r"run `shoot2top warehouse migrate`"):
        require_current(connection)
    assert [m.name for m in migrate(connection)] == ["extra"]


def test_a_gap_in_the_numbers_is_fine_and_a_lower_number_merged_later_is_pending(
    pg_dsn, monkeypatch
):
    """Migration numbers may have gaps (0006 written while 0005 was on another branch);
    when the lower-numbered one arrives, a warehouse past it is behind until migrated."""
    top = latest_version()
    gapped = schema.Migration(top + 2, "gapped", "CREATE TABLE gapped_probe (x int)")
    late = schema.Migration(top + 1, "late", "CREATE TABLE late_probe (x int)")
    packaged = schema._packaged_migrations()
    monkeypatch.setattr(schema, "migrations", lambda: [*packaged, gapped])
    connection = connect(pg_dsn)
    assert [m.name for m in migrate(connection)] == ["gapped"]
    require_current(connection)  # the gap itself is fine
    monkeypatch.setattr(schema, "migrations", lambda: [*packaged, late, gapped])
    with pytest.raises(SchemaError, match=rf"without {top + 1:04d}_late.*warehouse migrate"):
        require_current(connection)
    assert [m.name for m in migrate(connection)] == ["late"]
    require_current(connection)


def test_the_tests_migrated_databases_are_what_migrating_makes(postgres_server):
    """`new_database(migrated=True)` copies a template migrated once per session: the
    copy must hold what migrating a new database gives, catalog and rows alike."""
    copied = postgres_server.new_database(migrated=True)
    migrated = postgres_server.new_database()
    connection = connect(migrated)
    migrate(connection)
    connection.close()
    assert _catalog(copied) == _catalog(migrated)
    assert checksums(copied) == checksums(migrated)


def _catalog(dsn: str) -> dict[str, list[tuple]]:
    """Every column, index, view, function and migration record outside the system schemas."""
    queries = {
        "columns": "SELECT table_schema, table_name, column_name, data_type, column_default,"
        " is_nullable FROM information_schema.columns",
        "indexes": "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes",
        "views": "SELECT schemaname, viewname, definition FROM pg_views",
        "functions": "SELECT n.nspname, p.proname, pg_get_functiondef(p.oid) FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prokind IN ('f', 'p')",
        "migrations": f"SELECT version, name, checksum FROM {schema.MIGRATIONS_TABLE}",
    }
    system = ("pg_catalog", "information_schema")
    connection = connect(dsn)
    catalog = {}
    with connection.cursor() as cursor:
        for kind, sql in queries.items():
            cursor.execute(sql)
            catalog[kind] = sorted(row for row in cursor.fetchall() if row[0] not in system)
    connection.close()
    return catalog
