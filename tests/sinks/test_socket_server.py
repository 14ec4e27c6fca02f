"""The socket sink's TCP server on its own: what `interrupt` does, and that a signal
handler may call it at any moment. (Its broadcast behaviours are tested through the sink,
in test_socket.py.)"""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest

from shoot2top.sinks.socket_server import BroadcastServer, ServerStopped


@pytest.fixture
def server():
    made = BroadcastServer("127.0.0.1", 0, buffer_items=2, when_full="block", label="test")
    yield made
    made.abandon()


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.timeout(20)
def test_a_signal_handler_may_interrupt_while_its_thread_holds_the_servers_lock(server):
    """A Python signal handler runs in the main thread between two bytecodes, maybe in
    the middle of a send, the lock held: `interrupt` must not wait for that lock."""
    previous = signal.signal(signal.SIGUSR1, lambda *_: server.interrupt("stopped by USR1"))
    try:
        with server._changed:  # as in the middle of a send
            signal.raise_signal(signal.SIGUSR1)  # the handler runs here, in this thread
            assert server._interrupts == 1
    finally:
        signal.signal(signal.SIGUSR1, previous)
    server.send(b"1\n")
    server.send(b"2\n")  # room for both: accepted
    with pytest.raises(ServerStopped, match="test: stopped by USR1 while buffer full"):
        server.send(b"3\n")  # it would wait for a client: it gives up instead


def test_close_after_an_interrupt_sends_the_queues_of_connected_clients_and_a_second_cuts_it():
    """An interrupt ends the wait for a client that is not there, not the sending of what
    connected clients have queued (accepted and checkpointed); a second one ends that too."""
    for interrupts in (1, 2):
        server = BroadcastServer("127.0.0.1", 0, buffer_items=5000, when_full="block", label="test")
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.settimeout(10)
        client.connect(("127.0.0.1", server.port))
        wait_for(lambda: server.clients == 1)  # noqa: B023
        for n in range(1000):  # 10 MB: more than the kernel's buffers hold
            server.send(b'{"n": %d, "blob": "%s"}\n' % (n, b"x" * 10_000))
        server.interrupt("stopped by SIGTERM")  # the run was stopped
        closing = threading.Thread(target=server.close)
        closing.start()
        time.sleep(0.3)
        assert closing.is_alive()  # sending what the client has not read yet
        if interrupts == 2:
            server.interrupt("stopped by SIGINT")
            closing.join(timeout=1)
            assert not closing.is_alive() and server.lost_with_clients > 0
        lines = client.makefile("rb").readlines()
        closing.join(timeout=5)
        assert not closing.is_alive()
        if interrupts == 1:
            assert len(lines) == server.items_sent == 1000 and server.lost_with_clients == 0
        client.close()
