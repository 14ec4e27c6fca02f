"""Run a `BaseHTTPRequestHandler` class on a loopback port for the length of a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# How often the serving thread looks for a shutdown request: `shutdown()` waits up to
# this long, and the standard 0.5 s, paid by every test that serves a fake API, was a
# third of the fast loop's time.
POLL_INTERVAL_S = 0.01


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler], **attributes: object) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 (a free port) and yield its base URL.

    `attributes` are set on the server object, where handlers read shared state as
    ``self.server.<name>``. Responses go out with TCP_NODELAY, as real API servers send
    them: a handler writes the headers and the body separately, and with Nagle's
    algorithm the body waited for the client's delayed ACK, 40 ms per request.
    """
    unhurried = type(handler.__name__, (handler,), {"disable_nagle_algorithm": True})
    server = ThreadingHTTPServer(("127.0.0.1", 0), unhurried)
    server.daemon_threads = True
    for name, value in attributes.items():
        setattr(server, name, value)
    thread = threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL_S,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
