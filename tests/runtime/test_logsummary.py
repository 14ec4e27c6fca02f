"""Repeated log lines are summarised: one a window, saying how many were held back."""

from __future__ import annotations

import logging

from shoot2top.runtime.logsummary import RepeatSummary


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def setup() -> tuple[logging.Logger, Collect, RepeatSummary, Clock]:
    clock = Clock()
    handler = Collect()
    summary = RepeatSummary(window_s=60, clock=clock)
    handler.addFilter(summary)
    logger = logging.getLogger(f"test.summary.{id(handler)}")
    logger.propagate = False
    logger.addHandler(handler)
    return logger, handler, summary, clock


def test_repeats_differing_only_in_numbers_are_held_back_and_counted():
    logger, handler, _, clock = setup()
    for attempt in range(1, 11):  # a retry every 5 s, its delay and attempt changing
        logger.warning("x: GET /2/tweets failed (ConnectError); retry %d in %.1f s", attempt, 0.25)
        clock.now += 5
    assert handler.lines == ["x: GET /2/tweets failed (ConnectError); retry 1 in 0.2 s"]
    clock.now = 61
    logger.warning("x: GET /2/tweets failed (ConnectError); retry %d in %.1f s", 11, 16.0)
    assert handler.lines[-1] == (
        "x: GET /2/tweets failed (ConnectError); retry 11 in 16.0 s "
        "[9 similar message(s) in the last 61 s held back]"
    )


def test_other_messages_pass_and_what_is_held_back_is_reported_at_the_end():
    logger, handler, summary, clock = setup()
    logger.warning("youtube: search.list failed (HTTP 503); retry 1 in 2 s")
    logger.warning("x: stream failed; retry 1 in 2 s")  # another component: not similar
    logger.warning("youtube: search.list failed (HTTP 503); retry 2 in 4 s")
    logger.warning("youtube: search.list failed (HTTP 503); retry 3 in 8 s")
    assert len(handler.lines) == 2
    clock.now = 12
    summary.flush(handler)
    assert handler.lines[-1] == (
        "youtube: search.list failed (HTTP 503); retry 3 in 8 s "
        "[2 similar message(s) in the last 12 s the last of them shown]"
    )
