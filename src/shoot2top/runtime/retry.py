"""One retry policy for every store the platform talks to: S3, local disk, PostgreSQL.

A fault — a refused or reset connection, a timeout, throttling, a 5xx, an I/O error — is
not bad data: the call is retried with exponential backoff (first wait `first_wait_s`,
doubling up to `max_wait_s`) for up to `max_s`, each retry logged with the component and
what failed. Past `max_s` the call raises `Exhausted` and the run stops, its checkpoint
still before what was not read or written. Permanent errors (refused credentials, a
missing bucket or database) are raised at once. A call still running after
`stall_warn_s` is logged as stalled, and again every `STALL_REPEAT_S`, while it runs.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
STALL_REPEAT_S = 30.0


_long_running = False


def expect_outages_from_the_start() -> None:
    """This process runs unattended (a Storm worker): a store it has never reached is
    down, not misconfigured. A worker that starts, or is restarted, during an outage
    waits it out like any other, where a command run by hand fails at once with a hint
    about the host and port."""
    global _long_running
    _long_running = True


def unreached_is_outage() -> bool:
    """Whether a refused connection to a server never reached is worth retrying."""
    return _long_running


class Exhausted(RuntimeError):
    """A transient fault lasted longer than the policy's `max_s`; `__cause__` is the last
    error. The message says how long it was retried and what the last error was."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how fast to retry transient faults, and who is retrying (for logs)."""

    max_s: float = 60.0
    first_wait_s: float = 0.2
    max_wait_s: float = 5.0
    stall_warn_s: float = 10.0
    component: str = "shoot2top"

    def named(self, component: str) -> RetryPolicy:
        """The same policy, logging as `component` (e.g. ``sink 'archive'``)."""
        return replace(self, component=component)

    def call(
        self, action: str, fn: Callable[[], T], transient: Callable[[BaseException], bool]
    ) -> T:
        """`fn()`, retried while it raises an error `transient` accepts, for up to `max_s`.

        Raises a permanent error as it is, and `Exhausted` when the faults outlast `max_s`.
        `action` says what is attempted, for the log lines ("S3 get s3://b/k").
        """
        started = time.monotonic()
        retrying = Retrying(
            retry=retry_if_exception(transient),
            wait=wait_exponential(multiplier=self.first_wait_s, max=self.max_wait_s),
            stop=stop_after_delay(self.max_s),
            before_sleep=lambda state: self._log_retry(action, state),
            reraise=True,
        )
        try:
            return retrying(self._watched, action, fn)
        except Exception as error:
            if not transient(error):
                raise
            seconds = time.monotonic() - started
            log.error("%s: %s: giving up after %.0f s of retries", self.component, action, seconds)
            raise Exhausted(
                f"gave up after {seconds:.0f} s of retries (max_retry_s {self.max_s:g}): "
                f"{first_line(error)}"
            ) from error

    def _watched(self, action: str, fn: Callable[[], T]) -> T:
        with stall_watch(f"{self.component}: {action}", self.stall_warn_s):
            return fn()

    def _log_retry(self, action: str, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: %s failed (%s); retrying in %.1f s (attempt %d, giving up after %g s)",
            self.component, action, first_line(error), wait, state.attempt_number, self.max_s,
        )  # fmt: skip


def first_line(error: BaseException | None) -> str:
    """An error's first line, or its type when it has no message."""
    text = str(error or "").strip()
    return text.splitlines()[0] if text else type(error).__name__


class _StallWatch:
    """One daemon thread that logs every watched call still running past its threshold."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[int, tuple[str, float, float]] = {}  # id -> (label, start, next)
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._asleep_until = 0.0  # when the thread looks again by itself

    @contextmanager
    def watch(self, label: str, warn_after_s: float) -> Iterator[None]:
        now = time.monotonic()
        with self._lock:
            key = next(self._ids)
            self._calls[key] = (label, now, now + warn_after_s)
            if now + warn_after_s < self._asleep_until:  # due before the thread looks:
                self._wake.set()  # (waking it on every call would cost a thread switch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stall-watch", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                del self._calls[key]

    def _run(self) -> None:
        while True:
            with self._lock:
                due = min((entry[2] for entry in self._calls.values()), default=None)
                now = time.monotonic()
                wait = 1.0 if due is None else min(due - now, 1.0)
                self._asleep_until = now + wait
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                continue
            with self._lock:
                for key, (label, started, warn_at) in list(self._calls.items()):
                    if warn_at <= now:
                        log.warning(
                            "%s: still waiting after %.0f s (stalled?)", label, now - started
                        )
                        self._calls[key] = (label, started, now + STALL_REPEAT_S)


_watch = _StallWatch()


def stall_watch(label: str, warn_after_s: float) -> AbstractContextManager[None]:
    """Log `label` as stalled if the block still runs after `warn_after_s`."""
    return _watch.watch(label, warn_after_s)
