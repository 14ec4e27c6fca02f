"""The socket sink: serves the stream as newline-delimited JSON on a TCP port, for Spark.

Spark Structured Streaming's ``socket`` source (and ``nc``, or any program) connects as
a client and reads one item per line. Every item goes to every client connected when it
is written; while no client is connected a bounded buffer holds the items, and the first
client to connect receives them first, in order. Spark's socket source only reads what is
sent after it connects and keeps no offsets, so this buffer is what makes a replay reach
it whole.

Delivery and durability, honestly: a socket has no durable storage. An item counts as
*durable* (``durable_ticket``) as soon as the sink has accepted it, that is queued it for
every connected client or put it in the buffer. So the runner's checkpoint and Storm's ack
mean "handed to the socket sink", not "read by Spark": a crash, a client that disconnects
or stalls, or a stop while items wait for a client loses those items, and no replay sends
them again. That matches Spark's socket source, which is not fault tolerant either; the
lake, not this sink, is the system of record.

``when_full`` decides what happens when a buffer is full (the no-client buffer, or the
queue of a connected client that reads slower than the stream):

- ``block``: ``write`` waits, in 0.1 s slices, until there is room (a client connects, or
  the client's queue drains). It gives up with `SinkStopped` when `interrupt` or `close`
  is called from another thread, or when SIGINT/SIGTERM arrives: while it waits in the
  main thread the sink chains itself to the handlers installed then (the runner's stop
  handler, so the runner still sees its stop request; Python's KeyboardInterrupt
  otherwise). `close` also waits for a client to take what is buffered, so a replay that
  ends before Spark connects is not thrown away; one Ctrl-C (or `interrupt`) ends that
  wait and discards the rest (logged and counted).
- ``drop_oldest``: the oldest buffered item makes room; drops are counted and logged (a
  warning at most every 5 s with the running count). ``write`` never waits and `close`
  discards what no client took.

A client that disconnects is dropped, and so is one that accepts no byte for
`stall_timeout_s` (10 s): the items queued for it are lost to it, never to the others.
Threads: one accepts connections and watches for disconnects, one per client sends.
"""

from __future__ import annotations

import logging
import selectors
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, cast

from shoot2top.config import SocketSinkConfig
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sinks.base import Sink

log = logging.getLogger(__name__)

WAIT_SLICE_S = 0.1
"""How long a blocked write or close waits before looking at stop requests again."""
STALL_TIMEOUT_S = 10.0
"""A client that accepts no byte for this long is too slow and dropped."""
DROP_WARNING_EVERY_S = 5.0
SEND_BATCH_LINES = 256
"""Lines joined into one send call (fewer system calls on a fast stream)."""


class SinkStopped(RuntimeError):
    """A blocked write (or close) was told to stop; the item at hand was not accepted."""


class SocketSinkError(RuntimeError):
    """The sink cannot listen on its host and port."""


@dataclass(eq=False)
class _Client:
    number: int
    sock: socket.socket
    peer: str
    queue: deque[bytes] = field(default_factory=deque)
    sending: int = 0  # lines taken from the queue and being sent now
    sent: int = 0
    gone: bool = False
    thread: threading.Thread | None = None


