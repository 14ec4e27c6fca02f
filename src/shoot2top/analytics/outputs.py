"""Where trend events go: a JSON-lines file, the warehouse's ``trends`` table, or any of
the pipeline's ordinary sinks (the socket for Spark, a lake) through `ItemSinkEvents`.

Each takes each emission of an event (rising, then ended) as it comes; the table upserts
on the event's identity (term, kind, scope, onset_at), so the ended emission updates the
rising one and a replay rewrites the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from shoot2top import codec
from shoot2top.analytics.events import TrendEvent
from shoot2top.sinks.base import Sink
from shoot2top.warehouse import schema
from shoot2top.warehouse.database import connect

COLUMNS = (
    "term",
    "kind",
    "scope",
    "onset_at",
    "detected_at",
    "peak_at",
    "ended_at",
    "status",
    "volume",
    "expected",
    "score",
    "publishers",
    "top_items",
    "method",
)
UPSERT = (
    f"INSERT INTO trends ({', '.join(COLUMNS)}) VALUES "
    f"({', '.join('%s::jsonb' if c == 'top_items' else '%s' for c in COLUMNS)})"
    " ON CONFLICT (term, kind, scope, onset_at) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[4:])
)


class EventSink(Protocol):
    name: str

    def send(self, events: Sequence[TrendEvent]) -> None: ...
    def close(self) -> None: ...


class JsonLinesEvents:
    """Appends one JSON record per emission to a file (``-``: standard output)."""

    def __init__(self, path: str | Path, name: str = "file") -> None:
        self.name = name
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        except OSError as error:
            raise ValueError(f"trend events file {self.path}: {error.strerror}") from None

    def send(self, events: Sequence[TrendEvent]) -> None:
        if events:
            self._file.write(b"".join(codec.dumps(e.to_record()) + b"\n" for e in events))
            self._file.flush()

    def close(self) -> None:
        self._file.close()


class ItemSinkEvents:
    """An ordinary sink (socket, lake) fed each emission's record (`TrendEvent.to_record`)
    as one item, flushed after each batch of events; its delivery is the sink's own (the
    socket's is at most once: sinks/socket.py)."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.name = sink.name

    def send(self, events: Sequence[TrendEvent]) -> None:
        if events:
            for event in events:
                self.sink.write(event.to_record())
            self.sink.flush()

    def close(self) -> None:
        self.sink.close()


class WarehouseEvents:
    """Upserts events into the warehouse's ``trends`` table (migration 0010_trends),
    migrating the warehouse first unless `migrate` is False."""

    def __init__(self, dsn: str, name: str = "warehouse", *, migrate: bool = True) -> None:
        self.name = name
        self._connection: Any = connect(dsn)
        if migrate:
            schema.migrate(self._connection)
        with self._connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('trends')")
            if cursor.fetchone()[0] is None:
                self._connection.close()
                raise ValueError(
                    f"trend sink {name!r}: the warehouse has no `trends` table; run "
                    "`shoot2top warehouse migrate` (migration 0010_trends)"
                )
        self._connection.rollback()

    def send(self, events: Sequence[TrendEvent]) -> None:
        if not events:
            return
        rows = []
        for event in events:
            record = event.to_record()
            record["top_items"] = codec.dumps(record["top_items"]).decode()
            rows.append(tuple(record[column] for column in COLUMNS))
        with self._connection.cursor() as cursor:
            cursor.executemany(UPSERT, rows)
        self._connection.commit()

    def close(self) -> None:
        self._connection.close()
