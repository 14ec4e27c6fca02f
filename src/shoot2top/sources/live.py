"""What the live sources (X, YouTube, Facebook) share: time, waiting, backoff, errors,
and keeping their secrets out of logs, errors and dead letters.

A live source never blocks the runner for long: while it waits (a poll interval, a
backoff, a rate-limit reset) it yields ``None`` every slice so sinks can flush aged
batches and a stop request is honoured. Time comes from a `Clock`, so tests can check a
backoff schedule of minutes without waiting for it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus, unquote

from shoot2top import posts
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sources.base import Item, Source

WAIT_SLICE_S = 0.25


class SourceAuthError(RuntimeError):
    """The platform refused the credentials: retrying cannot help, the run stops."""


class Clock:
    """Wall-clock time and sleeping; `FakeClock` in the tests replaces both."""

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)


SYSTEM_CLOCK = Clock()


class Backoff:
    """A retry schedule: delays grow linearly or exponentially up to a cap.

    `next_delay()` gives the wait before the next attempt; `reset()` after a success.
    """

    def __init__(
        self, first_s: float, cap_s: float, *, linear_step_s: float = 0.0, factor: float = 2.0
    ) -> None:
        if first_s <= 0 or cap_s < first_s:
            raise ValueError(f"backoff needs 0 < first ({first_s}) <= cap ({cap_s})")
        self.first_s = first_s
        self.cap_s = cap_s
        self.linear_step_s = linear_step_s
        self.factor = factor
        self.attempts = 0

    @classmethod
    def linear(cls, first_s: float, step_s: float, cap_s: float) -> Backoff:
        return cls(first_s, cap_s, linear_step_s=step_s)

    @classmethod
    def exponential(cls, first_s: float, cap_s: float, factor: float = 2.0) -> Backoff:
        return cls(first_s, cap_s, factor=factor)

    def next_delay(self) -> float:
        if self.linear_step_s:
            delay = self.first_s + self.attempts * self.linear_step_s
        else:
            delay = self.first_s * self.factor**self.attempts
        self.attempts += 1
        return min(delay, self.cap_s)

    def reset(self) -> None:
        self.attempts = 0


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced by ``***``, as is or URL-encoded/decoded (keys
    travel in query strings; X's bearer tokens contain ``%``): for log lines and errors."""
    for secret in secrets:
        if secret:
            forms = {secret, quote(secret, safe=""), quote_plus(secret), unquote(secret)}
            for form in sorted(forms, key=len, reverse=True):
                if form:
                    text = text.replace(form, "***")
    return text


def mask_parameters(text: str, names: tuple[str, ...]) -> str:
    """`text` with the value of every ``name=value`` of these names masked (``key=***``),
    whatever the value: a URL may carry another key or token than the configured one."""
    return _parameters(names).sub(r"\1***", text)


@lru_cache(maxsize=8)
def _parameters(names: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(map(re.escape, names))
    return re.compile(rf"((?<![\w.-])(?:{alternatives})=)[^&\s\"'#]*")


def scrub_all(value: Any, clean: Callable[[str], str]) -> Any:
    """A copy of a JSON-like value (a payload, a dead-lettered item) with `clean` applied
    to every string in it, keys included; bytes are decoded first."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {
            clean(key) if isinstance(key, str) else key: scrub_all(item, clean)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_all(item, clean) for item in value]
    return value


class ScrubLogs(logging.Filter):
    """A filter for a client library's loggers, which log request URLs or headers with
    the secret in them: each record's message goes through `clean` first."""

    def __init__(self, clean: Callable[[str], str]) -> None:
        super().__init__()
        self.clean = clean

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class LiveSource(Source):
    """Base of the API sources: stamping items, waiting responsively, counting."""

    platform_source: str = "live"

    def __init__(
        self,
        name: str,
        *,
        clock: Clock = SYSTEM_CLOCK,
        secrets: Iterable[str] = (),
        dead_letters: DeadLetters | None = None,
    ) -> None:
        super().__init__(name)
        self.clock = clock
        self.secrets = tuple(secrets)
        self.dead_letters = dead_letters or DeadLetters(None)
        self.items_emitted = 0
        self.duplicates_dropped = 0
        self.api_calls = 0

    def scrub_text(self, text: str) -> str:
        """`text` without this source's secrets; a source whose URLs carry a secret
        parameter masks that too."""
        return scrub(text, self.secrets)

    def dead_letter(self, where: str, reason: str, item: Any = None) -> None:
        """Record what cannot be emitted (a malformed line, an invalid object, a refused
        call), with every secret scrubbed from the place, the reason and the item."""
        clean = self.scrub_text
        self.dead_letters.record(self.name, clean(where), clean(reason), scrub_all(item, clean))

    def wait(self, seconds: float) -> Iterator[None]:
        """Pause for `seconds` of clock time, yielding None every slice."""
        due = self.clock.time() + seconds
        while (remaining := due - self.clock.time()) > 0:
            self.clock.sleep(min(remaining, WAIT_SLICE_S))
            yield None

    def wait_until(self, moment: float) -> Iterator[None]:
        """Pause until the epoch time `moment` (a rate-limit or quota reset)."""
        return self.wait(max(0.0, moment - self.clock.time()))

    def stamp(
        self, payload_type: str, payload: dict[str, Any], how: str, topic: str | None
    ) -> Item:
        """Wrap one API payload as a streamable object observed now, with provenance
        ``<source name>.<how>`` (e.g. ``x.filtered_stream``, ``youtube.refresh``)."""
        self.items_emitted += 1
        return posts.stamp(
            payload_type,
            payload,
            observed_at=self.clock.now(),
            source=f"{self.name}.{how}",
            topic=topic,
        )

    def report(self) -> str:
        return (
            f"{self.items_emitted:,} items from {self.api_calls:,} API calls, "
            f"{self.duplicates_dropped:,} duplicates dropped"
        )
