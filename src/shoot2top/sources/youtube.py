"""YouTube Data API v3 source: new videos per topic, then their statistics over time.

Per topic, search.list (type=video, order=date, publishedAfter = the topic's watermark,
50 results a page) finds new videos; videos.list reads them 50 ids a call (snippet,
statistics, contentDetails) and each is emitted as ``{"video": <videos.list resource>}``
tagged with its topic (source ``<name>.search``). Emitted videos are re-read on the
tracker's decaying schedule and emitted again (``<name>.refresh``); a video that no
longer comes back (deleted, made private) is forgotten. Every call is charged to the
quota ledger (`youtube_quota`), which spreads the day's budget until the Pacific reset.
When a refresh and a search are both due, the refresh goes first (the decaying schedule
makes most of them refreshes of young videos), but refreshes leave one unit per search
call still left today, so what the searches find can always be read.

Calls go through google-api-python-client with its bundled discovery document (no
network needed to build the client) and ``client_options.api_endpoint = api_url``.
The client's own retries are off (``num_retries=0``): they sleep with `time.sleep`,
blocking the runner and ignoring the source's clock, and log the request URL, which
carries the API key. This source backs off itself, yielding None while it waits.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from shoot2top import codec
from shoot2top.config import YouTubeSourceConfig
from shoot2top.posts import VIDEO, InvalidPost, format_time, parse_time
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sources.base import Item
from shoot2top.sources.live import (
    GONE,
    SYSTEM_CLOCK,
    Backoff,
    Clock,
    Current,
    LiveSource,
    ScrubLogs,
    SourceAuthError,
    SourceFailure,
    mask_parameters,
    retry,
)
from shoot2top.sources.youtube_quota import SEARCH, UNITS, QuotaLedger

log = logging.getLogger(__name__)

SEARCH_PAGE_SIZE = 50  # search.list maxResults: the most a page may hold
IDS_PER_CALL = 50  # videos.list: at most 50 ids per call
VIDEO_PARTS = "snippet,statistics,contentDetails"
HTTP_TIMEOUT_S = 30.0
BACKOFF_FIRST_S = 2.0  # 5xx, 429, rate limits and network errors: 2, 4, 8 ... 300 s
BACKOFF_CAP_S = 300.0
REFRESH_AHEAD_S = 30.0  # a refresh call also takes videos due within 30 s: fuller batches
IDLE_CHECK_S = 60.0  # while idle, re-plan at least this often
MIN_WAIT_S = 0.05
DEAD_LETTER_BODY_CHARS = 2000
LIBRARY_LOGGERS = (
    "googleapiclient.discovery",
    "googleapiclient.http",
    "googleapiclient.model",
    "googleapiclient._helpers",
)

QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
AUTH_REASONS = frozenset(
    {
        "keyInvalid",
        "keyExpired",
        "forbidden",
        "accessNotConfigured",
        "ipRefererBlocked",
        "unregisteredCaller",
        "API_KEY_INVALID",
        "API_KEY_EXPIRED",
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_HTTP_REFERRER_BLOCKED",
        "API_KEY_IP_ADDRESS_BLOCKED",
        "SERVICE_DISABLED",
    }
)
KEY_PARAMETERS = ("key",)  # the API key travels in the URL: mask any key= value


@dataclass
class _Topic:
    """One topic's search position.

    `published_after` is the watermark: the newest publication time of a completed
    poll; search.list's publishedAfter is inclusive, so the ids published at exactly
    that instant (`at_watermark`) come back and are skipped. `handled` holds the ids a
    poll in progress has emitted (or found gone or invalid): a poll cut short by quota
    or a restart repeats from the same watermark and skips them.
    """

    name: str
    query: str
    published_after: datetime
    at_watermark: set[str] = field(default_factory=set)
    handled: set[str] = field(default_factory=set)
    polled_at: float | None = None

    @classmethod
    def restore(cls, name: str, query: str, state: Any, default_after: datetime) -> _Topic:
        if not isinstance(state, dict) or state.get("q") != query:
            return cls(name, query, default_after)  # new topic, or its query changed
        handled = set(state.get("handled", ()))
        return cls(
            name,
            query,
            parse_time(state["published_after"], f"topic {name!r} published_after"),
            set(state.get("at_watermark", ())),
            handled,
            None if handled else state.get("polled_at"),  # a poll in progress: resume it now
        )

    def state(self) -> dict[str, Any]:
        return {
            "q": self.query,
            "published_after": format_time(self.published_after),
            "at_watermark": sorted(self.at_watermark),
            "handled": sorted(self.handled),
            "polled_at": self.polled_at,
        }

    def complete(self, newest: datetime | None, at_newest: set[str]) -> None:
        """A poll saw every page: move the watermark to the newest video it saw."""
        if newest is not None and newest > self.published_after:
            self.published_after, self.at_watermark = newest, set(at_newest)
        elif newest is not None and newest == self.published_after:
            self.at_watermark |= at_newest
        self.handled.clear()


class YouTubeSource(LiveSource):
    """New videos per topic and refreshed statistics, within the daily quota."""

    payload_type = VIDEO
    platform = "youtube"
    secret_name = "the API key"
    refresh_batch = IDS_PER_CALL
    refresh_ahead_s = REFRESH_AHEAD_S

    def __init__(
        self,
        config: YouTubeSourceConfig,
        *,
        api_key: str,
        resume: dict[str, Any] | None = None,
        dead_letters: DeadLetters | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(config, secret=api_key, clock=clock, dead_letters=dead_letters)
        url = urlsplit(config.api_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ValueError(f"{self.label}: api_url {config.api_url!r} is not an http(s) URL")
        self.config = config
        self._key_variable = getattr(config.api_key, "variable", "the api_key variable")
        now = clock.time()
        limits = {SEARCH: config.daily_search_calls, UNITS: config.daily_quota_units}
        self.ledger = QuotaLedger(limits, now)
        start = datetime.fromtimestamp(now - config.poll_interval_s, UTC).replace(microsecond=0)
        self.topics = {
            name: _Topic.restore(name, query, None, start) for name, query in config.topics.items()
        }
        self._resume(resume)
        self._quota_noted: set[tuple[str, str]] = set()
        self._http = httplib2.Http(timeout=HTTP_TIMEOUT_S)
        self._api = build(
            "youtube",
            "v3",
            developerKey=api_key,
            http=self._http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": config.api_url},
        )
        self._log_filter = ScrubLogs(self.scrub_text)  # the library logs request URLs
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)

    # ------------------------------------------------------------------ the loop

    def __iter__(self) -> Iterator[Item | None]:
        log.info(
            "%s: %d topic(s) every %.0f s at %s; quota today (Pacific): %s",
            self.name,
            len(self.topics),
            self.config.poll_interval_s,
            self.scrub_text(self.config.api_url),
            self.ledger.summary(self.clock.time()),
        )
        while True:
            now = self.clock.time()
            if self._refresh_ready(now):
                yield from self._refresh()
                continue
            topic = self._topic_ready(now)
            if topic is not None:
                yield from self._poll(topic)
                continue
            self._note_spent_buckets(now)
            wake = self._next_event(now)
            yield from self.wait(min(max(wake - now, MIN_WAIT_S), IDLE_CHECK_S))

    def _refresh_ready(self, now: float) -> bool:
        due = self.tracker.next_due()
        return due is not None and due <= now and self._units_ready_for_refresh(now) <= now

    def _units_ready_for_refresh(self, now: float) -> float:
        """When a refresh may spend a unit: paced like any operation, and only while the
        units left exceed the reserve for reading what today's remaining searches find
        (one videos.list call per search page), so refreshes never starve searches."""
        reserve = self.ledger.remaining(SEARCH, now)
        if self.ledger.remaining(UNITS, now) <= reserve:
            return self.ledger.reset_at
        return self.ledger.ready_at("videos.list", now)

    def _topic_ready(self, now: float) -> _Topic | None:
        """The most overdue topic, if the search bucket allows a call now and the units
        budget can read what it finds."""
        due = [topic for topic in self.topics.values() if self._poll_due(topic) <= now]
        if not due or self._search_ready(now) > now:
            return None
        return min(due, key=self._poll_due)

    def _search_ready(self, now: float) -> float:
        if not self.ledger.can_spend("videos.list", now):
            return self.ledger.reset_at
        return self.ledger.ready_at("search.list", now)

    def _poll_due(self, topic: _Topic) -> float:
        if topic.polled_at is None:
            return float("-inf")
        return topic.polled_at + self.config.poll_interval_s

    def _next_event(self, now: float) -> float:
        """When something may be ready: a refresh or a topic poll, each when the quota
        allows it."""
        search_ready = self._search_ready(now)
        moments = [max(self._poll_due(topic), search_ready) for topic in self.topics.values()]
        due = self.tracker.next_due()
        if due is not None:
            moments.append(max(due, self._units_ready_for_refresh(now)))
        return min(moments)

    # ------------------------------------------------------------------ search

    def _poll(self, topic: _Topic) -> Iterator[Item | None]:
        """Page through one topic's new videos, read them in batches and emit them."""
        topic.polled_at = self.clock.time()
        newest: datetime | None = None
        at_newest: set[str] = set()
        request = self._api.search().list(
            part="snippet",
            q=topic.query,
            type="video",
            order="date",
            publishedAfter=format_time(topic.published_after),
            maxResults=SEARCH_PAGE_SIZE,
        )
        try:
            while request is not None:
                page = yield from self._execute("search.list", request)
                fresh: list[str] = []
                for result in self._items(page, request, "search.list"):
                    found = self._search_hit(result, request)
                    if found is None:
                        continue
                    video_id, published = found
                    if newest is None or published > newest:
                        newest, at_newest = published, {video_id}
                    elif published == newest:
                        at_newest.add(video_id)
                    if video_id in fresh or self._seen(topic, video_id, published):
                        self.duplicates_dropped += 1
                        continue
                    fresh.append(video_id)
                for start in range(0, len(fresh), IDS_PER_CALL):
                    yield from self._emit_new(topic, fresh[start : start + IDS_PER_CALL])
                request = self._api.search().list_next(request, page)
        except SourceFailure as failure:
            if failure.stops_run:
                raise
            return  # the watermark stays; the next poll repeats it, skipping `handled`
        topic.complete(newest, at_newest)
        log.debug("%s: topic %r polled; watermark %s", self.name, topic.name, topic.state())

    def _seen(self, topic: _Topic, video_id: str, published: datetime) -> bool:
        """Already emitted: by this poll, at the watermark instant, or still tracked."""
        return (
            video_id in topic.handled
            or (published == topic.published_after and video_id in topic.at_watermark)
            or video_id in self.tracker
        )

    def _search_hit(self, result: Any, request: Any) -> tuple[str, datetime] | None:
        """A search result's video id and publication time; None (dead-lettered when
        malformed) for anything else."""
        ids = result.get("id") if isinstance(result, dict) else None
        if isinstance(ids, dict) and ids.get("kind") not in (None, "youtube#video"):
            return None  # a channel or playlist: type=video should not return them
        video_id = ids.get("videoId") if isinstance(ids, dict) else None
        snippet = result.get("snippet") if isinstance(result, dict) else None
        try:
            if not isinstance(video_id, str) or not video_id:
                raise InvalidPost("search result has no id.videoId")
            if not isinstance(snippet, dict):
                raise InvalidPost(f"search result {video_id} has no snippet")
            published = parse_time(
                snippet.get("publishedAt"), f"search result {video_id} snippet.publishedAt"
            )
        except InvalidPost as error:
            self._dead_letter("search.list", request, str(error), result)
            return None
        return video_id, published

    def _emit_new(self, topic: _Topic, batch: list[str]) -> Iterator[Item | None]:
        request = self._api.videos().list(part=VIDEO_PARTS, id=",".join(batch))
        response = yield from self._execute("videos.list", request)
        videos = self._videos(response, request)
        for video_id in batch:
            topic.handled.add(video_id)
            video = videos.get(video_id)
            info = None if video is None else self.valid(video, self._where("videos.list", request))
            if video is None or info is None:
                continue  # gone between the search and the read, or dead-lettered
            self.track(video_id, info.created_at.timestamp(), topic.name)
            yield self.stamp(VIDEO, video, "search", topic.name)

    # ------------------------------------------------------------------ refresh

    def _read_current(self, keys: list[str]) -> Generator[None, None, Current]:
        """Up to 50 videos with one videos.list call; a video not returned (deleted,
        made private) is gone."""
        request = self._api.videos().list(part=VIDEO_PARTS, id=",".join(keys))
        response = yield from self._execute("videos.list", request)
        videos = self._videos(response, request)
        return {video_id: videos.get(video_id, GONE) for video_id in keys}

    # ------------------------------------------------------------------ answers

    def _items(self, body: Any, request: Any, method: str) -> list[Any]:
        """The ``items`` of a list response; a malformed body is dead-lettered and the
        operation abandoned."""
        if (
            isinstance(body, dict)
            and isinstance(body.get("items", []), list)
            and isinstance(body.get("nextPageToken", ""), str)
        ):
            return body.get("items", [])
        if isinstance(body, str | bytes):
            reason = "response body is not JSON"
            evidence: Any = self.scrub_text(str(body))[:DEAD_LETTER_BODY_CHARS]
        else:
            reason = "response is not a list response (no items array)"
            evidence = body
        self._dead_letter(method, request, reason, evidence)
        raise SourceFailure(f"{method}: {reason}")

    def _videos(self, body: Any, request: Any) -> dict[str, dict[str, Any]]:
        """videos.list items by id; an item without an id is dead-lettered."""
        found = {}
        for item in self._items(body, request, "videos.list"):
            video_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(video_id, str) and video_id:
                found[video_id] = item
            else:
                self._dead_letter("videos.list", request, "video resource has no id", item)
        return found

    # ------------------------------------------------------------------ calls

    def _execute(self, method: str, request: Any) -> Generator[None, None, Any]:
        """Make one API call within the day's budget, backing off on transient failures.

        Returns the decoded body; raises `SourceFailure` (skip) when the quota is spent
        or the request was refused, `SourceAuthError` when the key is refused.
        """
        backoff = Backoff.exponential(BACKOFF_FIRST_S, BACKOFF_CAP_S)
        while True:
            now = self.clock.time()
            if not self.ledger.can_spend(method, now):
                self._note_quota(method, by_api=False)
                raise SourceFailure(f"{method}: today's quota is spent")
            self.ledger.spend(method, now)
            self.api_calls += 1
            outcome = self._attempt(method, request, backoff)
            if not isinstance(outcome, SourceFailure):
                return outcome
            delay = outcome.delay
            log.warning(
                "%s: %s failed (%s); retry %d in %.0f s",
                self.name,
                method,
                outcome.reason,
                backoff.attempts,
                delay,
            )
            yield from self.wait(delay)

    def _attempt(self, method: str, request: Any, backoff: Backoff) -> Any:
        """One HTTP exchange: the body, or a `SourceFailure` worth retrying (see the
        taxonomy in `live`: a plain 4xx is dead-lettered and skipped)."""
        error_status, content = 0, b""
        try:
            return request.execute(num_retries=0)
        except HttpError as error:
            error_status, content = error.resp.status, error.content
        except UnicodeDecodeError:
            return "<a response body that is not UTF-8>"
        except (OSError, http.client.HTTPException, httplib2.HttpLib2Error) as error:
            return retry(self.scrub_text(f"{type(error).__name__}: {error}"), backoff.next_delay())
        # outside the handler: nothing raised below chains the client's error (its URL)
        reasons, message = _error_details(content)
        what = self.scrub_text(
            f"HTTP {error_status} {'/'.join(sorted(reasons)) or 'without reason'}: {message}"
        )
        if reasons & QUOTA_REASONS:
            self.ledger.exhaust(method, self.clock.time())
            self._note_quota(method, by_api=True)
            raise SourceFailure(f"{method}: {what}")
        if error_status >= 500 or error_status == 429 or reasons & RATE_REASONS:
            return retry(what, backoff.next_delay())
        if error_status in (400, 401, 403) and (
            error_status != 400 or reasons & AUTH_REASONS or "API key" in message
        ):
            raise SourceAuthError(
                f"{self.label}: {self.scrub_text(self.config.api_url)} refused the "
                f"API key ({what}) on {method}; check the key in ${{{self._key_variable}}}"
            )
        self._dead_letter(method, request, f"request refused: {what}", None)
        raise SourceFailure(f"{method} refused: {what}")

    # ------------------------------------------------------------------ reporting

    def _note_quota(self, method: str, *, by_api: bool) -> None:
        """Log once per bucket and quota day that calls stop until the reset."""
        bucket = self.ledger.bucket(method)
        noted = (bucket, self.ledger.day)
        if noted in self._quota_noted:
            return
        self._quota_noted.add(noted)
        reset = format_time(datetime.fromtimestamp(self.ledger.reset_at, UTC))
        if by_api:
            log.warning(
                "%s: the API answered quotaExceeded to %s; no %s-bucket calls until the quota "
                "resets at %s (midnight Pacific)",
                self.name,
                method,
                bucket,
                reset,
            )
        else:
            log.info(
                "%s: today's %s budget (%d) is spent; waiting for the reset at %s "
                "(midnight Pacific)",
                self.name,
                bucket,
                self.ledger.limits[bucket],
                reset,
            )

    def _note_spent_buckets(self, now: float) -> None:
        for method in ("search.list", "videos.list"):
            if not self.ledger.can_spend(method, now):
                self._note_quota(method, by_api=False)

    def _where(self, method: str, request: Any) -> str:
        return f"{method} GET {getattr(request, 'uri', '')}"

    def _dead_letter(self, method: str, request: Any, reason: str, item: Any) -> None:
        self.dead_letter(self._where(method, request), reason, item)

    def scrub_text(self, text: str) -> str:
        """`text` without the API key, raw or URL-encoded, and with any ``key=`` value of a
        URL masked."""
        return mask_parameters(super().scrub_text(text), KEY_PARAMETERS)

    def _position(self) -> dict[str, Any]:
        return {
            "topics": {name: topic.state() for name, topic in self.topics.items()},
            "quota": self.ledger.snapshot(),
        }

    def _restore_position(self, state: dict[str, Any]) -> None:
        now = self.clock.time()
        limits = {SEARCH: self.config.daily_search_calls, UNITS: self.config.daily_quota_units}
        self.ledger = QuotaLedger(limits, now, state.get("quota"))
        saved = state.get("topics") or {}
        for name, topic in self.topics.items():
            start = topic.published_after
            self.topics[name] = _Topic.restore(name, topic.query, saved.get(name), start)

    def report(self) -> str:
        return (
            f"{super().report()}; quota today (Pacific): {self.ledger.summary(self.clock.time())}"
        )

    def close(self) -> None:
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).removeFilter(self._log_filter)
        self._api.close()


def _error_details(content: bytes) -> tuple[set[str], str]:
    """The reasons (``errors[].reason``, ``details[].reason``) and message of a Google
    JSON error body; an unreadable body gives no reasons."""
    try:
        error = codec.loads(content).get("error")
    except (codec.DecodeError, AttributeError):
        return set(), content[:200].decode("utf-8", "replace").strip()
    if not isinstance(error, dict):
        return set(), ""
    reasons = {
        entry["reason"]
        for key in ("errors", "details")
        for entry in error.get(key) or []
        if isinstance(entry, dict) and isinstance(entry.get("reason"), str)
    }
    message = error.get("message")
    return reasons, message if isinstance(message, str) else ""
