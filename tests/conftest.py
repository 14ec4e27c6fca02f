"""Shared fixtures: a real S3-compatible server (SeaweedFS) and small item factories.

The suite takes nothing from the shell it runs in: settings a developer may have
exported (a DSN, a state dir, AWS credentials or endpoint, a Storm config) are removed
before any test runs, so a run here behaves as it does on a fresh machine.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgtest import PostgresServer
from s3server import S3Server, start_s3_server

_MACHINE_SETTINGS = ("SHOOT2TOP_", "AWS_", "BOTO_", "PG", "STORM_CONF_DIR", "STORM_LOCAL_")
for _name in [name for name in os.environ if name.startswith(_MACHINE_SETTINGS)]:
    del os.environ[_name]


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""What the test S3 servers accept, as the standard AWS environment gives it."""


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One SeaweedFS for the session; credentials via the standard AWS environment."""
    os.environ.update(S3_CREDENTIALS)
    server = start_s3_server(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop(discard=True)


@pytest.fixture
def s3_uri(s3_server: S3Server) -> str:
    """A fresh bucket for one test, as an s3:// lake URI with a prefix."""
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    return f"s3://{bucket}/social"


@pytest.fixture
def s3_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """`S3_CREDENTIALS` in the environment for a test that starts its own server (and
    for the processes it starts), whether or not the session's server ran before it."""
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def private_s3(tmp_path: Path) -> Iterator[S3Server]:
    """A SeaweedFS of this test's own, with a bucket "lake": one it may kill, stop and
    restart (outage drills)."""
    server = start_s3_server(tmp_path / "weed")
    server.client().create_bucket(Bucket="lake")
    yield server
    server.stop()


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample lake (900 items, three writers, three daily partitions)."""
    from shoot2top.lake.store import LocalStore
    from shoot2top.sample.lake import write_sample_lake

    root = tmp_path_factory.mktemp("sample") / "lake"
    write_sample_lake(LocalStore(root), items=900)
    return root


_SESSION_POSTGRES: list[PostgresServer] = []  # the session's server, once started


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A real PostgreSQL for the session (embedded, in the session's temp dir)."""
    server = PostgresServer.start(tmp_path_factory.mktemp("pg"))
    _SESSION_POSTGRES.append(server)
    yield server
    _SESSION_POSTGRES.clear()
    server.stop()


@pytest.fixture(autouse=True)
def _drop_the_tests_databases() -> Iterator[None]:
    """Once a test and its own fixtures are done, drop the databases it made on the
    session's server (those of module-wide fixtures, made before, stay)."""
    before = len(_SESSION_POSTGRES[0].created) if _SESSION_POSTGRES else 0
    yield
    if _SESSION_POSTGRES:
        _SESSION_POSTGRES[0].drop_databases_since(before)


@pytest.fixture
def pg_dsn(postgres_server: PostgresServer) -> str:
    """A fresh database with the current schema, for one test."""
    return postgres_server.new_database(migrated=True)
