"""X API v2 REST calls (recent search, tweets lookup, stream rules) over tweepy: X's retry
schedules and what each answer means in the sources' one error taxonomy.

`XApi.attempt` makes one call and returns the decoded body or a `SourceFailure`;
`XApi.request` retries on X's documented schedule, yielding None while it waits (through
the source's `wait`), so the runner is never blocked. Network errors retry linearly from
250 ms to 16 s, 5xx exponentially from 5 s to 320 s, 429 (and the v1.1 streams' 420)
until ``x-rate-limit-reset`` when X says, else exponentially from 60 s; 401/403 raise
`SourceAuthError`; any other 4xx is a ``skip`` failure (the caller dead-letters it and
abandons the operation until its next turn).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from shoot2top import codec
from shoot2top.sources.live import Backoff, Clock, SourceAuthError, SourceFailure, retry
from shoot2top.sources.x_stream import rest_client, rules_client

log = logging.getLogger(__name__)


class Schedule:
    """X's retry schedule, one counter per kind of failure; `reset()` after a success."""

    def __init__(self) -> None:
        self.network = Backoff.linear(0.25, 0.25, 16.0)
        self.http = Backoff.exponential(5.0, 320.0)
        self.rate_limit = Backoff.exponential(60.0, 900.0)  # X's rate windows are 15 min

    def reset(self) -> None:
        for backoff in (self.network, self.http, self.rate_limit):
            backoff.reset()

    def after_network(self, reason: str) -> SourceFailure:
        return retry(reason, self.network.next_delay(), "network")

    def after_http(self, reason: str) -> SourceFailure:
        return retry(reason, self.http.next_delay(), "http")

    def after_rate_limit(self, reason: str, reset_at: float | None, now: float) -> SourceFailure:
        if reset_at is not None and reset_at > now:
            when = datetime.fromtimestamp(reset_at, UTC).strftime("%H:%M:%S")
            return retry(f"{reason} until {when} UTC", reset_at - now, "rate_limit")
        return retry(reason, self.rate_limit.next_delay(), "rate_limit")


class XApi:
    """tweepy's REST and rules clients for one source, routed to `api_url`."""

    def __init__(
        self,
        *,
        label: str,
        bearer_token: str,
        api_url: str,
        token_variable: str,
        clock: Clock,
        wait: Callable[[float], Iterator[None]],
        scrub: Callable[[str], str],
        on_response: Callable[[int], None],
        on_wait: Callable[[SourceFailure], None],
    ) -> None:
        self.label = label
        self.api_url = api_url.rstrip("/")
        self.token_variable = token_variable
        self.clock = clock
        self.wait = wait
        self.scrub = scrub
        self.on_response = on_response
        self.on_wait = on_wait
        self.client = rest_client(bearer_token, self.api_url)
        self.rules = rules_client(bearer_token, self.api_url)

    def request(
        self, what: str, call: Callable[[], requests.Response]
    ) -> Generator[None, None, dict[str, Any]]:
        """One call, retried on X's schedule while it fails transiently (yielding while
        it waits); a ``skip`` failure is raised."""
        schedule = Schedule()
        while True:
            result = self.attempt(what, call, schedule)
            if not isinstance(result, SourceFailure):
                return result
            if result.kind != "retry":
                raise result
            yield from self.back_off(what, result)

    def back_off(self, what: str, failure: SourceFailure) -> Iterator[None]:
        """Wait out a retry failure's delay, logged and recorded."""
        self.on_wait(failure)
        log.warning(
            "%s: %s: %s; retrying in %.2f s",
            self.label,
            what,
            self.scrub(failure.reason),
            failure.delay,
        )
        yield from self.wait(failure.delay)

    def attempt(
        self, what: str, call: Callable[[], requests.Response], schedule: Schedule
    ) -> dict[str, Any] | SourceFailure:
        """Make one call: its decoded body, or the failure (see `judge`)."""
        try:
            response = call()
        except tweepy.HTTPException as error:
            answer = error.response
            self.on_response(0)
            return self.judge(what, answer.status_code, answer.headers, answer.text, schedule)
        except requests.RequestException as error:
            self.on_response(0)
            return schedule.after_network(self.scrub(f"{type(error).__name__}: {error}"))
        self.on_response(len(response.content))
        try:
            body = codec.loads(response.content)
        except codec.DecodeError:
            body = None
        if not isinstance(body, dict):
            return schedule.after_http(f"{response.status_code} answer is not a JSON object")
        return body

    def judge(
        self, what: str, status: int, headers: Mapping[str, str], body: str, schedule: Schedule
    ) -> SourceFailure:
        """An HTTP error as a failure: 401/403 raise `SourceAuthError`; 420/429 and 5xx
        retry; any other status is skipped."""
        problem = problem_text(self.scrub(body))  # before it is cut to an excerpt
        if status in (401, 403):
            raise SourceAuthError(
                self.scrub(
                    f"{self.label}: X refused the bearer token (${{{self.token_variable}}}) "
                    f"with {status} {problem} at {what}; check the token and the app's access "
                    "level"
                )
            )
        if status in (420, 429):  # 420: the v1.1 streams' "enhance your calm"
            reset = headers.get("x-rate-limit-reset")
            reset_at = float(reset) if reset and reset.strip().isdigit() else None
            return schedule.after_rate_limit(f"{status} {problem}", reset_at, self.clock.time())
        if status >= 500:
            return schedule.after_http(f"{status} {problem}")
        return SourceFailure(self.scrub(f"{what} refused: {status} {problem}"), kind="skip")

    def close(self) -> None:
        self.client.session.close()
        self.rules.session.close()


def problem_text(body: str) -> str:
    """The problem an X error body states (``Title: detail``), or its first 200 chars."""
    try:
        parsed = codec.loads(body)
    except (codec.DecodeError, TypeError):
        return body.strip()[:200]
    if isinstance(parsed, dict):
        errors = dicts(parsed.get("errors"))
        return problem(parsed if "title" in parsed or not errors else errors[0])
    return body.strip()[:200]


def problem(entry: dict[str, Any]) -> str:
    """An X v2 problem as ``Title: detail``."""
    title = entry.get("title") or ""
    detail = entry.get("detail") or entry.get("message") or ""
    return f"{title}: {detail}" if title and detail else str(title or detail or entry)


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON array (anything else is left out)."""
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []
