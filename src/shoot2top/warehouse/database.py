"""Reaching the warehouse: a DSN given by flag or ``SHOOT2TOP_DSN``, or embedded PostgreSQL.

With no DSN, the project starts a private PostgreSQL (real binaries from the `pgserver`
package) in ``<state_dir>/postgres``, listening on a Unix socket only, and prints its
DSN. Any other server — or Redshift later — is chosen by giving its DSN.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import warnings
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions

log = logging.getLogger(__name__)

DSN_VARIABLE = "SHOOT2TOP_DSN"


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or used; the message says which and why."""


class WarehouseUnavailable(WarehouseError):
    """The server did not accept a connection (down, restarting): worth retrying."""


def embedded_dsn(state_dir: str | Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in the state directory; its DSN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    data_dir = Path(state_dir).resolve() / "postgres"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl call
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on servers
            server = pgserver.get_server(data_dir, cleanup_mode=None)
    except Exception as error:  # pgserver raises plain exceptions with the server log
        raise WarehouseError(f"embedded PostgreSQL in {data_dir} did not start: {error}") from error
    dsn = server.get_uri()
    log.debug("embedded PostgreSQL: %s", dsn)
    return dsn


def stop_embedded(state_dir: str | Path, timeout_s: float = 30.0) -> str:
    """Stop the embedded PostgreSQL of a state directory (fast shutdown); says what it did."""
    data_dir = Path(state_dir).resolve() / "postgres"
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown: roll back, then exit
    except (OSError, ValueError, IndexError):
        return f"no embedded PostgreSQL running in {data_dir}"
    deadline = time.monotonic() + timeout_s
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return f"stopped the embedded PostgreSQL in {data_dir}"


def resolve_dsn(dsn: str | None, state_dir: str | Path) -> str:
    """The DSN to use: the one given, else ``$SHOOT2TOP_DSN``, else the embedded server."""
    return dsn or os.environ.get(DSN_VARIABLE) or embedded_dsn(state_dir)


def connect(dsn: str) -> Any:
    """A connection with autocommit off; `WarehouseError` without echoing the DSN."""
    try:
        connection = psycopg2.connect(dsn, application_name="shoot2top", connect_timeout=10)
    except psycopg2.OperationalError as error:
        raise WarehouseUnavailable(
            f"cannot connect to the warehouse: {_first_line(error)}"
        ) from None
    except psycopg2.Error:  # a malformed DSN: its message may quote the password
        raise WarehouseError(
            "the warehouse DSN is malformed (not shown: it may hold a password)"
        ) from None
    return connection


def redact_dsn(dsn: str) -> str:
    """A DSN fit for a log line: any password replaced by ***."""
    parsed = psycopg2.extensions.parse_dsn(dsn)
    if "password" in parsed:
        parsed["password"] = "***"
    return " ".join(f"{key}={value}" for key, value in parsed.items())


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
