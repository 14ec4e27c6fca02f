"""X/Twitter API v2 source: a filtered stream or recent-search polling, plus refreshes.

``stream`` mode syncs the app's filtered-stream rules from `topics` (one rule per topic,
tagged with the topic's name; stale rules deleted) and reads ``GET /2/tweets/search/
stream``; a tweet's topic is the tag of the rule it matched. ``search`` mode polls
``GET /2/tweets/search/recent`` per topic for tweets newer than the topic's watermark,
following ``meta.next_token``. Every emitted tweet is tracked and re-read with ``GET
/2/tweets`` on a decaying schedule, so its metrics (a video's view count) are observed
over time. Each item is one tweet with only its own expansions: its author and media,
and the tweets it references (a retweet's original, a quoted or replied-to tweet) with
their authors::

    {"tweet": {"data": {...}, "includes": {"users": [author, ...], "media": [...],
                                           "tweets": [original]}}, "_topic": ...}

A stream message matched only by rules that are not this source's topics (a rule left by
another deployment of the same app, a rule without a tag) is kept, with its
``matching_rules``, and has no ``_topic``; it moves no topic's watermark. Such rules are
logged once each and deleted only by the rule sync when the source starts.

An edited tweet's versions share ``edit_history_tweet_ids``: when a refresh or a new
tweet shows a newer version, the source tracks the newest version instead of the older
ones, so its refreshes read the text and metrics that are live.

Calls go through `x_api` (tweepy's clients, X's retry schedules, the error taxonomy of
`live`): network errors retry linearly from 250 ms to 16 s, HTTP errors exponentially
from 5 s to 320 s, 429 exponentially from 60 s or until ``x-rate-limit-reset`` when X
says; refused credentials stop the source at once; any other 4xx is dead-lettered and
skipped (a search pass resumes at the next poll, refreshes at their next step, the
stream reconnects on the HTTP schedule). A stream rule X rejects stops the run.

Resume state (`LiveSource.snapshot`): per topic the newest tweet id yielded
(``since_id``), any search pass in progress (``passes``: its ``since_id`` and the oldest
id it yielded, so a restart fetches exactly the rest), the refresh tracker (which also
recognises duplicates) and each tracked tweet's topic. After a restart in stream mode,
and after every reconnect during a run, the stream is connected first, then recent
search catches up from each watermark while the stream buffers: nothing inside recent
search's 7-day window is lost, and what is emitted twice is at most what was yielded
between the last checkpoint and the crash.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Generator, Iterator, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple

import tweepy

from shoot2top import codec, posts
from shoot2top.config import XSourceConfig
from shoot2top.posts import snowflake_time
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sources.base import Item
from shoot2top.sources.live import (
    GONE,
    SYSTEM_CLOCK,
    Clock,
    Current,
    LiveSource,
    SourceFailure,
)
from shoot2top.sources.x_api import Schedule, XApi, dicts, problem
from shoot2top.sources.x_stream import FIELDS, StreamConnection, protect

log = logging.getLogger(__name__)

SEARCH_PAGE = 100  # recent search's max_results ceiling
LOOKUP_IDS = 100  # GET /2/tweets takes at most 100 ids
RECENT_WINDOW_S = 7 * 86400  # recent search reaches 7 days back
WINDOW_MARGIN_S = 60.0
STREAM_POLL_S = 0.02  # a stream read waits this long (real time) for data, then yields None
GONE_TYPES = ("resource-not-found", "not-authorized-for-resource")  # deleted, protected…

Window = dict[str, int | None]  # a search pass: {"since_id": …, "until_id": …}


class Includes(NamedTuple):
    """A response's expansions indexed for picking one tweet's own."""

    users: dict[Any, dict[str, Any]]
    media: dict[Any, dict[str, Any]]
    tweets: dict[Any, dict[str, Any]]

    @classmethod
    def of(cls, includes: Any) -> Includes:
        includes = includes if isinstance(includes, dict) else {}
        return cls(
            _index(includes.get("users"), "id"),
            _index(includes.get("media"), "media_key"),
            _index(includes.get("tweets"), "id"),
        )


def envelope(tweet: dict[str, Any], includes: Includes, **extra: Any) -> dict[str, Any]:
    """One tweet as X's v2 envelope with only its own expansions (a search page carries
    the includes of a hundred tweets): its author and media, and the tweets it references
    with their authors and media."""
    referenced = [
        includes.tweets[ref_id]
        for ref in dicts(tweet.get("referenced_tweets"))
        if isinstance(ref_id := ref.get("id"), str) and ref_id in includes.tweets
    ]
    chosen: dict[str, Any] = {}
    authors = dict.fromkeys(
        author for t in (tweet, *referenced) if isinstance(author := t.get("author_id"), str)
    )
    users = [includes.users[author] for author in authors if author in includes.users]
    if users:
        chosen["users"] = users
    keys = dict.fromkeys(key for t in (tweet, *referenced) for key in _media_keys(t))
    media = [includes.media[key] for key in keys if key in includes.media]
    if media:
        chosen["media"] = media
    if referenced:
        chosen["tweets"] = referenced
    return {"data": tweet, "includes": chosen, **extra}


def latest_version(tweet: dict[str, Any]) -> str | None:
    """The id of an edited tweet's newest version when it is not this one (X lists the
    versions oldest first in ``edit_history_tweet_ids``)."""
    history = tweet.get("edit_history_tweet_ids")
    if isinstance(history, list) and len(history) > 1 and isinstance(history[-1], str):
        return history[-1] if history[-1] != tweet.get("id") else None
    return None


class XSource(LiveSource):
    """Tweets about the configured topics, with refreshed metrics; see the module doc."""

    payload_type = "tweet"
    platform = "x"
    secret_name = "bearer_token"
    refresh_batch = LOOKUP_IDS

    def __init__(
        self,
        config: XSourceConfig,
        *,
        bearer_token: str,
        resume: dict[str, Any] | None = None,
        dead_letters: DeadLetters | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(config, secret=bearer_token, clock=clock, dead_letters=dead_letters)
        protect(bearer_token)
        self.config = config
        self.api_url = config.api_url.rstrip("/")
        self._token = bearer_token
        self.api = XApi(
            label=self.label,
            bearer_token=bearer_token,
            api_url=self.api_url,
            token_variable=config.bearer_token.variable,
            clock=clock,
            wait=self.wait,
            scrub=self.scrub_text,
            on_response=self._count_response,
            on_wait=self._note_wait,
        )
        self._connection: StreamConnection | None = None
        self._since: dict[str, int] = {}
        self._passes: dict[str, Window] = {}
        self._stream_schedule = Schedule()
        self._refresh_schedule = Schedule()
        self._foreign_rules: set[Any] = set()  # rules seen matching that are not ours, logged
        self.waits: deque[tuple[str, float]] = deque(maxlen=1000)
        """The retry waits taken, (kind, seconds), newest last: for reports and tests."""
        self.connections = 0
        self._resume(resume)

    # ------------------------------------------------------------------ state

    def _position(self) -> dict[str, Any]:
        return {
            "since_id": {topic: str(tweet_id) for topic, tweet_id in self._since.items()},
            "passes": {
                topic: {key: _text(value) for key, value in window.items()}
                for topic, window in self._passes.items()
            },
        }

    def _restore_position(self, state: dict[str, Any]) -> None:
        topics = self.config.topics
        self._since = {
            topic: int(tweet_id)
            for topic, tweet_id in (state.get("since_id") or {}).items()
            if topic in topics
        }
        self._passes = {
            topic: {
                "since_id": _number(window.get("since_id")),
                "until_id": _number(window.get("until_id")),
            }
            for topic, window in (state.get("passes") or {}).items()
            if topic in topics
        }
        if self.config.mode == "stream":
            self._schedule_catch_up()

    def _schedule_catch_up(self) -> None:
        """Before the next stream connection: search from each topic's watermark, so what
        was posted while the stream was down (a restart, a reconnect) is not lost."""
        for topic, since in self._since.items():
            self._passes.setdefault(topic, {"since_id": since, "until_id": None})

    # ------------------------------------------------------------------ iteration

    def __iter__(self) -> Iterator[Item | None]:
        if self.config.mode == "stream":
            return self._stream_mode()
        return self._search_mode()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.api.close()

    def report(self) -> str:
        return f"{super().report()}, {len(self.waits):,} retry waits"

    def _count_response(self, size: int) -> None:
        self.api_calls += 1
        self.bytes_read += size

    def _note_wait(self, failure: SourceFailure) -> None:
        self.waits.append((failure.schedule, failure.delay))

    def _stream_mode(self) -> Iterator[Item | None]:
        try:
            yield from self._sync_rules()
        except SourceFailure as refused:  # a skip was dead-lettered: the stream is read
            if refused.stops_run:  # with the rules it has
                raise
        while True:
            connection = self._connection = StreamConnection(
                self._token, self.api_url, self.config.keepalive_timeout_s
            )
            self.connections += 1
            try:
                for topic in list(self._passes):  # while the new stream buffers
                    yield from self._catch_up(topic)
                failure = yield from self._read(connection)
            finally:
                connection.close()
                self._connection = None
            yield from self.api.back_off(f"GET {connection.url}", failure)
            self._schedule_catch_up()  # the gap while it was down

    def _search_mode(self) -> Iterator[Item | None]:
        while True:
            for topic in self.config.topics:
                yield from self._search_pass(topic)
                if self.refresh_due():
                    yield from self._refresh()
            yield from self.refresh_until(self.clock.time() + self.config.poll_interval_s)

    # ------------------------------------------------------------------ filtered stream

    def _sync_rules(self) -> Generator[None, None, None]:
        """Make the stream's rules exactly one per topic, tagged with the topic's name."""
        url = f"{self.api_url}/2/tweets/search/stream/rules"
        body = yield from self._rules_call(f"GET {url}", self.api.rules.get_rules)
        wanted = {(query, topic) for topic, query in self.config.topics.items()}
        present: set[tuple[Any, Any]] = set()
        stale = []
        for rule in dicts(body.get("data")):
            key = (rule.get("value"), rule.get("tag"))
            if key in wanted and key not in present:
                present.add(key)
            else:
                stale.append(str(rule.get("id")))
        if stale:
            what = f"POST {url} (deleting stale rules {', '.join(stale)})"
            yield from self._rules_call(what, partial(self.api.rules.delete_rules, stale))
        missing = [
            tweepy.StreamRule(value=query, tag=topic)
            for topic, query in self.config.topics.items()
            if (query, topic) not in present
        ]
        if missing:
            what = f"POST {url} (adding rules for {', '.join(r.tag for r in missing)})"
            body = yield from self._rules_call(what, partial(self.api.rules.add_rules, missing))
            self._check_added(body, what)
        log.info(
            "%s: stream rules synced: %d kept, %d added, %d deleted",
            self.name,
            len(present),
            len(missing),
            len(stale),
        )

    def _check_added(self, body: dict[str, Any], what: str) -> None:
        by_query = {query: topic for topic, query in self.config.topics.items()}
        for error in dicts(body.get("errors")):
            if error.get("title") == "DuplicateRule":
                continue  # already there: fine
            value = error.get("value")
            details = "; ".join(map(str, error.get("details") or [])) or problem(error)
            topic = by_query.get(value, "?") if isinstance(value, str) else "?"
            raise SourceFailure(
                f"{self.label}: X rejected the rule for topic "
                f"{topic!r} ({value!r}): {details} [{what}]",
                kind="fatal",
            )

    def _rules_call(self, what: str, call: Any) -> Generator[None, None, dict[str, Any]]:
        """A rules call; a refused one is dead-lettered before its failure is raised."""
        try:
            return (yield from self.api.request(what, call))
        except SourceFailure as failure:
            if not failure.stops_run:
                self.dead_letter(what, failure.reason)
            raise

    def _read(self, connection: StreamConnection) -> Generator[Item | None, None, SourceFailure]:
        """Emit a connection's tweets until it ends (the failure says when to reconnect);
        refreshes run between reads."""
        healthy = False
        while True:
            if self.refresh_due():
                yield from self._refresh()
            event = connection.next_event(STREAM_POLL_S)
            if event is None:
                yield None
                continue
            if event.kind == "open":
                log.info("%s: connected to %s", self.name, connection.url)
                continue
            if event.kind == "http_error":
                what = f"GET {connection.url}"
                failure = self.api.judge(
                    what, event.status, event.headers, event.body, self._stream_schedule
                )
                if failure.kind == "skip":  # refused as made: reconnect on the HTTP schedule
                    self.dead_letter(what, failure.reason)
                    failure = self._stream_schedule.after_http(failure.reason)
                return failure
            if event.kind == "dropped":
                return self._stream_schedule.after_network(f"stream dropped: {event.reason}")
            if not healthy:  # data flows again: the next failure starts a fresh schedule
                healthy = True
                self._stream_schedule.reset()
            outcome: Item | None = None
            if event.kind == "line":
                self.bytes_read += len(event.line) + 2
                message = self._stream_message(event.line, connection.url)
                if isinstance(message, SourceFailure):
                    return message
                outcome = message
            yield outcome  # None for a keep-alive, a duplicate…: the runner keeps ticking

    def _stream_message(self, raw: bytes, url: str) -> Item | SourceFailure | None:
        try:
            message = codec.loads(raw)
        except codec.DecodeError as error:
            self.dead_letter(url, f"malformed JSON line on the stream: {error}", raw)
            return None
        if not isinstance(message, dict):
            self.dead_letter(url, "stream message is not a JSON object", raw)
            return None
        tweet = message.get("data")
        if isinstance(tweet, dict):
            rules = message.get("matching_rules")
            extra = {} if rules is None else {"matching_rules": rules}
            topic = self._topic_of_rules(rules)
            includes = Includes.of(message.get("includes"))
            return self._accept(tweet, includes, "filtered_stream", topic, url, extra)
        errors = dicts(message.get("errors"))
        for reported in errors:
            if reported.get("title") == "operational-disconnect" or "disconnect_type" in reported:
                return self._stream_schedule.after_network(
                    f"X disconnected the stream: {problem(reported)}"
                )
        if errors:
            log.warning("%s: the stream reported: %s", self.name, problem(errors[0]))
            return None
        self.dead_letter(url, "stream message has neither data nor errors", raw)
        return None

    def _topic_of_rules(self, rules: Any) -> str | None:
        """The first configured topic among the rules' tags; None when only rules that
        are not this source's matched (logged once per rule: see the module doc)."""
        topic = None
        for rule in dicts(rules):
            tag = rule.get("tag")
            if isinstance(tag, str) and tag in self.config.topics:
                topic = topic or tag
                continue
            key = (str(rule.get("id")), tag if isinstance(tag, str) else None)
            if key not in self._foreign_rules and len(self._foreign_rules) < 1000:
                self._foreign_rules.add(key)
                log.warning(
                    "%s: stream rule %s (tag %r) is not one of this source's topics: the "
                    "tweets it matches are kept without a topic; delete it, or give each "
                    "deployment an app of its own",
                    self.name,
                    rule.get("id"),
                    tag,
                )
        return topic

    # ------------------------------------------------------------------ recent search

    def _catch_up(self, topic: str) -> Generator[Item | None, None, None]:
        """After a restart in stream mode: the topic's search pass, then one from its
        watermark if that pass began below it (it was itself a catch-up cut short by a
        crash, so the stream was not read since it began and that gap is missing too)."""
        window = self._passes.get(topic)
        behind = window is not None and window["since_id"] != self._since.get(
            topic, window["since_id"]
        )
        yield from self._search_pass(topic)
        if behind:
            yield from self._search_pass(topic)

    def _search_pass(self, topic: str) -> Generator[Item | None, None, None]:
        """Fetch a topic's tweets newer than its watermark, newest first, page by page.

        The pass is recorded in the resume state with the oldest id yielded so far, so
        a restart fetches exactly the rest. A topic with no watermark starts from now:
        one page of its newest tweets, yielded oldest first so that the watermark (the
        newest id yielded) never passes a tweet of the page not yielded yet.
        """
        query = self.config.topics[topic]
        window = self._passes.get(topic)
        if window is None and topic in self._since:
            window = self._passes[topic] = {"since_id": self._since[topic], "until_id": None}
        params = self._window_params(topic, window) if window is not None else {}
        url = f"GET {self.api_url}/2/tweets/search/recent"
        token: str | None = None
        while params is not None:
            paging = {"next_token": token} if token else {}
            call = partial(
                self.api.client.search_recent_tweets,
                query,
                max_results=SEARCH_PAGE,
                sort_order="recency",
                **params,
                **paging,
                **FIELDS,
            )
            try:
                body = yield from self.api.request(url, call)
            except SourceFailure as failure:
                if failure.stops_run:
                    raise
                self.dead_letter(url, failure.reason)
                return  # the pass stays in the resume state: the next poll resumes it
            includes = Includes.of(body.get("includes"))
            page = dicts(body.get("data"))
            if window is None:
                page.reverse()
            for tweet in page:
                item = self._accept(tweet, includes, "recent_search", topic, url)
                tweet_id = _number(tweet.get("id"))
                if window is not None and tweet_id is not None:
                    until = window["until_id"]
                    window["until_id"] = tweet_id if until is None else min(until, tweet_id)
                if item is not None:
                    yield item
            meta = body.get("meta")
            token = meta.get("next_token") if isinstance(meta, dict) else None
            if window is None or not isinstance(token, str) or not token:
                break
        self._passes.pop(topic, None)

    def _window_params(self, topic: str, window: Window) -> dict[str, Any] | None:
        """since_id/until_id of a pass; start_time when the watermark has left the 7-day
        window (X refuses older ids); None when nothing is left to fetch."""
        floor = self.clock.time() - RECENT_WINDOW_S + WINDOW_MARGIN_S
        since, until = window["since_id"], window["until_id"]
        params: dict[str, Any] = {}
        if until is not None:
            if snowflake_time(until) <= floor or (since is not None and until <= since + 1):
                return None
            params["until_id"] = str(until)
        if since is None:
            return params
        if snowflake_time(since) > floor:
            params["since_id"] = str(since)
            return params
        start = datetime.fromtimestamp(floor, UTC)
        log.warning(
            "%s: topic %r: the watermark (tweet %s) is older than recent search's 7 days; "
            "catching up from %s, tweets before it are lost",
            self.name,
            topic,
            since,
            posts.format_time(start),
        )
        params["start_time"] = start
        return params

    # ------------------------------------------------------------------ metric refreshes

    def _read_current(self, keys: list[str]) -> Generator[None, None, Current]:
        """Up to 100 tweets with one ``GET /2/tweets``; a failed call is not retried here
        (the base skips those refreshes and holds the next for the failure's delay)."""
        url = f"GET {self.api_url}/2/tweets"
        call = partial(self.api.client.get_tweets, keys, **FIELDS)
        result = self.api.attempt(url, call, self._refresh_schedule)
        if isinstance(result, SourceFailure):
            if result.kind == "retry":
                self._note_wait(result)
            else:
                self.dead_letter(url, result.reason)
            raise SourceFailure(
                f"{url}: {result.reason}",
                kind=result.kind,
                delay=result.delay,
                schedule=result.schedule,
            )
        self._refresh_schedule.reset()
        wanted = set(keys)
        current: Current = {}
        includes = Includes.of(result.get("includes"))
        for tweet in dicts(result.get("data")):
            if isinstance(read_id := tweet.get("id"), str) and read_id in wanted:
                current[read_id] = envelope(tweet, includes)
        for error in dicts(result.get("errors")):
            gone_id = error.get("resource_id") or error.get("value")
            gone = str(error.get("type", "")).endswith(GONE_TYPES)
            if gone and isinstance(gone_id, str) and gone_id in wanted and gone_id not in current:
                current[gone_id] = GONE
        return current
        yield  # a generator, like every `_read_current`

    def _observed(self, key: str, payload: dict[str, Any]) -> Generator[None, None, Item | None]:
        self._follow_edits(payload["data"], key, self.topic_of.get(key), self.clock.time())
        return (yield from super()._observed(key, payload))

    # ------------------------------------------------------------------ items

    def _accept(
        self,
        tweet: dict[str, Any],
        includes: Includes,
        how: str,
        topic: str | None,
        where: str,
        extra: Mapping[str, Any] | None = None,
    ) -> Item | None:
        """A new tweet as an item (tracked, watermarked); None if a duplicate or bad."""
        tweet_id = tweet.get("id")
        if isinstance(tweet_id, str) and tweet_id in self.tracker:  # else `valid` judges
            self.duplicates_dropped += 1
            return None
        payload = envelope(tweet, includes, **(extra or {}))
        info = self.valid(payload, where)
        if info is None:
            return None
        now = self.clock.time()
        ours = topic if topic in self.config.topics else None
        self.track(info.item_id, info.created_at.timestamp(), ours)
        self._follow_edits(tweet, info.item_id, topic, now)
        if ours is not None:
            number = _number(info.item_id)
            if number is not None and number > self._since.get(ours, 0):
                self._since[ours] = number
        return self.stamp("tweet", payload, how, topic)

    def _follow_edits(
        self, tweet: dict[str, Any], tweet_id: str, topic: str | None, now: float
    ) -> None:
        """Track only an edited tweet's newest version: the older ones' counters froze
        when it was edited (each version has its own)."""
        history = tweet.get("edit_history_tweet_ids")
        if not isinstance(history, list) or len(history) < 2:
            return
        newest = latest_version(tweet) or tweet_id
        published = self.tracker.published_at(tweet_id) or self.tracker.published_at(newest)
        for version in history:
            if isinstance(version, str) and version != newest and version in self.tracker:
                published = published or self.tracker.published_at(version)
                self.tracker.forget(version)
        if newest not in self.tracker and published is not None:
            self.tracker.track(newest, published, now)
            if topic is not None:
                self.topic_of[newest] = topic


def _media_keys(tweet: dict[str, Any]) -> list[str]:
    attachments = tweet.get("attachments")
    keys = attachments.get("media_keys") if isinstance(attachments, dict) else None
    return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []


def _index(entries: Any, key: str) -> dict[Any, dict[str, Any]]:
    """Entries by their id (entries whose id is not a string are left out)."""
    return {entry[key]: entry for entry in dicts(entries) if isinstance(entry.get(key), str)}


def _number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    return None


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)
