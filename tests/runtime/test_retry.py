"""The one retry policy: what it retries, how long, and what it logs (retries, giving up,
a call that stalls)."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from shoot2top.runtime.retry import Exhausted, RetryPolicy

QUICK = RetryPolicy(max_s=0.5, first_wait_s=0.01, max_wait_s=0.05, component="sink 'archive'")


def flaky(failures: int, error: Exception):
    calls = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise error
        return "done"

    return call, calls


def test_transient_errors_are_retried_and_logged_with_the_component(caplog):
    call, calls = flaky(2, ConnectionError("refused"))
    assert QUICK.call("S3 put s3://b/k", call, lambda e: isinstance(e, ConnectionError)) == "done"
    assert len(calls) == 3
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("sink 'archive': S3 put s3://b/k failed (refused); retrying in")
    assert "attempt 1, giving up after 0.5 s" in lines[0] and len(lines) == 2


def test_permanent_errors_are_raised_at_once():
    call, calls = flaky(5, PermissionError("denied"))
    with pytest.raises(PermissionError):
        QUICK.call("read f", call, lambda e: isinstance(e, ConnectionError))
    assert len(calls) == 1


def test_a_fault_that_lasts_is_given_up_with_the_last_error(caplog):
    call, _ = flaky(10**6, ConnectionError("refused"))
    started = time.monotonic()
    with pytest.raises(Exhausted, match=r"gave up after \d s of retries .*: refused") as raised:
        QUICK.call("read f", call, lambda e: isinstance(e, ConnectionError))
    assert 0.5 <= time.monotonic() - started < 3
    assert isinstance(raised.value.__cause__, ConnectionError)
    assert "sink 'archive': read f: giving up after" in caplog.text


def test_a_call_that_stalls_is_logged_while_it_runs(caplog):
    caplog.set_level(logging.WARNING)
    release = threading.Event()
    logged = threading.Event()

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "stalled?" in record.getMessage():
                logged.set()

    handler = Seen()
    logging.getLogger("shoot2top.runtime.retry").addHandler(handler)
    try:
        policy = RetryPolicy(stall_warn_s=0.2, component="sink 'archive'")
        started = time.monotonic()

        def stalled() -> str:
            assert logged.wait(10), "no stall was logged"
            release.set()
            return "late"

        assert policy.call("S3 put s3://b/k", stalled, lambda e: False) == "late"
    finally:
        logging.getLogger("shoot2top.runtime.retry").removeHandler(handler)
    assert release.is_set()
    assert "sink 'archive': S3 put s3://b/k: still waiting after 0 s (stalled?)" in caplog.text
    assert time.monotonic() - started < 2
