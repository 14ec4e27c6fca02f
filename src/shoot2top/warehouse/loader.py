"""Loading batches of items into the warehouse: COPY into staging, set-based upserts.

One transaction per batch. What the database would refuse in a sound item (a NUL
character, a counter beyond ``bigint``) is repaired when the item is observed (`rows`);
a row the database still rejects (a timestamp out of its range, a value too large for an
index row…) is isolated by bisecting the batch under savepoints and goes to
``dead_letters`` with the reason; the rest of its batch commits. Transient failures
(connection lost, server restart, serialization failure, deadlock) reconnect and retry
the whole batch under the platform's `RetryPolicy`; the upserts make a retried or
redelivered batch harmless. Permanent ones (a missing database, refused credentials)
fail at once.

The loader remembers the text-feature sets (hashtags, mentions, URLs, keywords) of the
items it has committed, and does not stage those rows again when the same item is
observed again with the same sets: those tables are insert-only sets, so rows this loader
saw committed are there for good. Only commits add to that memory, so a failed or retried
batch never hides a row. The memory is of one connection's server: a new connection (after
a lost one: a failover, a restored or replaced database may be behind it) starts it afresh,
and a batch prepared before then stages every row.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.errors

from shoot2top import codec
from shoot2top.posts import InvalidPost, PostInfo, describe
from shoot2top.runtime.retry import Exhausted, RetryPolicy, first_line
from shoot2top.warehouse import dialect
from shoot2top.warehouse.database import WarehouseError, WarehouseUnavailable, connect
from shoot2top.warehouse.features import Features
from shoot2top.warehouse.rows import (
    Observation,
    batch_rows,
    copy_buffers,
    observe,
)
from shoot2top.warehouse.schema import migrate, require_current

log = logging.getLogger(__name__)

Item = dict[str, Any]
REJECTED_ROW_ERRORS = (
    psycopg2.DataError,
    psycopg2.IntegrityError,
    psycopg2.errors.ProgramLimitExceeded,  # e.g. a value too large for an index row
)
KNOWN_SETS_MAX = 1 << 18  # feature sets remembered (~25 MB); then forgotten all at once


TRANSIENT_SERVER_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
    psycopg2.errors.TooManyConnections,
    psycopg2.errors.AdminShutdown,
    psycopg2.errors.CrashShutdown,
    psycopg2.errors.CannotConnectNow,
)


def is_transient(error: BaseException) -> bool:
    """Worth retrying on a fresh connection: the server went away (an error without a
    SQLSTATE, or of class 08: the connection broke), is restarting, or asked us to retry."""
    if isinstance(error, (WarehouseUnavailable, *TRANSIENT_SERVER_ERRORS)):
        return True
    code = getattr(error, "pgcode", None) or ""
    broken = isinstance(error, psycopg2.OperationalError | psycopg2.InterfaceError)
    # libpq reports a server gone mid-query ("server closed the connection
    # unexpectedly") as a bare DatabaseError without a SQLSTATE.
    return (broken or type(error) is psycopg2.DatabaseError) and (
        not code or code.startswith("08")  # class 08: connection exception
    )


@dataclass
class PreparedBatch:
    """A batch ready for the database: its COPY text, and what else a commit may need.

    No Python objects per item beyond bytes: the observations die with `prepare`, so they
    never reach the old generations the garbage collector walks again and again. The
    rare commit that meets a row the database refuses re-observes the items from their
    canonical JSON.
    """

    encoded: list[bytes]  # the items that passed the checks, as canonical JSON, in order
    sets_digests: list[bytes]  # their `Observation.sets_digest`s, remembered on commit
    rejected: list[tuple[Item, str]]
    buffers: dict[str, bytes]
    sets_epoch: int = 0  # the loader's `_sets_epoch` when known sets were left out


@dataclass
class LoadResult:
    loaded: int = 0
    dead_lettered: int = 0
    attempts: int = 0


class WarehouseLoader:
    """Loads batches of streamable objects into one PostgreSQL database."""

    def __init__(
        self,
        dsn: str,
        *,
        component: str = "warehouse",
        max_retry_s: float = 60.0,
        migrate: bool = False,
        connect_fn: Callable[[str], Any] = connect,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.dsn = dsn
        self.migrate = migrate
        self.component = component
        self.retry = (retry or RetryPolicy(max_s=max_retry_s)).named(f"sink {component!r}")
        self.connect_fn = connect_fn
        self._connection: Any = None
        self._known_sets: set[bytes] = set()  # `Observation.sets_digest`s committed here
        self._sets_epoch = 0  # bumped with each new connection after the first
        self._connected_once = False

    def load(self, items: Sequence[Item]) -> LoadResult:
        """Load a batch in one transaction; returns what was loaded and dead-lettered."""
        return self.commit(self.prepare(items))

    def prepare(self, items: Sequence[Item]) -> PreparedBatch:
        """The CPU half of a load, no database: features, rows and their COPY text.

        An item that is not a streamable object (`InvalidPost`: what extraction raises
        for a malformed item) is rejected alone, with its reason. Any other error is a bug,
        not bad input: it propagates and fails the batch, which was not stored.
        Safe to run in another thread than `commit`, on a batch to commit after it.
        """
        with codec.fewer_collections(every=None):
            return self._prepare(items)

    def _prepare(self, items: Sequence[Item]) -> PreparedBatch:
        observed: list[Observation] = []
        rejected: list[tuple[Item, str]] = []
        for item in items:
            try:
                observed.append(observe(item))
            except InvalidPost as error:
                rejected.append((item, f"not storable: {error}"))
        epoch = self._sets_epoch  # read before the memory (`_connect` replaces it first)
        buffers = copy_buffers(batch_rows(observed, self._known_sets))
        return PreparedBatch(
            [observation.encoded for observation in observed],
            [observation.sets_digest for observation in observed],
            rejected,
            buffers,
            epoch,
        )

    def commit(self, batch: PreparedBatch) -> LoadResult:
        """The database half: one transaction, retried on transient errors."""
        attempts = 0

        def attempt() -> tuple[LoadResult, list[Observation]]:
            nonlocal attempts
            attempts += 1
            result = LoadResult(attempts=attempts)
            refused: list[Observation] = []
            self._transaction(batch, result, refused)
            return result, refused

        size = len(batch.encoded) + len(batch.rejected)
        try:
            result, refused = self.retry.call(f"commit of {size} items", attempt, is_transient)
        except Exhausted as error:
            raise WarehouseError(f"{self.component}: {error}") from error.__cause__
        except WarehouseError:
            raise
        except psycopg2.Error as error:
            raise WarehouseError(f"{self.component}: {first_line(error)}") from error
        self._remember_sets(batch.sets_digests, refused)
        return result

    def _remember_sets(self, digests: list[bytes], refused: list[Observation]) -> None:
        """After a commit: these items' feature-set rows are in the warehouse for good."""
        if refused:  # dead-lettered by the database: their rows were not loaded
            digests = list(set(digests) - {observation.sets_digest for observation in refused})
        if len(self._known_sets) + len(digests) > KNOWN_SETS_MAX:
            self._known_sets.clear()  # forgetting only costs staging some rows again
        self._known_sets.update(digests)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _transaction(
        self, batch: PreparedBatch, result: LoadResult, refused: list[Observation]
    ) -> None:
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                self._load_prepared(cursor, batch, result, refused)
                for item, reason in batch.rejected:
                    self._dead_letter(cursor, _json_text(item), _identity(item), reason, result)
                notice = {"component": self.component, "loaded": result.loaded,
                          "dead_lettered": result.dead_lettered}  # fmt: skip
                cursor.execute(dialect.NOTIFY_COMMIT, (dialect.COMMIT_CHANNEL, _json_text(notice)))
            connection.commit()
        except BaseException as error:
            self._discard(connection, error)
            raise

    def _load_prepared(
        self, cursor: Any, batch: PreparedBatch, result: LoadResult, refused: list[Observation]
    ) -> None:
        """The whole batch from its prepared COPY text; if the database refuses a row,
        bisect it to find that row (`_load_or_bisect`)."""
        if not batch.encoded:
            return
        if batch.sets_epoch != self._sets_epoch:  # left out rows another server held
            self._load_or_bisect(cursor, _observed_again(batch), result, refused)
            return
        cursor.execute("SAVEPOINT batch_part")
        try:
            self._load_rows(cursor, batch.buffers)
        except REJECTED_ROW_ERRORS:
            cursor.execute("ROLLBACK TO SAVEPOINT batch_part")
            # Every row of the halves: the prepared text may have left known sets out,
            # and those were known to be committed only with the whole batch.
            observed = _observed_again(batch)
            middle = len(observed) // 2
            self._load_or_bisect(cursor, observed[:middle], result, refused)
            self._load_or_bisect(cursor, observed[middle:], result, refused)
            return
        result.loaded += len(batch.encoded)

    def _load_or_bisect(
        self,
        cursor: Any,
        batch: list[Observation],
        result: LoadResult,
        refused: list[Observation],
    ) -> None:
        """Load `batch`; on a rejected row, load each half separately until the row is
        alone, then dead-letter it."""
        if not batch:
            return
        clear = "; ".join(table.clear_stage() for table in dialect.LOADED_TABLES)
        cursor.execute(f"SAVEPOINT batch_part; {clear}")  # earlier halves left rows staged
        try:
            self._load_rows(cursor, copy_buffers(batch_rows(batch)))
        except REJECTED_ROW_ERRORS as error:
            cursor.execute("ROLLBACK TO SAVEPOINT batch_part")
            if len(batch) == 1:
                only = batch[0]
                self._dead_letter(cursor, only.raw, only.features, first_line(error), result)
                refused.append(only)
                return
            middle = len(batch) // 2
            self._load_or_bisect(cursor, batch[:middle], result, refused)
            self._load_or_bisect(cursor, batch[middle:], result, refused)
            return
        result.loaded += len(batch)

    @staticmethod
    def _load_rows(cursor: Any, buffers: dict[str, bytes]) -> None:
        """COPY into the (empty) staging tables, then every upsert and the savepoint's
        release in one round trip."""
        loaded = [table for table in dialect.LOADED_TABLES if buffers.get(table.name)]
        for table in loaded:
            data = buffers[table.name]
            # One read of the whole buffer: each chunk read would take the GIL again.
            cursor.copy_expert(table.copy_into_stage(), io.BytesIO(data), size=len(data))
        cursor.execute(
            ";\n".join([*(table.upsert() for table in loaded), "RELEASE SAVEPOINT batch_part"])
        )

    def _dead_letter(
        self,
        cursor: Any,
        text: str,
        identity: Features | PostInfo | None,
        reason: str,
        result: LoadResult,
    ) -> None:
        fingerprint = hashlib.sha256(f"{reason}\n{text}".encode()).hexdigest()
        log.warning("%s: dead-lettered an item: %s", self.component, reason)
        cursor.execute(
            dialect.INSERT_DEAD_LETTER,
            (
                fingerprint,
                self.component,
                reason,
                identity.platform if identity else None,
                identity.item_id if identity else None,
                identity.observed_at if identity else None,
                text,
            ),
        )
        result.dead_lettered += 1

    def _connect(self) -> Any:
        if self._connection is None or self._connection.closed:
            connection = self.connect_fn(self.dsn)
            try:
                if self.migrate:  # on first use, not when built: the server may be down then
                    migrate(connection)
                    self.migrate = False
                require_current(connection)
                with connection.cursor() as cursor:
                    for table in dialect.LOADED_TABLES:
                        cursor.execute(table.create_stage())
                connection.commit()
            except BaseException:
                connection.close()
                raise
            if self._connected_once:  # maybe another server: what it holds is unknown
                self._known_sets = set()  # before the epoch: see `prepare`
                self._sets_epoch += 1
            self._connected_once = True
            self._connection = connection
        return self._connection

    def _discard(self, connection: Any, error: BaseException) -> None:
        """After a failure: roll back, and drop the connection if it may be broken."""
        with contextlib.suppress(psycopg2.Error):
            connection.rollback()
        if is_transient(error) or connection.closed:
            self.close()


def _identity(item: Any) -> PostInfo | None:
    """Which item a rejected one was, when that much can be read (and stored: an id with a
    lone surrogate cannot go into a text column)."""
    try:
        info = describe(item)
        "".join(value for value in info if isinstance(value, str)).encode()
    except Exception:  # the error path of a rejected item, which may be anything
        return None
    return info


def _observed_again(batch: PreparedBatch) -> list[Observation]:
    """The batch's observations, from the canonical JSON `prepare` kept. Decoded exactly
    (an id or counter beyond 64 bits must come back as the integer it was), so every item
    observes again as it did in `prepare`."""
    return [observe(codec.loads_exact(encoded)) for encoded in batch.encoded]


def _json_text(item: Any) -> str:
    """The item as JSON text; control characters (NUL…) escaped, so any text column takes
    it; an item JSON cannot encode is kept as faithful escaped text."""
    try:
        return codec.dumps(item).decode()
    except codec.EncodeError:
        return codec.dead_letter_text(item)
