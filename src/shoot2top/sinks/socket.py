"""The socket sink: serves the stream as newline-delimited JSON on a TCP port, for Spark.

Spark Structured Streaming's ``socket`` source (and ``nc``, or any program) connects as
a client and reads one item per line. The sink is an adapter over `BroadcastServer`
(``socket_server.py``), which holds the TCP side: every item goes to every client
connected when it is written; while no client is connected a bounded buffer holds the
items, and the first client to connect receives them first, in order. Spark's socket
source only reads what is sent after it connects and keeps no offsets, so this buffer is
what makes a replay reach it whole.

Delivery and durability, honestly: a socket has no durable storage. An item counts as
*durable* (``durable_ticket``) as soon as the sink has accepted it, that is queued it for
every connected client or put it in the buffer. So the runner's checkpoint and Storm's ack
mean "handed to the socket sink", not "read by Spark": a crash, a client that disconnects
or stalls, or a stop while items wait for a client loses those items, and no replay sends
them again. That matches Spark's socket source, which is not fault tolerant either; the
lake, not this sink, is the system of record.

``when_full`` decides what happens when a buffer is full (the no-client buffer, or the
queue of a connected client that reads slower than the stream):

- ``block``: ``write`` waits until there is room (a client connects, or the client's
  queue drains). It gives up with `SinkStopped`, the item not accepted, when `interrupt`
  or `close` is called. The runner's SIGINT/SIGTERM handler calls `interrupt`
  (`stop_on_signals`): the sink installs no signal handler of its own. `close` also waits
  for a client to take what is buffered, so a replay that ends before Spark connects is
  not thrown away; one Ctrl-C (or `interrupt`, also one that came before `close`) ends
  that wait and discards the rest (logged and counted).
- ``drop_oldest``: the oldest buffered item makes room; drops are counted and logged (a
  warning at most every 5 s with the running count). ``write`` never waits and `close`
  discards what no client took.

A client that disconnects is dropped, and so is one that accepts no byte for
``stall_timeout_s`` (10 s): the items queued for it are lost to it, never to the others.
"""

from __future__ import annotations

from typing import Any

from shoot2top.config import SocketSinkConfig
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sinks.base import Sink
from shoot2top.sinks.socket_server import BroadcastServer, CannotListen, ServerStopped


class SinkStopped(RuntimeError):
    """A blocked write was told to stop (interrupted, or the sink closed); the item at
    hand was not accepted."""


class SocketSinkError(RuntimeError):
    """The sink cannot listen on its host and port."""


class SocketSink(Sink):
    """Serves items as NDJSON to any number of TCP clients, with a bounded buffer."""

    def __init__(
        self, config: SocketSinkConfig, *, dead_letters: DeadLetters | None = None
    ) -> None:
        super().__init__(config.name, dead_letters=dead_letters)
        try:
            self.server = BroadcastServer(
                config.host,
                config.port,
                buffer_items=config.buffer_items,
                when_full=config.when_full,
                label=f"socket sink {config.name!r}",
            )
        except CannotListen as error:
            raise SocketSinkError(str(error)) from None
        self.port = self.server.port

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
        try:
            self.server.send(encoded + b"\n")
        except ServerStopped as error:
            raise SinkStopped(str(error)) from None

    def _store(self) -> None:
        """Nothing to store: items are durable as soon as they are accepted."""

    def interrupt(self, reason: str = "interrupted") -> None:
        """Make a blocked write, and close's wait for a client, give up (signal-safe)."""
        self.server.interrupt(reason)

    def close(self) -> None:
        """Send what can be sent, then close the clients and the listener (see the module
        docstring for the wait for a client and how to end it)."""
        self.server.close()

    def _abandon(self) -> None:
        """Close at once: drop whatever is buffered or queued, send nothing more."""
        self.server.abandon()

    def report(self) -> str:
        server = self.server
        text = (
            f"{server.items_sent:,} items sent to {server.clients_served:,} client(s) served, "
            f"{server.dropped:,} dropped"
        )
        if server.lost_with_clients:
            text += f", {server.lost_with_clients:,} lost with disconnected clients"
        if server.discarded_at_close:
            text += f", {server.discarded_at_close:,} discarded at close (no client)"
        return text
