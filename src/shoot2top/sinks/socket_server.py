"""A TCP server that sends every line it is given to every connected client, in order.

The socket sink's transport, kept apart from the Sink contract (tickets, encoding, dead
letters): it knows lines of bytes (one JSON item per line, NDJSON), not items. Every line
goes to every client connected when it is sent; while no client is connected a bounded
buffer (the backlog) holds the lines, and the first client to connect receives them
first, in order.

``when_full`` decides what happens when a buffer is full (the backlog, or the queue of a
connected client that reads slower than the stream):

- ``block``: `send` waits, in `WAIT_SLICE_S` slices, until there is room (a client
  connects, or the client's queue drains). It gives up with `ServerStopped` when the
  server is closed or `interrupt` is called. `close` also waits for a client to take
  the backlog; an interrupt (before or during that wait) ends it and discards the rest
  (logged and counted).
- ``drop_oldest``: the oldest buffered line makes room; drops are counted and logged (a
  warning at most every 5 s with the running count). `send` never waits and `close`
  discards the backlog.

A client that disconnects is dropped, and so is one that accepts no byte for
`stall_timeout_s` (10 s): the lines queued for it are lost to it, never to the others.
Threads: one accepts connections and watches for disconnects, one per client sends.

Signals are not handled here: the runner owns them, and its handler calls `interrupt`,
which only sets attributes and never waits for a lock (the interrupted thread may hold it).
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Literal, cast

log = logging.getLogger(__name__)

WAIT_SLICE_S = 0.1
"""How long a blocked send or close waits before looking at stop requests again."""
STALL_TIMEOUT_S = 10.0
"""A client that accepts no byte for this long is too slow and dropped."""
DROP_WARNING_EVERY_S = 5.0
SEND_BATCH_LINES = 256
"""Lines joined into one send call (fewer system calls on a fast stream)."""


class ServerStopped(RuntimeError):
    """A blocked `send` was told to stop (interrupted, or the server closed); the line at
    hand was not accepted."""


class CannotListen(RuntimeError):
    """The server cannot listen on its host and port."""


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


class BroadcastServer:
    """Sends lines to any number of TCP clients, with a bounded buffer per client and one
    for the next client. `label` names the server in logs, errors and thread names."""

    stall_timeout_s: float = STALL_TIMEOUT_S

    def __init__(
        self,
        host: str,
        port: int,
        *,
        buffer_items: int,
        when_full: Literal["block", "drop_oldest"],
        label: str,
    ) -> None:
        self.host = host
        self.buffer_items = buffer_items
        self.when_full = when_full
        self.label = label
        self.items_sent = 0  # lines sent, summed over clients
        self.clients_served = 0
        self.dropped = 0  # by drop_oldest, from a full buffer or a full client queue
        self.lost_with_clients = 0  # queued for a client that disconnected or stalled
        self.discarded_at_close = 0  # buffered, and no client came before close
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._backlog: deque[bytes] = deque()
        self._clients: list[_Client] = []
        self._blocked_senders = 0
        # Written by `interrupt` only, with no lock: it may run in a signal handler.
        self._interrupts = 0
        self._interrupt_reason = "interrupted"
        self._closing = False
        self._closed = False
        self._last_drop_warning = self._last_wait_warning = float("-inf")
        self._senders: list[threading.Thread] = []
        self._listener = _listen(host, port, label)
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._io_thread = threading.Thread(target=self._serve, name=f"{label}-io", daemon=True)
        self._io_thread.start()
        log.info(
            "%s: listening on %s:%d (newline-delimited JSON, when_full=%s)",
            label, host, self.port, when_full,
        )  # fmt: skip

    def send(self, line: bytes) -> None:
        """Queue the line (ending in a newline) for every connected client, or buffer it.

        Raises `ServerStopped` if it had to wait (``block``) and was told to stop."""
        with self._changed:
            if self._closing:
                raise ServerStopped(f"{self.label} is closed")
            if self.when_full == "block":
                self._blocked_senders += 1
                try:
                    self._wait_until(self._has_room, self._full_message, sending=True)
                finally:
                    self._blocked_senders -= 1
            self._append(line)

    def interrupt(self, reason: str = "interrupted") -> None:
        """Make a blocked `send` give up, and `close` stop waiting for clients.

        Safe from any thread and from a signal handler: it sets two attributes and wakes
        the waiters only if their lock is free (else they see it within `WAIT_SLICE_S`)."""
        if not self._interrupts:
            self._interrupt_reason = reason
        self._interrupts += 1
        if self._lock.acquire(blocking=False):
            try:
                self._changed.notify_all()
            finally:
                self._lock.release()

    def close(self) -> None:
        """Send what can be sent, then close the clients and the listener.

        With ``block``, first wait for a client to take the backlog (unless interrupted);
        with ``drop_oldest``, discard it. Then wait for the connected clients' queues to be
        sent, until they are, the clients are dropped, or a new interrupt comes."""
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

    @property
    def clients(self) -> int:
        """Clients connected now."""
        with self._changed:
            return len(self._clients)

    @property
    def buffered(self) -> int:
        """Lines held for the next client (none is connected)."""
        with self._changed:
            return len(self._backlog)

    # -- sending (all under self._changed) -------------------------------------------------

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
                "%s: buffer full (%s items, %s): dropped %s oldest items so far",
                self.label, f"{self.buffer_items:,}", where, f"{self.dropped:,}",
            )  # fmt: skip

    def _wait_until(
        self,
        ready: Callable[[], bool],
        what: Callable[[], str],
        *,
        sending: bool = False,
        interrupts_seen: int = 0,
    ) -> None:
        """Wait in slices until `ready()`; raise `ServerStopped` on an interrupt after the
        first `interrupts_seen` ones (a send also when the server is being closed)."""
        if ready():
            return
        now = time.monotonic()
        if sending and now - self._last_wait_warning >= DROP_WARNING_EVERY_S:
            self._last_wait_warning = now
            log.warning("%s: %s", self.label, what())
        while True:
            if self._interrupts > interrupts_seen:
                raise ServerStopped(f"{self.label}: {self._interrupt_reason} while {what()}")
            if sending and self._closing:
                raise ServerStopped(f"{self.label}: closed while {what()}")
            if ready():
                return
            self._changed.wait(WAIT_SLICE_S)

    # -- closing ---------------------------------------------------------------------------

    def _drain(self) -> None:
        """Wait for a client to take the backlog (block only), then for the clients'
        queues to be sent; an interrupt or stalled clients end the wait."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            waits = self.when_full == "block" and not self._blocked_senders
            if self._backlog and waits and not self._interrupts:
                log.info(
                    "%s: waiting for a client on %s:%d to take %s buffered items "
                    "(Ctrl-C or SIGTERM discards them)",
                    self.label, self.host, self.port, f"{len(self._backlog):,}",
                )  # fmt: skip
                with suppress(ServerStopped):
                    self._wait_until(lambda: not self._backlog, lambda: "closing")
            if self._backlog:
                self.discarded_at_close += len(self._backlog)
                log.warning(
                    "%s: no client took the last %s buffered items: discarded",
                    self.label, f"{len(self._backlog):,}",
                )  # fmt: skip
                self._backlog.clear()
            with suppress(ServerStopped):
                self._wait_until(
                    self._all_sent, lambda: "closing", interrupts_seen=self._interrupts
                )

    def _all_sent(self) -> bool:
        return all(not client.queue and not client.sending for client in self._clients)

    def _shutdown(self, *, orderly: bool) -> None:
        """Stop every thread and close every socket; no thread outlives this."""
        with self._changed:
            self._closing = self._closed = True
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
        """Accept clients and notice disconnects, until the server is closed."""
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
                name=f"{self.label}-client-{client.number}",
            )  # fmt: skip
            client.thread.start()
            # a long run serves many clients (Spark reconnects): keep only live threads
            self._senders = [thread for thread in self._senders if thread.is_alive()]
            self._senders.append(client.thread)
            self._changed.notify_all()
        self._selector.register(sock, selectors.EVENT_READ, client)
        log.info(
            "%s: client %d connected from %s (%s buffered items go first)",
            self.label, client.number, peer, f"{buffered:,}",
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
            "%s: client %d (%s) %s after %s items; %s unsent items dropped",
            self.label, client.number, client.peer, why, f"{client.sent:,}", f"{unsent:,}",
        )  # fmt: skip


def _listen(host: str, port: int, label: str) -> socket.socket:
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
        raise CannotListen(
            f"{label}: cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None
    return listener


def _send_all(sock: socket.socket, data: bytes) -> None:
    """Like sendall, but the socket's timeout bounds each send that makes no progress,
    not the whole transfer: a slow but steady client is not a stalled one."""
    view = memoryview(data)
    while view:
        view = view[sock.send(view) :]
