"""Reaching the warehouse: a DSN given by flag or ``SHOOT2TOP_DSN``, or embedded PostgreSQL.

With no DSN, the project starts a private PostgreSQL (real binaries from the `pgserver`
package) in ``<state_dir>/postgres``, listening on a Unix socket only, and prints its
DSN. Any other server — or Redshift later — is chosen by giving its DSN.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import signal
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import psycopg2
import psycopg2.extensions

from shoot2top.runtime.retry import first_line, unreached_is_outage

log = logging.getLogger(__name__)

DSN_VARIABLE = "SHOOT2TOP_DSN"


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or used; the message says which and why."""


class WarehouseUnavailable(WarehouseError):
    """The server did not accept a connection (down, restarting): worth retrying."""


def embedded_server(state_dir: str | Path) -> Any:
    """The embedded PostgreSQL of the state directory (pgserver's handle), initialised
    and started if needed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    data_dir = Path(state_dir).resolve() / "postgres"
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl call
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on servers
            return pgserver.get_server(data_dir, cleanup_mode=None)
    except Exception as error:  # pgserver raises plain exceptions with the server log
        raise WarehouseError(f"embedded PostgreSQL in {data_dir} did not start: {error}") from error


def postmaster(data_dir: Path) -> Any:
    """What the running server of a data directory wrote in its ``postmaster.pid`` (pid,
    port, socket directory, listen address), or None."""
    from pgserver.utils import PostmasterInfo

    try:
        return PostmasterInfo.read_from_pgdata(data_dir)
    except (OSError, ValueError, AssertionError):
        return None


def embedded_dsn(state_dir: str | Path, user: str = "postgres") -> str:
    """Start (or reuse) the embedded PostgreSQL in the state directory; its DSN on the
    Unix socket (with the port, which `warehouse start --tcp` may have changed)."""
    server = embedded_server(state_dir)
    info = postmaster(server.pgdata)
    if info is None or info.socket_dir is None:
        dsn = server.get_uri()
    else:
        port = f"&port={info.port}" if info.port else ""
        dsn = f"postgresql://{user}:@/postgres?host={info.socket_dir}{port}"
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
    if pid_file.exists():
        return (
            f"asked the embedded PostgreSQL in {data_dir} (pid {pid}) to stop; it was still "
            f"running after {timeout_s:g} s"
        )
    return f"stopped the embedded PostgreSQL in {data_dir}"


def resolve_dsn(dsn: str | None, state_dir: str | Path) -> str:
    """The DSN to use: the one given, else ``$SHOOT2TOP_DSN``, else the embedded server."""
    return dsn or os.environ.get(DSN_VARIABLE) or embedded_dsn(state_dir)


def has_embedded(state_dir: str | Path) -> bool:
    """Whether the state directory holds an embedded warehouse (running or not)."""
    return (Path(state_dir) / "postgres" / "PG_VERSION").is_file()


def existing_dsn(dsn: str | None, state_dir: str | Path, *, guess: bool) -> tuple[str, str]:
    """The DSN of a warehouse that exists, for commands that only read it (reports, the
    dashboard): the one given, else ``$SHOOT2TOP_DSN``, else the embedded one of the state
    directory — started if stopped, never created. With `guess` (no state directory was
    chosen), a lone warehouse one level down (the demo's ``.shoot2top/demo``) is used.
    Also returns a note saying which warehouse that is."""
    given = dsn or os.environ.get(DSN_VARIABLE)
    if given:
        return given, ""
    if has_embedded(state_dir):
        return embedded_dsn(state_dir), f"embedded PostgreSQL in {Path(state_dir) / 'postgres'}"
    root = Path(state_dir)
    found = sorted(child for child in _children(root) if has_embedded(child))
    if guess and len(found) == 1:
        note = (
            f"no warehouse in {root}; using the one in {found[0]} "
            f"(choose with --state-dir or SHOOT2TOP_STATE)"
        )
        return embedded_dsn(found[0]), note
    if found:
        choices = " or ".join(str(path) for path in found)
        raise WarehouseError(
            f"no warehouse in {root} (no {root / 'postgres'}); there is one in {choices}: pass "
            f"--state-dir {found[0]} (or export SHOOT2TOP_STATE={found[0]}), or --dsn DSN"
        )
    raise WarehouseError(
        f"no warehouse in {root} (no {root / 'postgres'}): run scripts/demo.sh (its warehouse "
        f"is in .shoot2top/demo), or `shoot2top warehouse init --state-dir {root}` and load "
        "data with `shoot2top ingest`; or pass --state-dir DIR or --dsn DSN"
    )


def _children(root: Path) -> list[Path]:
    try:
        return [child for child in root.iterdir() if child.is_dir()]
    except OSError:
        return []


TRANSIENT_CONNECT_ERRORS = (
    "connection refused",
    "timeout expired",
    "timed out",
    "server closed the connection unexpectedly",
    "the database system is",  # starting up, shutting down, in recovery, not yet accepting…
    "too many clients",
    "connection reset",
    "could not receive data",
    "could not send data",
    "no such file or directory",  # the Unix socket of a server that is down
    "network is unreachable",
    "terminating connection",
)
"""libpq's words for a server that is down, restarting or busy. Anything else (bad
password, missing database or role, unknown host, malformed DSN) is permanent."""

SERVER_ANSWERED = ("the database system is", "too many clients", "terminating connection")
"""Of those, the words of a server that answered: an outage wherever it happens."""

_reached: set[str] = set()
"""DSNs (hashed) this process has connected to: a refused connection to one of them is an
outage worth waiting out; to any other it is most likely a wrong host or port."""


def connect(dsn: str) -> Any:
    """A connection with autocommit off. A failure raises `WarehouseUnavailable` when it
    is worth retrying (the server answered this process before and now is down or busy),
    else `WarehouseError` at once; neither message can hold the DSN's password."""
    key = hashlib.sha256(dsn.encode(errors="surrogatepass")).hexdigest()
    try:
        connection = psycopg2.connect(dsn, application_name="shoot2top", connect_timeout=10)
    except psycopg2.OperationalError as error:
        message = scrub_dsn_secrets(first_line(error), dsn)
        lowered = message.lower()
        outage = any(words in lowered for words in TRANSIENT_CONNECT_ERRORS)
        answered = any(words in lowered for words in SERVER_ANSWERED)
        if outage and (key in _reached or answered or unreached_is_outage()):
            raise WarehouseUnavailable(f"cannot connect to the warehouse: {message}") from None
        hint = (
            " (it has not answered since start-up: check the host and port in the DSN, "
            "and that the server is running)"
            if outage
            else _dsn_hint(dsn)
        )
        raise WarehouseError(f"cannot connect to the warehouse: {message}{hint}") from None
    except (psycopg2.Error, UnicodeError):  # a malformed DSN: its message may quote it
        raise WarehouseError(
            "the warehouse DSN is malformed (not shown: it may hold a password)"
        ) from None
    _reached.add(key)
    return connection


