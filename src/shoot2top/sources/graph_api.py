"""Facebook Graph API reads over a `requests.Session`: throttling, retries, error codes.

`GraphClient.get` is a generator: it yields None while it waits (a throttle pause, a
backoff) so the source never blocks the runner, and returns the decoded JSON object.
Every response's usage headers (``X-App-Usage``, ``X-Business-Use-Case-Usage``,
``X-Page-Usage``) set the pace: at ``throttle_at_pct`` calls are spread out, and an
announced ``estimated_time_to_regain_access`` is waited out. The access token travels
only in the ``Authorization`` header; URLs the API hands back (``paging.next`` carries
``access_token=…``) are stripped of it before they are followed, logged or stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from shoot2top import codec
from shoot2top.sources.live import (
    Backoff,
    Clock,
    SourceAuthError,
    SourceFailure,
    mask_parameters,
    scrub,
    scrub_all,
)

log = logging.getLogger(__name__)

THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001})  # app, user, Page, API, Pages-BUC limits
AUTH_CODES = frozenset({102, 104, 190})  # session invalid, token missing, token expired/invalid
TRANSIENT_CODES = frozenset({1, 2})  # "unknown error", "service temporarily unavailable"
GONE_CODES = frozenset({803})  # "some of the aliases you requested do not exist"
GONE_SUBCODE = 33  # code 100 "Object with ID … does not exist"
TOKEN_PARAMS = ("access_token", "appsecret_proof")
USAGE_HEADERS = ("X-App-Usage", "X-Page-Usage", "X-Business-Use-Case-Usage")
USAGE_FIELDS = ("call_count", "total_cputime", "total_time")

SLOW_MIN_S = 10.0  # spacing between calls when usage reaches the threshold…
SLOW_MAX_S = 120.0  # …growing linearly to this at 100 %
TRANSIENT_BACKOFF = (2.0, 320.0)  # 5xx, network errors, codes 1/2: first, cap (s)
TRANSIENT_ATTEMPTS = 8  # then the call fails (about 8 minutes of retrying)
THROTTLED_BACKOFF = (60.0, 1800.0)  # throttling error without a regain time
TIMEOUT_S = (10.0, 60.0)  # connect, read
BODY_EXCERPT = 300


class GraphError(SourceFailure):
    """A call that failed for good (a ``skip``: not retried); the message names the URL
    and the code."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        status: int | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message, kind="skip")
        self.code = code
        self.subcode = subcode
        self.status = status
        self.body = body

    @property
    def gone(self) -> bool:
        """The object does not exist (deleted, or never visible to this token)."""
        return self.code in GONE_CODES or (self.code == 100 and self.subcode == GONE_SUBCODE)


class GraphMalformed(GraphError):
    """A successful status whose body is not the JSON object the API documents."""


@dataclass(frozen=True)
class Usage:
    """What the usage headers of one response say: the highest percentage and how long
    until access is regained (s, 0 when not blocked)."""

    pct: float = 0.0
    regain_s: float = 0.0


def read_usage(headers: Mapping[str, str]) -> Usage:
    """The highest of every usage percentage in the headers, and the longest announced
    ``estimated_time_to_regain_access`` (minutes in the header, seconds here)."""
    pct = regain_min = 0.0
    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if not raw:
            continue
        try:
            value = codec.loads(raw)
        except codec.DecodeError:
            log.debug("unreadable %s header ignored", name)
            continue
        # X-App-Usage / X-Page-Usage: one object; BUC: {business id: [object, ...]}
        entries = [value] if name != "X-Business-Use-Case-Usage" else _buc_entries(value)
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            pct = max([pct, *(_number(entry.get(field)) for field in USAGE_FIELDS)])
            regain_min = max(regain_min, _number(entry.get("estimated_time_to_regain_access")))
    return Usage(pct, regain_min * 60.0)


