"""tweepy wired for the X source: clients routed to the configured host, secrets kept out
of tweepy's log lines, and one filtered-stream connection read on a background thread.

tweepy hard-codes X's host (``https://api.twitter.com``). A transport adapter mounted on
each client's `requests.Session` sends those requests to `api_url` instead (a gateway, or
the fake X of the tests) and gives every call a timeout (tweepy sets none); when
`api_url` is X's own host nothing is rerouted. tweepy's stream loop reconnects by
sleeping in place, so here `StreamingClient.filter()` makes a single connection attempt;
a thread turns the response into `StreamEvent`s in a bounded queue, and the source
decides about reconnecting on its own clock without ever blocking the runner.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, Literal, NamedTuple

import requests
import tweepy
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from shoot2top.sources.live import ScrubLogs, scrub

TWEEPY_HOST = "https://api.twitter.com"
X_HOSTS = frozenset({TWEEPY_HOST, "https://api.x.com"})
REST_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0
QUEUE_EVENTS = 10_000  # a full queue stalls the reader: X then drops a too-slow client
CHUNK_BYTES = 512  # tweepy's default: about half a tweet, so lines arrive without delay
ERROR_BODY_BYTES = 64 * 1024

# referenced_tweets.id(.author_id): a retweet's original and its author (the warehouse
# credits them, not the retweeter), a quoted or replied-to tweet
EXPANSIONS = [
    "author_id",
    "attachments.media_keys",
    "referenced_tweets.id",
    "referenced_tweets.id.author_id",
]
TWEET_FIELDS = [
    "created_at",
    "public_metrics",
    "lang",
    "entities",
    "attachments",
    "author_id",
    "referenced_tweets",
    "edit_history_tweet_ids",
]
USER_FIELDS = ["public_metrics", "name", "username"]
MEDIA_FIELDS = [
    "public_metrics",  # view_count of videos
    "duration_ms",
    "type",
    "media_key",
    "preview_image_url",
    "url",
    "width",
    "height",
]
FIELDS: dict[str, Any] = {
    "expansions": EXPANSIONS,
    "tweet_fields": TWEET_FIELDS,
    "user_fields": USER_FIELDS,
    "media_fields": MEDIA_FIELDS,
}
"""The same fields and expansions on every read, so a refresh has the shape of the first
observation (tweepy turns these keyword names into ``tweet.fields`` etc.)."""


_protected: frozenset[str] = frozenset()  # replaced, never mutated: thread-safe
_SCRUBBER = ScrubLogs(lambda text: scrub(text, _protected))
for _name in ("tweepy", "tweepy.client", "tweepy.streaming"):
    logging.getLogger(_name).addFilter(_SCRUBBER)  # tweepy logs headers at DEBUG


def protect(secret: str) -> None:
    """Never let `secret` appear in a tweepy log line."""
    global _protected
    if secret:
        _protected = _protected | {secret}


class _XAdapter(HTTPAdapter):
    """Sends requests for tweepy's host to `target` (None: leave them), with a timeout."""

    def __init__(self, target: str | None, timeout_s: float) -> None:
        super().__init__()
        self.target = target
        self.timeout_s = timeout_s

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        url = request.url or ""
        if self.target is not None and url.startswith(TWEEPY_HOST + "/"):
            request.url = self.target + url[len(TWEEPY_HOST) :]
            proxies = get_environ_proxies(request.url)  # those chosen were for X's host
        timeout = self.timeout_s if timeout is None else timeout
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def route(session: requests.Session, api_url: str, timeout_s: float = REST_TIMEOUT_S) -> None:
    """Route a tweepy session's requests to `api_url` (unchanged when that is X itself)."""
    base = api_url.rstrip("/")
    session.mount(TWEEPY_HOST + "/", _XAdapter(None if base in X_HOSTS else base, timeout_s))


def rest_client(bearer_token: str, api_url: str) -> tweepy.Client:
    """Recent search and tweets lookup; responses come back raw (`requests.Response`)."""
    client = tweepy.Client(bearer_token, return_type=requests.Response)
    route(client.session, api_url)
    return client


def rules_client(bearer_token: str, api_url: str) -> tweepy.StreamingClient:
    """The filtered stream's rules endpoints (get_rules, add_rules, delete_rules)."""
    client = tweepy.StreamingClient(bearer_token, return_type=requests.Response)
    route(client.session, api_url)
    return client


