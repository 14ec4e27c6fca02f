"""What the live sources (X, YouTube, Facebook) share: time, waiting, backoff, one error
taxonomy, tracking, resume state, and keeping their secrets out of logs, errors and dead
letters.

A live source never sleeps: while it waits (a poll interval, a backoff, a rate-limit
reset) it yields ``None`` at once, and `idle_s()` says until when nothing will come. The
runner does the waiting (`Pipeline` sleeps in short slices, so sinks flush aged batches
and a stop request is honoured; a spout returns from ``next_tuple`` at once and Storm
calls again). Time comes from a `Clock`, so tests can check a backoff schedule of minutes
without waiting for it (their runner sleeps on a fake clock).

Errors: every failed call is classified once, by the platform's client, as one kind of
`SourceFailure`:

- ``retry``: transient (5xx, 429 and rate limits, network errors): wait and call again;
- ``skip``: this call cannot succeed as made (a plain 4xx, a malformed answer, a spent
  quota): it is logged and dead-lettered, the operation it belonged to (a listing, a
  search pass, a refresh batch, a stream connection) is abandoned and runs again at its
  next turn; the run goes on;
- ``auth``: the credentials were refused (`SourceAuthError`): the run stops;
- ``fatal``: the configuration cannot work (a stream rule X rejects): the run stops.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import quote, quote_plus, unquote

from shoot2top import posts
from shoot2top.config import TrackingOptions
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sources.base import Item, Source
from shoot2top.sources.tracking import RefreshTracker

log = logging.getLogger(__name__)

STATE_VERSION = 2
"""The resume state's shape, the same for every live source: ``version``, ``tracker``,
``topic_of`` and the platform's own position. Version 1 (Facebook, with ``topics``) and
unversioned states (X, with ``tracking``; YouTube) are still read."""

FailureKind = Literal["retry", "skip", "auth", "fatal"]


class SourceFailure(RuntimeError):
    """A call that did not succeed, classified (see the module doc): `kind` says what
    the source does next; `delay` is the wait before a retry."""

    kind: FailureKind = "skip"

    def __init__(
        self,
        reason: str,
        *,
        kind: FailureKind | None = None,
        delay: float = 0.0,
        schedule: str = "",
    ) -> None:
        super().__init__(reason)
        if kind is not None:
            self.kind = kind
        self.reason = reason
        self.delay = delay
        self.schedule = schedule
        """The retry schedule that gave `delay` (X: network, http or rate_limit)."""

    @property
    def stops_run(self) -> bool:
        return self.kind in ("auth", "fatal")


class SourceAuthError(SourceFailure):
    """The platform refused the credentials: retrying cannot help, the run stops."""

    kind: FailureKind = "auth"


def retry(reason: str, delay: float, schedule: str = "") -> SourceFailure:
    """A transient failure: wait `delay` s and call again."""
    return SourceFailure(reason, kind="retry", delay=delay, schedule=schedule)


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


class _Gone:
    """`LiveSource._read_current`'s answer for an object that no longer exists."""

    def __repr__(self) -> str:
        return "GONE"


GONE = _Gone()

Current = dict[str, "dict[str, Any] | _Gone"]
"""What a refresh read: tracked key -> the object now, or `GONE`; a key missing was not
answered this time (it is tried again at its next step)."""


class LiveConfig(Protocol):
    """What the base reads of a live source's configuration."""

    @property
    def name(self) -> str: ...
    @property
    def tracking(self) -> TrackingOptions: ...


