"""Starting the dashboard: which warehouse (through the read-only role), where to listen
(127.0.0.1 unless an access token is set), and the server itself (uvicorn)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2.extensions

from shoot2top.warehouse.access import READER_ROLE, ensure_reader_role
from shoot2top.warehouse.database import connect, embedded_dsn, existing_dsn

log = logging.getLogger(__name__)

TOKEN_VARIABLE = "SHOOT2TOP_DASHBOARD_TOKEN"


class DashboardError(RuntimeError):
    """The dashboard cannot start as asked; the message says what to do."""


@dataclass(frozen=True)
class Reader:
    """How the dashboard reads the warehouse, and how the page names it (no secret)."""

    dsn: str
    label: str
    state_dir: Path  # where its pipelines keep their status (the warehouse's, if embedded)


def reader(dsn: str | None, state_dir: Path, *, guess: bool) -> Reader:
    """A read-only connection to an existing warehouse. The embedded one: through the
    role ``shoot2top_reader`` (created if missing). A DSN given: as given, with a warning
    if its role can write (give the dashboard a read-only one)."""
    resolved, _ = existing_dsn(dsn, state_dir, guess=guess)
    if dsn or os.environ.get("SHOOT2TOP_DSN"):
        _warn_if_writable(resolved)
        return Reader(resolved, _describe(resolved), state_dir)
    folder = _embedded_folder(resolved, state_dir)
    admin = connect(resolved)
    try:
        ensure_reader_role(admin)
    finally:
        admin.close()
    return Reader(embedded_dsn(folder, user=READER_ROLE), f"embedded warehouse in {folder}", folder)


def _embedded_folder(dsn: str, state_dir: Path) -> Path:
    """The state directory whose embedded server `dsn` is (the one given, or the lone
    one below it that `existing_dsn` chose)."""
    host = psycopg2.extensions.parse_dsn(dsn).get("host", "")
    return Path(host).parent if host.endswith("postgres") else state_dir


def _warn_if_writable(dsn: str) -> None:
    connection = connect(dsn)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT has_table_privilege('items', 'INSERT')")
            (writable,) = cursor.fetchone()
    finally:
        connection.close()
    if writable:
        log.warning(
            "the dashboard's DSN can write to the warehouse: give it a read-only role "
            "(%s: see docs/warehouse.md, 'Connect')",
            READER_ROLE,
        )


def _describe(dsn: str) -> str:
    """Where a DSN points, without user or password."""
    try:
        parts = psycopg2.extensions.parse_dsn(dsn)
    except psycopg2.Error:
        return "warehouse"
    host = parts.get("host", "localhost")
    port = f":{parts['port']}" if "port" in parts else ""
    return f"warehouse {parts.get('dbname', '')} on {host}{port}"


def check_bind(host: str, token: str | None) -> None:
    """Only loopback without a token: anything else would open the warehouse's figures
    to the network."""
    if token is None and not is_loopback(host):
        raise DashboardError(
            f"listening on {host} needs an access token: export {TOKEN_VARIABLE}=<a long "
            "random string> first (open the page once with ?token=…); without one the "
            "dashboard listens on 127.0.0.1 only"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """The listening socket (port 0: any free one), bound before the server starts, so
    its address can be printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise DashboardError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(128)
    return listener


def serve(app: Callable[..., Any], listener: socket.socket) -> None:
    """Run the server on `listener` until Ctrl-C / SIGTERM (uvicorn handles both)."""
    import uvicorn

    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on",
        timeout_graceful_shutdown=2, proxy_headers=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    try:
        asyncio.run(server.serve(sockets=[listener]))
    except KeyboardInterrupt:  # uvicorn stopped cleanly, then re-raised Ctrl-C
        pass
    finally:
        listener.close()