def scrub_dsn_secrets(message: str, dsn: str) -> str:
    """`message` with the DSN's password removed, and every quoted value that holds a
    piece of it: a password with an unescaped '@' or '/' makes libpq quote parts of it
    as a host, port or database name."""
    password = _naive_password(dsn)
    try:
        parsed = psycopg2.extensions.parse_dsn(dsn).get("password")
    except psycopg2.Error:
        parsed = None
    secrets = {value for value in (password, parsed) if value}
    if not secrets:
        return message
    pieces = {piece for secret in secrets for piece in re.split(r"[@/:?#%]", secret) if piece}
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, "***").replace(quote(secret, safe=""), "***")

    def redact(match: re.Match[str]) -> str:
        return '"***"' if any(piece in match[1] for piece in pieces) else match[0]

    return re.sub(r'"([^"]*)"', redact, message)


def _naive_password(dsn: str) -> str | None:
    """The password as a person wrote it in a URL DSN: from the first ':' of the user
    info to the *last* '@' (a host cannot contain '@'), before any query string."""
    _, separator, rest = dsn.partition("://")
    if not separator or "@" not in rest:
        return None
    userinfo = rest.rsplit("@", 1)[0]
    if "?" in userinfo or ":" not in userinfo:
        return None
    return unquote(userinfo.split(":", 1)[1]) or None


def _dsn_hint(dsn: str) -> str:
    password = _naive_password(dsn)
    if password and re.search(r"[@/:]", password):
        return (
            " (the DSN's password seems to hold '@', '/' or ':': percent-encode them in a "
            "URL, as %40, %2F and %3A)"
        )
    return ""