class LiveSource(Source):
    """Base of the API sources: stamping, waiting, counting, validating, and tracking.

    Every item a source emits is tracked (`RefreshTracker`, keyed by the source's own
    item key) with the topic it was found under; `_refresh` re-reads what is due through
    `_read_current` and emits each answer again as a new observation. The resume state
    is `snapshot()`'s one versioned shape; a subclass adds its position with
    `_position` / `_restore_position` and calls `_resume` at the end of its ``__init__``.
    """

    payload_type: ClassVar[str] = ""
    """The streamable object's type key (``tweet``, ``video``, ``post``)."""
    platform: ClassVar[str] = "live"
    """The platform's name in errors (``x source 'name': …``)."""
    refresh_batch: ClassVar[int] = 50
    """How many tracked objects one refresh call reads at most."""
    refresh_ahead_s: ClassVar[float] = 0.0
    """A refresh also takes objects due within this many seconds (fuller batches)."""
    secret_name: ClassVar[str] = ""
    """The credential's name in errors (``bearer_token``); set: it may not be empty."""

    def __init__(
        self,
        config: LiveConfig,
        *,
        secret: str = "",
        clock: Clock = SYSTEM_CLOCK,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        super().__init__(config.name)
        self.clock = clock
        self.secrets = (secret,) if secret else ()
        if self.secret_name and not secret:
            raise ValueError(f"{self.label}: {self.secret_name} is empty")
        self.dead_letters = dead_letters or DeadLetters(None)
        self.tracker = RefreshTracker.from_options(config.tracking)
        self.topic_of: dict[str, str] = {}
        """Tracked key -> the topic it was found under (its refreshes carry it too)."""
        self.items_emitted = 0
        self.duplicates_dropped = 0
        self.api_calls = 0
        self.refreshes = 0
        self.forgotten = 0
        self.refresh_blocked_until = 0.0
        """After a refresh call failed: no refresh before this (epoch s)."""
        self._wake_at: float | None = None

    @property
    def label(self) -> str:
        """How errors name this source: ``youtube source 'yt'``."""
        return f"{self.platform} source {self.name!r}"

    # ------------------------------------------------------------------ resume state

    def snapshot(self) -> dict[str, Any]:
        """The resume state after the last yielded item; reading it changes nothing."""
        tracked = self.tracker.snapshot()
        return {
            "version": STATE_VERSION,
            "tracker": tracked,
            "topic_of": {key: topic for key, topic in self.topic_of.items() if key in tracked},
            **self._position(),
        }

    def _position(self) -> dict[str, Any]:
        """The platform's own part of the resume state (watermarks, quota…)."""
        return {}

    def _restore_position(self, state: dict[str, Any]) -> None:
        """Restore what `_position` saved."""

    def _resume(self, resume: dict[str, Any] | None) -> None:
        """Restore a `snapshot()` (or an older shape: see `STATE_VERSION`)."""
        state = dict(resume or {})
        if state:
            version = state.get("version")
            if version not in (None, 1, STATE_VERSION):
                raise ValueError(
                    f"{self.label}: resume state version {version!r} is not {STATE_VERSION};"
                    " start over with --no-resume"
                )
            if version is None:  # X's and YouTube's states before versions
                state.setdefault("tracker", state.get("tracking"))  # X named it tracking
            elif version == 1:  # Facebook's version 1 named the topic map topics
                state.setdefault("topic_of", state.get("topics"))
        try:
            self.tracker.restore(state.get("tracker"), self.clock.time())
            self.topic_of = {
                key: topic
                for key, topic in (state.get("topic_of") or {}).items()
                if key in self.tracker
            }
            self._restore_position(state)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{self.label}: unusable resume state ({error})") from None

    # ------------------------------------------------------------------ items

    def scrub_text(self, text: str) -> str:
        """`text` without this source's secrets; a source whose URLs carry a secret
        parameter masks that too."""
        return scrub(text, self.secrets)

    def dead_letter(self, where: str, reason: str, item: Any = None) -> None:
        """Record what cannot be emitted (a malformed line, an invalid object, a refused
        call), with every secret scrubbed from the place, the reason and the item; and
        log it."""
        clean = self.scrub_text
        log.warning("%s: %s: %s (dead-lettered)", self.name, clean(where), clean(reason))
        self.dead_letters.record(self.name, clean(where), clean(reason), scrub_all(item, clean))

    def valid(self, payload: dict[str, Any], where: str) -> posts.PostInfo | None:
        """What `posts.describe` says of a payload; None after dead-lettering it."""
        try:
            return posts.describe({self.payload_type: payload})
        except posts.InvalidPost as error:
            self.dead_letter(where, str(error), payload)
            return None

    def track(self, key: str, published_at: float, topic: str | None) -> bool:
        """Start tracking an emitted object under `key` (False if it already was, or is
        too old), remembering its topic."""
        tracked = self.tracker.track(key, published_at, self.clock.time())
        if topic is not None:
            self.topic_of[key] = topic
            if len(self.topic_of) > 2 * max(len(self.tracker), 1000):  # keep it bounded
                self.topic_of = {k: t for k, t in self.topic_of.items() if k in self.tracker}
        return tracked

    def forget(self, key: str) -> None:
        """Stop tracking an object that no longer exists upstream."""
        self.tracker.forget(key)
        self.topic_of.pop(key, None)
        self.forgotten += 1
        log.debug("%s: %s no longer exists; forgotten", self.name, key)

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

    # ------------------------------------------------------------------ refreshes

    def refresh_due(self) -> bool:
        """Whether a refresh is due now (and not held back after a failed one)."""
        due = self.tracker.next_due()
        now = self.clock.time()
        return due is not None and due <= now and now >= self.refresh_blocked_until

    def next_refresh(self) -> float | None:
        """When the next refresh may run (epoch s), or None with nothing tracked."""
        due = self.tracker.next_due()
        return None if due is None else max(due, self.refresh_blocked_until)

    def _refresh(self) -> Iterator[Item | None]:
        """Re-read the tracked objects that are due (`refresh_batch` at most) and emit
        each again; forget those that are gone. A failed read does not block the source:
        those refreshes wait for their next step, and the next read for the failure's
        delay."""
        keys = self.tracker.due(self.clock.time() + self.refresh_ahead_s, self.refresh_batch)
        if not keys:
            return
        try:
            current = yield from self._read_current(keys)
        except SourceFailure as failure:
            if failure.stops_run:
                raise
            now = self.clock.time()
            for key in keys:
                self.tracker.refreshed(key, now)
            self.refresh_blocked_until = now + failure.delay
            log.warning(
                "%s: %s; %d refreshes skipped, next in %.2f s",
                self.name,
                self.scrub_text(failure.reason),
                len(keys),
                failure.delay,
            )
            return
        self.refresh_blocked_until = 0.0
        for key in keys:
            payload = current.get(key)
            if payload is None:  # not answered: try again at its next step
                self.tracker.refreshed(key, self.clock.time())
            elif isinstance(payload, _Gone):
                self.forget(key)
            else:
                self.tracker.refreshed(key, self.clock.time())
                item = yield from self._observed(key, payload)
                if item is not None:
                    self.refreshes += 1
                    yield item

    def refresh_until(self, moment: float) -> Iterator[Item | None]:
        """Run the refreshes that are due, then wait until `moment` (epoch s), running
        refreshes as they fall due: what a source does between its polls."""
        while True:
            if self.refresh_due():
                yield from self._refresh()
                continue
            if self.clock.time() >= moment:
                return
            due = self.next_refresh()
            yield from self.wait_until(moment if due is None else min(moment, due))

    def _read_current(self, keys: list[str]) -> Generator[None, None, Current]:
        """The tracked objects now (see `Current`); raises `SourceFailure` when the read
        failed as a whole. Yields None while it waits."""
        raise NotImplementedError(f"{type(self).__name__} does not refresh")
        yield  # pragma: no cover

    def _observed(self, key: str, payload: dict[str, Any]) -> Generator[None, None, Item | None]:
        """A refreshed object as an item (None after dead-lettering it)."""
        if self.valid(payload, f"refresh of {key}") is None:
            return None
        return self.stamp(self.payload_type, payload, "refresh", self.topic_of.get(key))
        yield  # pragma: no cover

    # ------------------------------------------------------------------ waiting

    def wait(self, seconds: float) -> Iterator[None]:
        """Pause for `seconds` of clock time: yield None (at once, without sleeping) until
        the clock has reached the end; `idle_s()` tells the runner how long is left."""
        due = self.clock.time() + seconds
        try:
            while self.clock.time() < due:
                self._wake_at = due
                yield None
        finally:
            self._wake_at = None

    def idle_s(self) -> float:
        if self._wake_at is None:
            return 0.0
        return max(0.0, self._wake_at - self.clock.time())

    def wait_until(self, moment: float) -> Iterator[None]:
        """Pause until the epoch time `moment` (a rate-limit or quota reset)."""
        return self.wait(max(0.0, moment - self.clock.time()))

    def report(self) -> str:
        return (
            f"{self.items_emitted:,} items from {self.api_calls:,} API calls, "
            f"{self.duplicates_dropped:,} duplicates dropped, {self.refreshes:,} refreshes, "
            f"{len(self.tracker):,} tracked, {self.forgotten:,} forgotten"
        )
