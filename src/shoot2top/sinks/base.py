"""What every sink is: ``write``, ``flush``, ``close``, and which writes are durable.

Each ``write`` returns a ticket (1, 2, 3, ...). ``durable_ticket`` is the highest ticket
whose item is safely stored; everything at or below it survives a crash. The Storm bolt
acks a tuple only once its ticket is durable, and the runner checkpoints its sources only
when every sink is durable through its last write.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from itertools import repeat
from typing import Any, cast

from shoot2top import codec
from shoot2top.limits import MAX_ITEM_BYTES
from shoot2top.posts import describe, format_time
from shoot2top.runtime.deadletter import DeadLetters


class SinkAbandoned(RuntimeError):
    """A sink was asked to store after `Sink.abandon`: what it dropped is not stored."""


class Sink(ABC):
    """A destination for items that batches them and stores a batch at once.

    Subclasses buffer in `_write` and store everything buffered in `flush`; the base
    class keeps the tickets and closes batches that are older than `batch_age_s`.
    """

    def __init__(
        self,
        name: str,
        *,
        batch_age_s: float = float("inf"),
        dead_letters: DeadLetters | None = None,
    ) -> None:
        if batch_age_s < 0:
            raise ValueError(f"sink {name!r}: batch_age_s must be >= 0 (got {batch_age_s})")
        self.name = name
        self.batch_age_s = batch_age_s
        self.dead_letters = dead_letters or DeadLetters(None)
        self.last_ticket = 0
        self.durable_ticket = 0
        self.durable_at: float | None = None
        """When `durable_ticket` was reached (epoch s), if the sink knows it better than
        the moment it is asked (a commit that finished in the background); else None."""
        self._pending_since = 0.0
        self._abandoned = False

    def write(self, item: dict[str, Any]) -> int:
        """Accept one item; return its ticket. May store a full batch on the way."""
        self._before_write()
        if self.last_ticket == self.durable_ticket:  # the first item of a new batch
            self._pending_since = time.monotonic()
        self.last_ticket += 1
        self._write(item)
        return self.last_ticket

    def write_batch(self, items: Sequence[dict[str, Any]]) -> int:
        """Accept items in order, as `write` does one by one; return the last one's
        ticket. A sink that can take a batch at once overrides it."""
        for item in items:
            self.write(item)
        return self.last_ticket

    @property
    def takes_encoded(self) -> bool:
        """Whether `write_encoded` stores JSON text as it is: a runner moving a lake replay
        to sinks that all do need not decode the items (`Source.hand_out_encoded`)."""
        return False

    def write_encoded(self, items: Sequence[Any]) -> int:
        """`write_batch` of items given as their JSON text (`codec.Buffer`) or decoded (a
        source that could not keep them as text). This one decodes the text (as a replay
        does: `codec.loads_exact`); a sink that stores JSON text overrides it."""
        return self.write_batch([codec.decoded(item) for item in items])

    def _as_texts(self, items: Sequence[Any]) -> Sequence[codec.Buffer | None]:
        """Items given as JSON text or decoded, each as JSON text, or None where one is
        dead-lettered: text kept as it is, decoded items encoded (`_encode`), and
        text beyond `MAX_ITEM_BYTES` decoded and encoded compactly (the limit is on
        compact JSON), or dead-lettered as a decoded item would be."""
        if any(map(isinstance, items, repeat(dict))):
            return [self._encode(item) if isinstance(item, dict) else self._within_limit(item)
                    for item in items]  # fmt: skip
        if max(map(len, items), default=0) > MAX_ITEM_BYTES:
            return list(map(self._within_limit, items))
        return items

    def _within_limit(self, text: codec.Buffer) -> codec.Buffer | None:
        """Text within `MAX_ITEM_BYTES` as it is; beyond it, judged as a decoded item."""
        return text if len(text) <= MAX_ITEM_BYTES else self._encode(codec.loads_exact(text))

    def _encode(self, item: dict[str, Any]) -> bytes | None:
        """The item as JSON; None if it cannot be (too deep, too large, not valid
        Unicode…): then it is dead-lettered alone, counts as handled, and the sink goes on."""
        try:
            return codec.encode_item(item)
        except codec.Unencodable as error:
            self._unencodable(item, error)
            return None

    def _encode_all(self, items: Sequence[dict[str, Any]]) -> list[bytes | None]:
        """`_encode` of every item, in one pass (`codec.encode_items`)."""
        encoded = codec.encode_items(items)
        if all(map(isinstance, encoded, repeat(bytes))):  # the common case: no loop here
            return cast(list[bytes | None], list(encoded))
        out: list[bytes | None] = []
        for item, result in zip(items, encoded, strict=True):
            if isinstance(result, bytes):
                out.append(result)
            else:
                self._unencodable(item, result)
                out.append(None)
        return out

    def _unencodable(self, item: dict[str, Any], error: codec.Unencodable) -> None:
        """Dead-letter an item no sink can store; it counts as handled."""
        where = f"sink {self.name!r} item {identify(item)}"
        self.dead_letters.record(self.name, where, f"cannot encode as JSON: {error}", item)

    def _before_write(self) -> None:
        """Hook: close the open batch if the next item must not join it (a new partition)."""

    @abstractmethod
    def _write(self, item: dict[str, Any]) -> None:
        """Buffer one item; call `flush` when the batch is full."""

    def flush(self) -> None:
        """Store every buffered item; then all tickets so far are durable."""
        if self._abandoned:  # what it held was dropped: calling it durable would be a lie
            raise SinkAbandoned(f"sink {self.name!r} was abandoned: it stores nothing more")
        if self.pending:
            self._store()
            self.durable_ticket = self.last_ticket

    @abstractmethod
    def _store(self) -> None:
        """Store the buffered batch durably and empty the buffer; raise if it cannot."""

    def tick(self, age_s: float | None = None) -> None:
        """Called between items and while idle: store a batch older than `age_s` (its
        `batch_age_s` by default; 0: whatever waits)."""
        age = self.batch_age_s if age_s is None else age_s
        if self.pending and time.monotonic() - self._pending_since >= age:
            self.flush()

    def close(self) -> None:
        """Flush and release resources; the sink is not used afterwards."""
        self.flush()

    def interrupt(self, reason: str = "interrupted") -> None:
        """Make a write or close that waits (for room, for a reader) give up now, with an
        error naming `reason`. Called by the runner's SIGINT/SIGTERM handler, so it must
        be safe in one: set a flag, never wait for a lock. Most sinks never wait: no-op."""

    def abandon(self) -> None:
        """Drop whatever is buffered and release resources, without storing: after a
        failed write, when the caller will have everything not durable sent again. The
        sink is done: a flush or close afterwards raises `SinkAbandoned` instead of
        calling what it dropped durable."""
        self._abandoned = True
        self._abandon()

    def _abandon(self) -> None:
        """Hook: drop the buffer and release resources (`abandon`)."""

    def report(self) -> str:
        """One line on what the sink has done, for the run summary."""
        return f"{self.durable_ticket:,} items stored"

    @property
    def pending(self) -> int:
        """Items written but not yet durable."""
        return self.last_ticket - self.durable_ticket


def identify(item: Any) -> str:
    """Which item this is, for a dead letter: type, id and observed time when readable."""
    try:
        info = describe(item)
    except Exception:  # the item may be anything: it is being rejected
        return "(no identity)"
    return f"{info.type} {info.item_id!r} observed {format_time(info.observed_at)}"