def _buc_entries(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        return []
    return [entry for entries in value.values() if isinstance(entries, list) for entry in entries]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def pacing_delay(pct: float, threshold_pct: float) -> float:
    """Seconds to leave between calls at this usage: none below the threshold, then
    `SLOW_MIN_S` growing linearly to `SLOW_MAX_S` at 100 %."""
    if pct < threshold_pct:
        return 0.0
    span = 100.0 - threshold_pct
    fraction = 1.0 if span <= 0 else min(1.0, (pct - threshold_pct) / span)
    return SLOW_MIN_S + fraction * (SLOW_MAX_S - SLOW_MIN_S)


def strip_token(url: str) -> str:
    """`url` without its token parameters (``access_token``, ``appsecret_proof``)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = [(k, v) for k, v in query if k not in TOKEN_PARAMS]
    if len(kept) == len(query):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def clean(text: str, token: str) -> str:
    """`text` without the token: a URL loses its token parameters, other text has their
    values masked, and the token itself is replaced by ``***`` wherever it is."""
    if "access_token=" in text or "appsecret_proof=" in text:
        is_url = text.startswith(("https://", "http://")) and not any(
            char.isspace() for char in text
        )
        text = strip_token(text) if is_url else mask_parameters(text, TOKEN_PARAMS)
    return scrub(text, [token])


def redact(value: Any, token: str) -> Any:
    """A copy of an API payload with `clean` applied to every string in it (nested
    ``paging`` links carry the token)."""
    return scrub_all(value, lambda text: clean(text, token))


class GraphClient:
    """GETs against one Graph API host and version with the retry and throttle policy."""

    def __init__(
        self,
        *,
        name: str,
        api_url: str,
        token: str,
        clock: Clock,
        wait: Callable[[float], Iterator[None]],
        throttle_at_pct: float,
        on_response: Callable[[int], None] = lambda size: None,
    ) -> None:
        self.name = name
        self.base = api_url.rstrip("/")
        origin = urlsplit(self.base)
        self._origin = (origin.scheme, origin.netloc)
        self.token = token
        self.clock = clock
        self.wait = wait
        self.throttle_at_pct = throttle_at_pct
        self.on_response = on_response
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.next_call_at = 0.0
        self.usage = Usage()
        self.throttled_s = 0.0
        self._transient = Backoff.exponential(*TRANSIENT_BACKOFF)
        self._throttled = Backoff.exponential(*THROTTLED_BACKOFF)

    def describe(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """The URL of a call, safe to log: no token in it (and ``fields`` elided)."""
        query = {
            key: "..." if key == "fields" else value
            for key, value in (params or {}).items()
            if key not in TOKEN_PARAMS
        }
        url = self.base + path + ("?" + urlencode(query) if query else "")
        return self.safe(url)

    def safe(self, text: str) -> str:
        """`text` (a URL, an error message) without the token."""
        return clean(text, self.token)

    def follow(self, next_url: str) -> tuple[str, dict[str, str]]:
        """The path and parameters of a ``paging.next`` URL, token removed. It is always
        requested from the configured API host: the token never goes anywhere else."""
        parts = urlsplit(next_url)
        if (parts.scheme, parts.netloc) != self._origin:
            log.warning(
                "%s: paging link to another host (%s), followed on %s",
                self.name,
                self.safe(parts.netloc),
                self.base,
            )
        params = {
            key: value
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if key not in TOKEN_PARAMS
        }
        return parts.path, params

    def get(self, path: str, params: Mapping[str, str]) -> Generator[None, None, dict[str, Any]]:
        """GET `path` (below the API root) and return the JSON object; yields None while
        waiting. Retries throttling (forever, at the announced pace), 5xx, network
        errors and codes 1/2 (`TRANSIENT_ATTEMPTS` times); raises `SourceAuthError` on a
        refused token and `GraphError` on anything else."""
        where = self.describe(path, params)
        transient_failures = 0
        while True:
            yield from self.wait(max(0.0, self.next_call_at - self.clock.time()))
            try:
                response = self.session.get(self.base + path, params=params, timeout=TIMEOUT_S)
            except requests.RequestException as error:
                problem = f"{type(error).__name__}: {error}"
                transient_failures += 1
                yield from self._retry_transient(where, problem, transient_failures)
                continue
            self.on_response(len(response.content))
            self._observe(response.headers)
            body = _json(response)
            api_error = body.get("error") if isinstance(body, dict) else None
            status = response.status_code
            if isinstance(api_error, dict):
                code = api_error.get("code")
                if code in AUTH_CODES or status == 401:
                    raise SourceAuthError(self._auth_message(where, api_error))
                if code in THROTTLE_CODES or status == 429:
                    yield from self._wait_throttled(where, _error_text(api_error), response.headers)
                    continue
                if (
                    code in TRANSIENT_CODES
                    or api_error.get("is_transient") is True
                    or status >= 500
                ):
                    transient_failures += 1
                    yield from self._retry_transient(
                        where, _error_text(api_error), transient_failures
                    )
                    continue
                raise GraphError(
                    self.safe(f"GET {where}: {_error_text(api_error)} (HTTP {status})"),
                    code=code if isinstance(code, int) else None,
                    subcode=_int(api_error.get("error_subcode")),
                    status=status,
                )
            if status >= 500 or status == 429:
                transient_failures += 1
                yield from self._retry_transient(where, f"HTTP {status}", transient_failures)
                continue
            if status == 401:
                raise SourceAuthError(self.safe(f"{self.name}: GET {where}: HTTP 401"))
            if status >= 400 or not isinstance(body, dict):
                excerpt = self.safe(response.text)[:BODY_EXCERPT]  # cut once scrubbed
                kind = GraphError if status >= 400 else GraphMalformed
                what = "not a JSON object" if status < 400 else f"HTTP {status}"
                raise kind(self.safe(f"GET {where}: {what}"), status=status, body=excerpt)
            self._transient.reset()
            self._throttled.reset()
            return body

    def close(self) -> None:
        self.session.close()

    def _observe(self, headers: Mapping[str, str]) -> None:
        """Set the earliest time of the next call from this response's usage headers."""
        self.usage = read_usage(headers)
        delay = max(pacing_delay(self.usage.pct, self.throttle_at_pct), self.usage.regain_s)
        if delay:
            log.info(
                "%s: API usage at %.0f%% (threshold %.0f%%): next call in %.0f s",
                self.name,
                self.usage.pct,
                self.throttle_at_pct,
                delay,
            )
            self.throttled_s += delay
        self.next_call_at = self.clock.time() + delay

    def _wait_throttled(
        self, where: str, problem: str, headers: Mapping[str, str]
    ) -> Iterator[None]:
        regain = read_usage(headers).regain_s
        delay = regain or self._throttled.next_delay()
        log.warning(
            "%s: GET %s throttled (%s); retrying in %.0f s",
            self.name,
            where,
            self.safe(problem),
            delay,
        )
        self.throttled_s += delay
        self.next_call_at = max(self.next_call_at, self.clock.time() + delay)
        yield from self.wait(delay)

    def _retry_transient(self, where: str, problem: str, failures: int) -> Iterator[None]:
        if failures > TRANSIENT_ATTEMPTS:
            self._transient.reset()
            raise GraphError(self.safe(f"GET {where}: {problem}; gave up after {failures} tries"))
        delay = self._transient.next_delay()
        log.warning(
            "%s: GET %s failed (%s); retrying in %.0f s",
            self.name,
            where,
            self.safe(problem),
            delay,
        )
        yield from self.wait(delay)

    def _auth_message(self, where: str, error: dict[str, Any]) -> str:
        return self.safe(
            f"{self.name}: the Graph API refused the access token ({_error_text(error)}) on "
            f"GET {where}; renew the token (a Page or system-user token with pages_read_engagement"
            " and read_insights) and restart; not retrying"
        )


def _json(response: requests.Response) -> Any:
    try:
        return codec.loads(response.content)
    except codec.DecodeError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _error_text(error: dict[str, Any]) -> str:
    """``error 190/463: Error validating access token… (fbtrace_id X)``."""
    code = error.get("code")
    subcode = error.get("error_subcode")
    label = f"error {code}" + (f"/{subcode}" if subcode is not None else "")
    text = f"{label}: {error.get('message', 'no message')}"
    trace = error.get("fbtrace_id")
    return f"{text} (fbtrace_id {trace})" if trace else text