class SocketSink(Sink):
    """Serves items as NDJSON to any number of TCP clients, with a bounded buffer."""

    stall_timeout_s: float = STALL_TIMEOUT_S

    def __init__(
        self, config: SocketSinkConfig, *, dead_letters: DeadLetters | None = None
    ) -> None:
        super().__init__(config.name, dead_letters=dead_letters)
        self.host = config.host
        self.buffer_items = config.buffer_items
        self.when_full = config.when_full
        self.items_sent = 0  # lines sent, summed over clients
        self.clients_served = 0
        self.dropped = 0  # by drop_oldest, from a full buffer or a full client queue
        self.lost_with_clients = 0  # queued for a client that disconnected or stalled
        self.discarded_at_close = 0  # buffered, and no client came before close
        self._changed = threading.Condition(threading.Lock())
        self._backlog: deque[bytes] = deque()
        self._clients: list[_Client] = []
        self._blocked_writers = 0
        self._stop_reason: str | None = None  # set by interrupt(), a signal or close()
        self._closing = False
        self._closed = False
        self._last_drop_warning = self._last_wait_warning = float("-inf")
        self._senders: list[threading.Thread] = []
        self._listener = _listen(config.host, config.port, config.name)
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._io_thread = threading.Thread(
            target=self._serve, name=f"socket-sink-{self.name}-io", daemon=True
        )
        self._io_thread.start()
        log.info(
            "socket sink %r: listening on %s:%d (newline-delimited JSON, when_full=%s)",
            self.name, self.host, self.port, self.when_full,
        )  # fmt: skip

    # -- the Sink contract ---------------------------------------------------------------

    def write(self, item: dict[str, Any]) -> int:
        """Queue the item for every connected client (or buffer it); durable once accepted.

        Raises `SinkStopped` if it had to wait (``block``) and was told to stop."""
        self._write(item)
        self.last_ticket += 1
        self.durable_ticket = self.last_ticket
        return self.last_ticket

    def _write(self, item: dict[str, Any]) -> None:
        encoded = self._encode(item)
        if encoded is None:
            return
        line = encoded + b"\n"
        with self._changed:
            if self._closing:
                raise SinkStopped(f"socket sink {self.name!r} is closed")
            if self.when_full == "block":
                self._blocked_writers += 1
                try:
                    self._wait_until(self._has_room, self._full_message, writing=True)
                finally:
                    self._blocked_writers -= 1
            self._append(line)

    def _store(self) -> None:
        """Nothing to store: items are durable as soon as they are accepted."""

    def interrupt(self, reason: str = "interrupted") -> None:
        """Make a blocked write (and close's wait for a client) give up; thread-safe, but
        not for a signal handler (SIGINT/SIGTERM are handled, see the module docstring)."""
        with self._changed:
            self._stop_reason = self._stop_reason or reason
            self._changed.notify_all()

    def close(self) -> None:
        """Send what can be sent, then close the clients and the listener.

        With ``block``, first wait for a client to take what is buffered (see the module
        docstring for how to end that wait); with ``drop_oldest``, discard it."""
        if self._closed:
            return
        try:
            self._drain()
        finally:
            self._shutdown(orderly=True)

    def abandon(self) -> None:
        """Close at once: drop whatever is buffered or queued, send nothing more."""
        if not self._closed:
            self._shutdown(orderly=False)

    def report(self) -> str:
        text = (
            f"{self.items_sent:,} items sent to {self.clients_served:,} client(s) served, "
            f"{self.dropped:,} dropped"
        )
        if self.lost_with_clients:
            text += f", {self.lost_with_clients:,} lost with disconnected clients"
        if self.discarded_at_close:
            text += f", {self.discarded_at_close:,} discarded at close (no client)"
        return text

    @property
    def clients(self) -> int:
        """Clients connected now."""
        with self._changed:
            return len(self._clients)

    @property
    def buffered(self) -> int:
        """Items held for the next client (none is connected)."""
        with self._changed:
            return len(self._backlog)

    # -- writing (all under self._changed) --------------------------------------------------

    def _has_room(self) -> bool:
        if self._clients:
            return all(len(client.queue) < self.buffer_items for client in self._clients)
        return len(self._backlog) < self.buffer_items

    def _full_message(self) -> str:
        if self._clients:
            return f"a client's queue is full ({self.buffer_items:,} items): waiting for it"
        return (
            f"buffer full ({self.buffer_items:,} items) and no client connected on "
            f"{self.host}:{self.port}: waiting for one"
        )

    def _append(self, line: bytes) -> None:
        queues = [client.queue for client in self._clients] or [self._backlog]
        for queue in queues:
            if len(queue) >= self.buffer_items:  # drop_oldest (block has waited for room)
                queue.popleft()
                self._count_drop()
            queue.append(line)
        self._changed.notify_all()

    def _count_drop(self) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._last_drop_warning >= DROP_WARNING_EVERY_S:
            self._last_drop_warning = now
            where = "a client reads too slowly" if self._clients else "no client connected"
            log.warning(
                "socket sink %r: buffer full (%s items, %s): dropped %s oldest items so far",
                self.name, f"{self.buffer_items:,}", where, f"{self.dropped:,}",
            )  # fmt: skip

    def _wait_until(
        self, ready: Callable[[], bool], what: Callable[[], str], *, writing: bool = False
    ) -> None:
        """Wait in slices until `ready()`; raise `SinkStopped` when told to stop (a write
        also when the sink is being closed)."""
        if ready():
            return
        now = time.monotonic()
        if writing and now - self._last_wait_warning >= DROP_WARNING_EVERY_S:
            self._last_wait_warning = now
            log.warning("socket sink %r: %s", self.name, what())
        with self._signals_interrupt():
            while True:
                if self._stop_reason or (writing and self._closing):
                    reason = self._stop_reason or "closed"
                    raise SinkStopped(f"socket sink {self.name!r}: {reason} while {what()}")
                if ready():
                    return
                self._changed.wait(WAIT_SLICE_S)

    @contextmanager
    def _signals_interrupt(self) -> Iterator[None]:
        """While waiting in the main thread, SIGINT/SIGTERM also end the wait: chain to
        the current Python handlers (e.g. the runner's stop request) and restore them."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous: dict[int, Callable[..., Any]] = {}

        def handle(signum: int, frame: Any) -> None:
            self._stop_reason = self._stop_reason or f"stopped by {signal.Signals(signum).name}"
            previous[signum](signum, frame)

        for signum in (signal.SIGINT, signal.SIGTERM):
            current = signal.getsignal(signum)
            if callable(current):
                previous[signum] = current
                signal.signal(signum, handle)
        try:
            yield
        finally:
            for restored, handler in previous.items():
                if signal.getsignal(restored) is handle:
                    signal.signal(restored, handler)

    # -- closing ---------------------------------------------------------------------------

    def _drain(self) -> None:
        """Wait for a client to take the buffer (block only), then for the clients'
        queues to be sent; a stop request or stalled clients end the wait."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            if self._backlog and self.when_full == "block" and not self._blocked_writers:
                log.info(
                    "socket sink %r: waiting for a client on %s:%d to take %s buffered items "
                    "(Ctrl-C or SIGTERM discards them)",
                    self.name, self.host, self.port, f"{len(self._backlog):,}",
                )  # fmt: skip
                with suppress(SinkStopped):
                    self._wait_until(lambda: not self._backlog, lambda: "closing")
            if self._backlog:
                self.discarded_at_close += len(self._backlog)
                log.warning(
                    "socket sink %r: no client took the last %s buffered items: discarded",
                    self.name, f"{len(self._backlog):,}",
                )  # fmt: skip
                self._backlog.clear()
            with suppress(SinkStopped):
                self._wait_until(self._all_sent, lambda: "closing")

    def _all_sent(self) -> bool:
        return all(not client.queue and not client.sending for client in self._clients)

    def _shutdown(self, *, orderly: bool) -> None:
        """Stop every thread and close every socket; no thread outlives this."""
        with self._changed:
            self._closing = self._closed = True
            self._stop_reason = self._stop_reason or "closed"
            clients = list(self._clients)
            for client in clients:
                self._lose_queue(client)
            self._changed.notify_all()
        for client in clients:
            with suppress(OSError):  # FIN after the bytes already sent; abandon cuts it
                client.sock.shutdown(socket.SHUT_WR if orderly else socket.SHUT_RDWR)
        for thread in self._senders:
            thread.join()
        self._io_thread.join()

    def _lose_queue(self, client: _Client) -> None:
        self.lost_with_clients += len(client.queue) + client.sending
        client.queue.clear()
        client.sending = 0

    # -- the threads -------------------------------------------------------------------

    def _serve(self) -> None:
        """Accept clients and notice disconnects, until the sink is closed."""
        try:
            while not self._closed:
                for key, _ in self._selector.select(WAIT_SLICE_S):
                    if key.fileobj is self._listener:
                        self._accept()
                    else:
                        self._read(key.data, key.fileobj)
        finally:
            for key in list(self._selector.get_map().values()):
                self._selector.unregister(key.fileobj)
                with suppress(OSError):
                    # only sockets are registered: the listener and the clients
                    cast(socket.socket, key.fileobj).close()
            self._selector.close()

    def _accept(self) -> None:
        try:
            sock, address = self._listener.accept()
        except OSError:
            return
        peer = f"{address[0]}:{address[1]}"
        sock.settimeout(self.stall_timeout_s)
        with self._changed:
            if self._closed:
                sock.close()
                return
            self.clients_served += 1
            client = _Client(self.clients_served, sock, peer)
            buffered = len(self._backlog)
            client.queue, self._backlog = self._backlog, deque()
            self._clients.append(client)
            client.thread = threading.Thread(
                target=self._send, args=(client,), daemon=True,
                name=f"socket-sink-{self.name}-client-{client.number}",
            )  # fmt: skip
            client.thread.start()
            # a long run serves many clients (Spark reconnects): keep only live threads
            self._senders = [thread for thread in self._senders if thread.is_alive()]
            self._senders.append(client.thread)
            self._changed.notify_all()
        self._selector.register(sock, selectors.EVENT_READ, client)
        log.info(
            "socket sink %r: client %d connected from %s (%s buffered items go first)",
            self.name, client.number, peer, f"{buffered:,}",
        )  # fmt: skip

    def _read(self, client: _Client, sock: Any) -> None:
        """Clients send nothing; what they send is ignored. End of stream = disconnect."""
        try:
            data = sock.recv(65536, socket.MSG_DONTWAIT)
        except (BlockingIOError, TimeoutError):
            return
        except OSError as error:
            data, why = b"", f"disconnected ({error.strerror or error})"
        else:
            why = "disconnected"
        if data:
            return
        self._drop(client, why)
        self._selector.unregister(sock)
        sock.close()

    def _send(self, client: _Client) -> None:
        """Send the client's queue in order; drop the client if it is gone or stalls."""
        while True:
            with self._changed:
                while not client.queue and not client.gone and not self._closed:
                    self._changed.wait(WAIT_SLICE_S)
                if client.gone or not client.queue:
                    return
                count = min(len(client.queue), SEND_BATCH_LINES)
                batch = [client.queue.popleft() for _ in range(count)]
                client.sending = len(batch)
            try:
                _send_all(client.sock, b"".join(batch))
            except TimeoutError:
                self._drop(client, f"too slow: accepted nothing for {self.stall_timeout_s:g} s")
                return
            except OSError as error:
                self._drop(client, f"disconnected ({error.strerror or error})")
                return
            with self._changed:
                if client.sending:  # not already counted as lost by a close
                    client.sent += len(batch)
                    self.items_sent += len(batch)
                client.sending = 0
                self._changed.notify_all()

    def _drop(self, client: _Client, why: str) -> None:
        """Forget a client that disconnected or stalled; the others go on."""
        with self._changed:
            if client.gone:
                return
            client.gone = True
            if client in self._clients:
                self._clients.remove(client)
            unsent = len(client.queue) + client.sending
            self._lose_queue(client)
            self._changed.notify_all()
        with suppress(OSError):  # wakes its sender; the accept thread closes the socket
            client.sock.shutdown(socket.SHUT_RDWR)
        log.warning(
            "socket sink %r: client %d (%s) %s after %s items; %s unsent items dropped",
            self.name, client.number, client.peer, why, f"{client.sent:,}", f"{unsent:,}",
        )  # fmt: skip


def _listen(host: str, port: int, name: str) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        # IPv4 first: "localhost" then means 127.0.0.1, which is what clients try first
        found.sort(key=lambda info: info[0] != socket.AF_INET)
        family, kind, proto, _, address = found[0]
        listener = socket.socket(family, kind, proto)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen()
        except BaseException:
            listener.close()
            raise
    except OSError as error:
        raise SocketSinkError(
            f"socket sink {name!r}: cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None
    return listener


def _send_all(sock: socket.socket, data: bytes) -> None:
    """Like sendall, but the socket's timeout bounds each send that makes no progress,
    not the whole transfer: a slow but steady client is not a stalled one."""
    view = memoryview(data)
    while view:
        view = view[sock.send(view) :]
