"""Who can reach the warehouse: the embedded server on TCP, its passwords, and the
read-only role that BI tools, notebooks and the dashboard use.

The embedded PostgreSQL listens on its Unix socket only (in the state directory). With
`start_tcp` it also listens on 127.0.0.1 — never another interface — where every login
needs a password (SCRAM): one for the administrator ``postgres`` (loaders, migrations)
and one for ``shoot2top_reader``, which can read everything and write nothing. The
passwords are generated once and kept in ``<state_dir>/pgpass`` (mode 0600, libpq's
password-file format), so DSNs name that file (``passfile=``) instead of holding a
password, and no password is ever printed or logged.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from shoot2top.warehouse.database import (
    WarehouseError,
    connect,
    embedded_dsn,
    embedded_server,
    postmaster,
)

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
ADMIN_ROLE = "postgres"
READER_ROLE = "shoot2top_reader"
PASSWORD_FILE = "pgpass"
DATABASE = "postgres"
_HBA_HEADER = (
    "# Managed by `shoot2top warehouse start --tcp`: passwords on TCP, trust on the socket"
)


def ensure_reader_role(connection: Any, password: str | None = None) -> None:
    """Create (or update) the read-only login role: it reads every table and view,
    present and future (``pg_read_all_data``), and its sessions are read-only."""
    role = sql.Identifier(READER_ROLE)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER_ROLE,))
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
        cursor.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(role))
        cursor.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
        if password is not None:
            _set_password(cursor, connection, READER_ROLE, password)


def _set_password(cursor: Any, connection: Any, role: str, password: str) -> None:
    """Store the role's password hashed on this side (SCRAM): the server, and its log,
    never see it in the clear."""
    verifier = psycopg2.extensions.encrypt_password(password, role, connection)
    cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(role)), (verifier,))


@dataclass(frozen=True)
class TcpAccess:
    """The embedded warehouse on TCP: where it listens and where its passwords are."""

    port: int
    password_file: Path

    def dsn(self, role: str = ADMIN_ROLE) -> str:
        """A DSN for `role` on 127.0.0.1 that names the password file, holding no secret."""
        passfile = quote(str(self.password_file), safe="/")
        return f"postgresql://{role}@{HOST}:{self.port}/{DATABASE}?passfile={passfile}"


def start_tcp(state_dir: str | Path, port: int | None = None) -> TcpAccess:
    """Start the embedded warehouse of `state_dir` (if needed) listening on 127.0.0.1 as
    well as its socket, with password logins; restart it if it listens elsewhere.

    The port is `port`, else the one used last time, else a free one."""
    state = Path(state_dir).resolve()
    socket_dsn = embedded_dsn(state)
    passwords = PasswordFile(state / PASSWORD_FILE)
    last_port, entries = passwords.read()
    port = port or last_port or _free_port()
    wanted = {
        role: entries.get(role) or secrets.token_urlsafe(24) for role in (ADMIN_ROLE, READER_ROLE)
    }
    passwords.write(port, wanted)
    connection = connect(socket_dsn)
    try:
        with connection, connection.cursor() as cursor:
            _set_password(cursor, connection, ADMIN_ROLE, wanted[ADMIN_ROLE])
        ensure_reader_role(connection, wanted[READER_ROLE])
    finally:
        connection.close()
    data_dir = state / "postgres"
    _write_hba(data_dir / "pg_hba.conf")
    info = postmaster(data_dir)
    server = embedded_server(state)
    if info is not None and info.hostname == HOST and info.port == port:
        _pg_ctl(server, ["reload"])
    else:
        socket_dir = info.socket_dir if info is not None and info.socket_dir else data_dir
        log.info("restarting the embedded PostgreSQL to listen on %s:%d", HOST, port)
        _pg_ctl(server, ["-w", "-m", "fast", "-o", f"-h {HOST} -p {port} -k {socket_dir}",
                         "restart"])  # fmt: skip
    return TcpAccess(port, passwords.path)


def _pg_ctl(server: Any, args: list[str]) -> None:
    # pgserver makes its command functions at import time (setattr on the module)
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    try:
        pg_ctl(["-l", str(server.log), *args], pgdata=server.pgdata, user=server.system_user,
               timeout=60)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as error:  # the server log says why
        raise WarehouseError(
            f"pg_ctl {args[-1]} of the embedded PostgreSQL in {server.pgdata} failed ({error}); "
            f"see {server.log}"
        ) from None


def _write_hba(path: Path) -> None:
    """Trust on the Unix socket (the state directory's owner only), SCRAM passwords on
    127.0.0.1; no other host may log in."""
    text = "\n".join([
        _HBA_HEADER,
        "local   all          all                       trust",
        "local   replication  all                       trust",
        f"host    all          all       {HOST}/32      scram-sha-256",
        "",
    ])  # fmt: skip
    path.write_text(text)  # in place: the file keeps the server's owner


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class PasswordFile:
    """``<state_dir>/pgpass`` in libpq's format (``host:port:database:user:password``),
    mode 0600 (libpq ignores a password file others can read)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> tuple[int | None, dict[str, str]]:
        """The port and the role -> password entries for 127.0.0.1 (none without a file)."""
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return None, {}
        except OSError as error:
            raise WarehouseError(f"cannot read {self.path}: {error.strerror}") from None
        port, found = None, {}
        for line in lines:
            parts = line.split(":")
            if len(parts) == 5 and parts[0] == HOST and parts[1].isdigit():
                port, found[parts[3]] = int(parts[1]), parts[4]
        return port, found

    def write(self, port: int, passwords: dict[str, str]) -> None:
        """Replace the file at once, created 0600 (never readable by others, even
        for a moment)."""
        text = "".join(f"{HOST}:{port}:*:{role}:{word}\n" for role, word in passwords.items())
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
            os.chmod(temp, 0o600)  # whatever the umask
            os.replace(temp, self.path)
        except OSError as error:
            raise WarehouseError(f"cannot write {self.path}: {error.strerror}") from None
        finally:
            temp.unlink(missing_ok=True)
