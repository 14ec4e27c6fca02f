"""At-least-once delivery across a topology, without knowing it is Storm.

`TrackedSource` is a spout's logic: it hands out items with message ids, keeps them until
they are acked, re-emits failed ones up to a bound and then dead-letters them, and
checkpoints the source only up to the oldest item still in flight. `AckingSink` is a
bolt's logic: it writes into a sink and says which message ids became durable (ack) or
were lost with a failed write (fail). The Storm adapters in ``src/spouts`` and
``src/bolts`` only translate tuples to and from these.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from shoot2top import codec
from shoot2top.limits import MAX_ITEM_BYTES
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.state import Checkpoints
from shoot2top.sinks.base import Sink
from shoot2top.sources.base import Item, Source

log = logging.getLogger(__name__)

RETRY_BASE_S = 0.5
RETRY_MAX_S = 30.0
CHECKPOINT_EVERY = 5000  # items between checkpoint marks: what a restart may send again


@dataclass
class _InFlight:
    items: list[Any]  # decoded, or their stored JSON text (`as_text`)
    text: bytes  # the items as one JSON array, encoded once (what a tuple carries)
    fails: int = 0


class TrackedSource:
    """Message ids, bounded pending, bounded retries and ack-safe checkpoints.

    One message carries a batch of up to `items_per_message` items (what the source has
    ready at once): per-message costs across the topology are paid once per batch, and
    a slow source still sends each item as soon as it arrives.
    """

    def __init__(
        self,
        source: Source,
        *,
        checkpoints: Checkpoints | None = None,
        dead_letters: DeadLetters | None = None,
        max_pending: int = 1000,
        max_fails: int = 3,
        items_per_message: int = 1,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        as_text: bool = False,
    ) -> None:
        """`as_text`: ask the source for its items as their stored JSON text where it can
        (`Source.hand_out_encoded`: a lake replay), since a tuple carries text anyway:
        what no bolt reads is then never decoded and encoded again in the spout."""
        if max_pending < 1 or max_fails < 0 or items_per_message < 1:
            raise ValueError(
                "max_pending and items_per_message must be >= 1 and max_fails >= 0 (got "
                f"{max_pending}, {items_per_message}, {max_fails})"
            )
        self.source = source
        self.checkpoints = checkpoints
        self.dead_letters = dead_letters or DeadLetters(None)
        self.max_pending = max_pending
        self.max_fails = max_fails
        self.items_per_message = items_per_message
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval_s = checkpoint_interval_s
        self.clock = clock
        self.in_flight: OrderedDict[int, _InFlight] = OrderedDict()
        self.pending_items = 0
        self.retry: list[tuple[float, int]] = []  # heap of (due time, message id)
        self.emitted = 0
        self.acked = 0
        self.replayed = 0  # items failed downstream and scheduled to be emitted again
        self.dead_lettered = 0
        self.exhausted = False
        self._ids = itertools.count(1)
        self._last_mark = clock()
        self._last_mark_count = 0
        # (message id, source snapshot right after it): checkpoint candidates
        self._marks: list[tuple[int, dict[str, Any]]] = []
        if as_text:
            source.hand_out_encoded()

    def next(self) -> tuple[int, list[Any]] | None:
        """The next (message id, items) to emit: a retry first, then new items; None if
        nothing is due now (idle source, end of input, or too many pending). Items are
        decoded, or (`as_text`) their JSON text: what a tuple carries is `text`."""
        while self.retry and self.retry[0][0] <= self.clock():
            _, message_id = heapq.heappop(self.retry)
            if message_id in self.in_flight:
                return message_id, self.in_flight[message_id].items
        room = min(self.items_per_message, self.max_pending - self.pending_items)
        if self.exhausted or room <= 0:
            return None
        items, encoded = self._take(room)
        if not items:
            return None
        message_id = next(self._ids)
        self.in_flight[message_id] = _InFlight(items, codec.encode_array(encoded))
        self.pending_items += len(items)
        self.emitted += len(items)
        # Mark every so many items, and every so often for slow (live) sources.
        now = self.clock()
        if (
            self.emitted - self._last_mark_count >= self.checkpoint_every
            or now - self._last_mark >= self.checkpoint_interval_s
        ):
            self._marks.append((message_id, self.source.snapshot()))
            self._last_mark, self._last_mark_count = now, self.emitted
        return message_id, items

    def text(self, message_id: int) -> bytes:
        """The items of a message in flight as one JSON array: encoded once, when they
        were taken (the check that they can cross to the bolts), and reused by retries."""
        return self.in_flight[message_id].text

    def _take(self, room: int) -> tuple[list[Any], list[bytes]]:
        """Up to `room` items the source has ready now, and each one's JSON (an item
        handed out as its stored text is that text, copied: a view would keep its whole
        file alive while in flight)."""
        items: list[Any] = []
        encoded: list[bytes] = []
        while len(items) < room:
            batch: list[Any] | None = self.source.next_batch(room - len(items))
            if batch is None:
                self.exhausted = True
                if not items:
                    self._maybe_checkpoint()
                break
            if not batch:
                break
            if not any(map(isinstance, batch, repeat(dict))):  # all stored text
                texts = list(map(bytes, batch))
                if max(map(len, texts)) <= MAX_ITEM_BYTES:
                    items += texts
                    encoded += texts
                    continue
            for item in batch:
                if not isinstance(item, dict):  # text: kept, unless too large as stored
                    text = bytes(item)
                    if len(text) <= MAX_ITEM_BYTES:
                        items.append(text)
                        encoded.append(text)
                        continue
                    item = codec.loads_exact(text)  # judged as decoded: maybe compact
                try:  # what cannot cross to the bolts as JSON is refused here, alone
                    encoded.append(codec.encode_item(item))
                except codec.Unencodable as error:
                    self.dead_lettered += 1
                    self.dead_letters.record(
                        self.source.name, "spout", f"cannot be emitted: {error}", item
                    )
                    continue
                items.append(item)
        return items, encoded

    def ack(self, message_id: int) -> None:
        entry = self.in_flight.pop(message_id, None)
        if entry is not None:
            self.pending_items -= len(entry.items)
            self.acked += len(entry.items)
            self._maybe_checkpoint()

    def fail(self, message_id: int) -> None:
        """Re-emit after a backoff, or dead-letter once it failed `max_fails` times."""
        entry = self.in_flight.get(message_id)
        if entry is None:
            return
        entry.fails += 1
        if entry.fails > self.max_fails:
            del self.in_flight[message_id]
            self.pending_items -= len(entry.items)
            self.dead_lettered += len(entry.items)
            for item in entry.items:
                self.dead_letters.record(
                    self.source.name, f"message {message_id}",
                    f"failed {entry.fails} times downstream", codec.decoded(item),
                )  # fmt: skip
            self._maybe_checkpoint()
        else:  # back off: a sink that just failed is rarely back the next millisecond
            delay = min(RETRY_BASE_S * 2 ** (entry.fails - 1), RETRY_MAX_S)
            heapq.heappush(self.retry, (self.clock() + delay, message_id))
            self.replayed += len(entry.items)
            log.warning(
                "%s: message %d (%d items) failed downstream (%d of %d); re-emitting in %.1f s",
                self.source.name, message_id, len(entry.items), entry.fails, self.max_fails,
                delay,
            )  # fmt: skip

    @property
    def done(self) -> bool:
        """End of input and nothing in flight: everything was delivered."""
        return self.exhausted and not self.in_flight

    def _maybe_checkpoint(self) -> None:
        """Save the newest mark older than every item still in flight."""
        if self.checkpoints is None:
            return
        oldest = next(iter(self.in_flight), None)
        safe = None
        while self._marks and (oldest is None or self._marks[0][0] < oldest):
            safe = self._marks.pop(0)
        if self.done:
            safe = (0, self.source.snapshot())
        if safe is not None:
            self.dead_letters.sync()  # what was skipped is on record before the position moves
            self.checkpoints.save({self.source.name: safe[1]})


class AckingSink:
    """Writes items into a sink and reports which message ids are durable."""

    def __init__(
        self,
        make_sink: Callable[[], Sink],
        *,
        latency_log: str | Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.make_sink = make_sink
        self.sink = make_sink()
        self.latency_log = None if latency_log is None else Path(latency_log)
        self.clock = clock
        # ticket of a message's last item -> (message id, when emitted, items in it)
        self._waiting: OrderedDict[int, tuple[Any, float | None, int]] = OrderedDict()

    def write(
        self, message_id: Any, items: list[Item], emitted_at: float | None = None
    ) -> tuple[list[Any], list[Any]]:
        """Write one message's items; returns (message ids now durable, message ids lost).

        A message is durable once its last item is. With `emitted_at` (epoch seconds)
        and a `latency_log`, the emit-to-durable latency of every item is appended there,
        in milliseconds, one per line.
        """
        if not items:
            return [message_id], []
        try:
            ticket = self.sink.write_batch(items)
            # A batch that aged out is stored now, not at the next tick tuple (Storm
            # sends those at most once a second): latency is the sink's batch age.
            self.sink.tick()
        except Exception as error:
            # A batch stored by an earlier item of this message is durable: ack it.
            return self._durable(), self._lose(message_id, error)
        self._waiting[ticket] = (message_id, emitted_at, len(items))
        return self._durable(), []

    def tick(self) -> tuple[list[Any], list[Any]]:
        """At a tick tuple (once a second): store what waits, whatever its age; returns
        (durable, lost) like `write`. Writes store batches by age, but when items stop
        coming (the end of a replay, a lull) the last ones would wait for the tick after
        their batch aged: up to a second more (p99 1.3-1.5 s against 0.7 s at 1,000
        items/s; only storing at every tick bounds it, Storm ticking at whole seconds).
        The cost: one store a second more at most (the warehouse sink skips it while a
        commit is in flight, rather than wait for it)."""
        try:
            self.sink.tick(age_s=0.0)
        except Exception as error:
            return [], self._lose(None, error)
        return self._durable(), []

    def close(self) -> None:
        self.sink.close()

    def _durable(self) -> list[Any]:
        done, latencies = [], []
        durable = self.sink.durable_ticket
        # when they became durable: the sink's own record of a commit that finished in
        # the background (seen at the next write or tick), else now
        durable_at = self.clock() if self.sink.durable_at is None else self.sink.durable_at
        while self._waiting and next(iter(self._waiting)) <= durable:
            message_id, emitted_at, count = self._waiting.popitem(last=False)[1]
            done.append(message_id)
            if emitted_at is not None:
                latencies += [f"{(durable_at - emitted_at) * 1000:.1f}\n"] * count
        if latencies and self.latency_log is not None:
            with open(self.latency_log, "a") as handle:
                handle.writelines(latencies)
        return done

    def _lose(self, message_id: Any, error: Exception) -> list[Any]:
        """A write failed: everything not yet durable is failed back to the spouts, and
        the sink starts afresh (its buffer may be half-written)."""
        log.warning("sink %s failed, failing %d pending tuples: %s",
                    self.sink.name, len(self._waiting) + 1, error)  # fmt: skip
        lost = [message for message, _, _ in self._waiting.values()]
        if message_id is not None:
            lost.append(message_id)
        self._waiting.clear()
        self.sink.abandon()
        self.sink = self.make_sink()
        return lost