class StreamEvent(NamedTuple):
    """What happened on a stream connection, in order."""

    kind: Literal["open", "line", "keepalive", "http_error", "dropped"]
    line: bytes = b""
    status: int = 0
    headers: Mapping[str, str] = {}
    body: str = ""
    reason: str = ""


class _OneConnection(tweepy.StreamingClient):
    """tweepy's StreamingClient whose `filter()` makes one connection attempt and keeps
    the response (reconnecting is the source's job, on its own clock)."""

    def __init__(self, bearer_token: str, read_timeout_s: float) -> None:
        super().__init__(bearer_token, return_type=requests.Response)
        self.read_timeout_s = read_timeout_s
        self.response: requests.Response | None = None

    def _connect(self, method: str, endpoint: str, params: Any = None, **_: Any) -> None:
        self.session.headers["Authorization"] = f"Bearer {self.bearer_token}"
        self.session.headers["User-Agent"] = self.user_agent
        self.response = self.session.request(
            method,
            f"{TWEEPY_HOST}/2/tweets/{endpoint}/stream",
            params=params,
            stream=True,
            timeout=(CONNECT_TIMEOUT_S, self.read_timeout_s),
        )


class StreamConnection:
    """One connection to ``GET /2/tweets/search/stream``, read on a daemon thread.

    Silence longer than `read_timeout_s` (no tweet, no keep-alive) ends the connection
    with a ``dropped`` event, as does any network error or the server closing it.
    """

    def __init__(self, bearer_token: str, api_url: str, read_timeout_s: float) -> None:
        self.url = f"{api_url.rstrip('/')}/2/tweets/search/stream"
        self._client = _OneConnection(bearer_token, read_timeout_s)
        route(self._client.session, api_url)
        self._secrets = (bearer_token,)
        self._events: queue.Queue[StreamEvent] = queue.Queue(maxsize=QUEUE_EVENTS)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, name="x-stream", daemon=True)
        self._thread.start()

    def next_event(self, timeout_s: float) -> StreamEvent | None:
        """The next event, or None if none arrived within `timeout_s` (real time)."""
        try:
            return self._events.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop reading; wakes the reader thread if it is blocked on the socket."""
        self._closed.set()
        response = self._client.response
        if response is not None:
            _shutdown(response)
            with suppress(Exception):
                response.close()
        self._client.session.close()
        self._thread.join(timeout=1.0)

    def _read(self) -> None:
        try:
            self._client.filter(**FIELDS)
        except Exception as error:  # requests' errors: refused, reset, timed out…
            self._put(StreamEvent("dropped", reason=self._describe(error)))
            return
        response = self._client.response
        if response is None:
            self._put(StreamEvent("dropped", reason="tweepy made no request"))
            return
        if self._closed.is_set():
            response.close()
            return
        if response.status_code != 200:
            self._put(_http_error(response))
            response.close()
            return
        self._put(StreamEvent("open", status=200, headers=response.headers))
        try:
            for line in response.iter_lines(chunk_size=CHUNK_BYTES):
                event = StreamEvent("line", line=line) if line else StreamEvent("keepalive")
                if not self._put(event):
                    return
            reason = "the server closed the stream"
        except Exception as error:  # a drop, a read timeout (silence), a reset…
            reason = self._describe(error)
        if not self._closed.is_set():
            self._put(StreamEvent("dropped", reason=reason))

    def _put(self, event: StreamEvent) -> bool:
        """Queue an event, waiting while the queue is full; False once closed."""
        while not self._closed.is_set():
            try:
                self._events.put(event, timeout=0.25)
                return True
            except queue.Full:
                continue
        return False

    def _describe(self, error: BaseException) -> str:
        if isinstance(error, requests.ConnectionError) and "timed out" in str(error).lower():
            return "no data or keep-alive within the read timeout"
        return scrub(f"{type(error).__name__}: {error}", self._secrets)


def _http_error(response: requests.Response) -> StreamEvent:
    try:
        body = response.raw.read(ERROR_BODY_BYTES, decode_content=True).decode("utf-8", "replace")
    except Exception:
        body = ""
    return StreamEvent(
        "http_error", status=response.status_code, headers=response.headers, body=body
    )


def _shutdown(response: requests.Response) -> None:
    """Shut the socket down so a read blocked on another thread returns at once."""
    connection = getattr(response.raw, "connection", None)
    sock: socket.socket | None = getattr(connection, "sock", None)
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
