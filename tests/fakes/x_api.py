"""A fake X API v2 on loopback: the endpoints the X source uses, in X's wire format.

- ``GET/POST /2/tweets/search/stream/rules``: rules with ids and tags; add and delete
  answer with ``meta.summary`` counts, ``DuplicateRule`` and invalid-rule errors.
- ``GET /2/tweets/search/stream``: chunked transfer, one JSON message per line
  (``data``, ``includes``, ``matching_rules``), ``\\r\\n`` keep-alives; each connection
  plays the next scripted sequence (tweets, raw lines, pauses, a wait for the test's
  go-ahead, an abrupt drop, a clean end, an HTTP error instead of the stream) and then
  holds the line with keep-alives.
- ``GET /2/tweets/search/recent``: newest first, ``since_id``/``until_id``/
  ``start_time``, ``max_results`` 10-100, ``meta.next_token`` paging; a ``since_id``
  older than 7 days is refused with 400 as X does.
- ``GET /2/tweets?ids=``: at most 100 ids; deleted ones come back as
  ``resource-not-found`` errors beside the data.
- Retweets, quotes and replies carry ``referenced_tweets``; with the
  ``referenced_tweets.id`` expansion the referenced tweets come in ``includes.tweets``
  (and their authors with ``referenced_tweets.id.author_id``). A retweet's text is
  ``RT @author: `` and the original's text cut with "…" at 140 characters, its entities
  only what the cut text shows, its attachments the original's media. An edit makes a
  new version with a new id; every version lists the chain in ``edit_history_tweet_ids``.

Every request needs ``Authorization: Bearer <token>`` (else 401 with the v2 problem
body); fields are returned only when requested (``tweet.fields``, ``user.fields``,
``media.fields``, ``expansions``), so a source that forgets one does not get it. Errors
can be scripted per path (429 with ``x-rate-limit-reset``, 503…).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakes.http import serve
from shoot2top import codec

TWITTER_EPOCH_MS = 1288834974657
RECENT_WINDOW_S = 7 * 86400
PROBLEMS = "https://api.twitter.com/2/problems"
KEEPALIVE_EVERY_S = 0.1

# ----------------------------------------------------------------------------- script steps


def tweets(*ids: str) -> tuple[Any, ...]:
    """Send these tweets, one message each, with the rules they match."""
    return ("tweets", ids)


def raw(line: bytes) -> tuple[Any, ...]:
    """Send one line as is (a malformed message, an errors message)."""
    return ("raw", line)


def pause(seconds: float) -> tuple[Any, ...]:
    """Send nothing for `seconds` (real time): no keep-alive either."""
    return ("pause", seconds)


def until(go: threading.Event) -> tuple[Any, ...]:
    """Send nothing until the test sets `go` (or the fake stops): no keep-alive either.
    What comes next then follows whatever the test did first, at no fixed delay."""
    return ("until", go)


def status(code: int, body: Any = None, headers: dict[str, str] | None = None) -> tuple[Any, ...]:
    """Answer the connection with this HTTP error instead of the stream (first step)."""
    return ("status", code, body, headers or {})


KEEPALIVE = ("keepalive",)
DROP = ("drop",)  # close the socket mid-body: the client sees a truncated chunked stream
END = ("end",)  # finish the chunked body cleanly: the server closed the stream
RESET = ("reset",)  # close the socket before answering at all


def operational_disconnect() -> bytes:
    return codec.dumps(
        {
            "errors": [
                {
                    "title": "operational-disconnect",
                    "disconnect_type": "UpstreamOperationalDisconnect",
                    "detail": "This stream has been disconnected upstream for operational reasons.",
                    "type": f"{PROBLEMS}/operational-disconnect",
                }
            ]
        }
    )


def problem(status_code: int, title: str, detail: str | None = None) -> dict[str, Any]:
    """X v2's problem body for whole-request errors (401, 429, 503…)."""
    return {"title": title, "detail": detail or title, "type": "about:blank", "status": status_code}


# ----------------------------------------------------------------------------- state


def snowflake(moment: float, sequence: int) -> str:
    """An X id minted at `moment` (epoch s)."""
    return str(((int(moment * 1000) - TWITTER_EPOCH_MS) << 22) | (sequence & 0x3FFFFF))


def minted(tweet_id: str) -> float:
    return ((int(tweet_id) >> 22) + TWITTER_EPOCH_MS) / 1000


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: Any = None
    authorization: str | None = None


@dataclass
class FakeX:
    """The fake's data and scripts; tests arrange them and read `requests` afterwards."""

    token: str
    now: Callable[[], float] = time.time
    url: str = ""
    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    scripts: deque[list[tuple[Any, ...]]] = field(default_factory=deque)
    failures: dict[str, deque[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(deque))
    requests: list[Request] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _sequence: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # -- arranging

    def add_user(self, user_id: str, username: str, followers: int = 100) -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": username.title(),
            "username": username,
            "public_metrics": {
                "followers_count": followers,
                "following_count": 1,
                "tweet_count": 10,
                "listed_count": 0,
            },
            "created_at": "2015-01-01T00:00:00.000Z",
        }

    def add_tweet(
        self,
        text: str,
        *,
        author: str = "1",
        age_s: float = 60.0,
        likes: int = 0,
        views: int | None = None,
    ) -> str:
        """A tweet created `age_s` ago; with `views`, it carries a video with that count."""
        created = self.now() - age_s
        tweet_id = snowflake(created, next(self._sequence))
        if author not in self.users:
            self.add_user(author, f"user{author}")
        tweet: dict[str, Any] = {
            "id": tweet_id,
            "text": text,
            "edit_history_tweet_ids": [tweet_id],
            "created_at": iso(created),
            "author_id": author,
            "lang": "en",
            "public_metrics": {
                "retweet_count": 0,
                "reply_count": 0,
                "like_count": likes,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": 0,
            },
            "entities": {
                "hashtags": [
                    {"start": m.start(), "end": m.end(), "tag": m.group(1)}
                    for m in re.finditer(r"#(\w+)", text)
                ]
            },
            "possibly_sensitive": False,
        }
        if views is not None:
            key = f"13_{tweet_id}"
            tweet["attachments"] = {"media_keys": [key]}
            self.media[key] = {
                "media_key": key,
                "type": "video",
                "duration_ms": 42_000,
                "public_metrics": {"view_count": views},
                "preview_image_url": f"https://pbs.example/{key}.jpg",
                "width": 1280,
                "height": 720,
            }
        self.tweets[tweet_id] = tweet
        return tweet_id

    def add_retweet(self, original_id: str, *, author: str, age_s: float = 30.0) -> str:
        """A retweet of `original_id` by `author`, as X renders one."""
        original = self.tweets[original_id]
        handle = self.users[original["author_id"]]["username"]
        text = f"RT @{handle}: {original['text']}"
        if len(text) > 140:
            text = text[:139] + "\u2026"
        retweet_id = self.add_tweet(text, author=author, age_s=age_s)
        retweet = self.tweets[retweet_id]
        retweet["referenced_tweets"] = [{"type": "retweeted", "id": original_id}]
        entities = retweet["entities"]
        entities["hashtags"] = [  # a tag the cut went through is not one
            tag for tag in entities["hashtags"] if not text[tag["end"] :].startswith("\u2026")
        ]
        entities["mentions"] = [
            {"start": 3, "end": 4 + len(handle), "username": handle, "id": original["author_id"]}
        ]
        if "attachments" in original:
            retweet["attachments"] = original["attachments"]
        retweet["public_metrics"]["retweet_count"] = original["public_metrics"]["retweet_count"]
        original["public_metrics"]["retweet_count"] += 1
        return retweet_id

    def add_reference(self, kind: str, target_id: str, text: str, *, author: str) -> str:
        """A quote (`kind` "quoted") of, or a reply ("replied_to") to, `target_id`."""
        tweet_id = self.add_tweet(text, author=author, age_s=20.0)
        self.tweets[tweet_id]["referenced_tweets"] = [{"type": kind, "id": target_id}]
        counter = "quote_count" if kind == "quoted" else "reply_count"
        self.tweets[target_id]["public_metrics"][counter] += 1
        return tweet_id

    def edit(self, tweet_id: str, text: str) -> str:
        """A new version of `tweet_id` with `text`; every version lists the whole chain."""
        old = self.tweets[tweet_id]
        new_id = snowflake(self.now(), next(self._sequence))
        history = [*old["edit_history_tweet_ids"], new_id]
        new = {**old, "id": new_id, "text": text, "created_at": iso(self.now())}
        new["public_metrics"] = dict.fromkeys(old["public_metrics"], 0)  # each version's own
        new["entities"] = {
            "hashtags": [
                {"start": m.start(), "end": m.end(), "tag": m.group(1)}
                for m in re.finditer(r"#(\w+)", text)
            ]
        }
        self.tweets[new_id] = new
        for version in history:
            self.tweets[version]["edit_history_tweet_ids"] = history
        return new_id

    def set_metrics(self, tweet_id: str, *, likes: int, views: int | None = None) -> None:
        self.tweets[tweet_id]["public_metrics"]["like_count"] = likes
        if views is not None:
            key = self.tweets[tweet_id]["attachments"]["media_keys"][0]
            self.media[key]["public_metrics"]["view_count"] = views

    def delete_tweet(self, tweet_id: str) -> None:
        del self.tweets[tweet_id]

    def add_rule(self, value: str, tag: str | None = None) -> str:
        rule_id = snowflake(self.now(), next(self._sequence))
        self.rules[rule_id] = {"id": rule_id, "value": value, **({"tag": tag} if tag else {})}
        return rule_id

    def stream(self, *connections: list[tuple[Any, ...]]) -> None:
        """Script the next connections, one list of steps each."""
        self.scripts.extend(connections)

    def fail(
        self,
        path: str,
        code: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests to `path` with this error."""
        for _ in range(times):
            self.failures[path].append((code, body, headers or {}))

    # -- reading what happened

    def calls(self, path: str, method: str = "GET") -> list[Request]:
        return [r for r in self.requests if r.path == path and r.method == method]

    # -- answering

    def matches(self, query: str, tweet: dict[str, Any]) -> bool:
        """All plain words of the query appear in the text (operators are ignored)."""
        words = [w.lower() for w in query.split() if ":" not in w and not w.startswith("-")]
        return all(word in tweet["text"].lower() for word in words)

    def render(self, tweets: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
        """Tweets as X returns them: only the requested fields and expansions."""
        expansions = _set(params.get("expansions"))
        tweet_fields = _set(params.get("tweet.fields")) | {"id", "text", "edit_history_tweet_ids"}
        if "author_id" in expansions:
            tweet_fields.add("author_id")
        if "attachments.media_keys" in expansions:
            tweet_fields.add("attachments")
        if "referenced_tweets.id" in expansions:
            tweet_fields.add("referenced_tweets")
        data = [{k: v for k, v in t.items() if k in tweet_fields} for t in tweets]
        includes: dict[str, Any] = {}
        referenced: list[dict[str, Any]] = []
        if "referenced_tweets.id" in expansions:
            ids = dict.fromkeys(r["id"] for t in tweets for r in t.get("referenced_tweets", []))
            referenced = [self.tweets[i] for i in ids if i in self.tweets]
            if referenced:
                includes["tweets"] = [
                    {k: v for k, v in t.items() if k in tweet_fields} for t in referenced
                ]
        if "author_id" in expansions:
            user_fields = _set(params.get("user.fields")) | {"id", "name", "username"}
            authors = dict.fromkeys(t["author_id"] for t in tweets)
            if "referenced_tweets.id.author_id" in expansions:
                authors.update(dict.fromkeys(t["author_id"] for t in referenced))
            includes["users"] = [
                {k: v for k, v in self.users[a].items() if k in user_fields} for a in authors
            ]
        if "attachments.media_keys" in expansions:
            media_fields = _set(params.get("media.fields")) | {"media_key", "type"}
            keys = [k for t in tweets for k in t.get("attachments", {}).get("media_keys", [])]
            media = [{k: v for k, v in self.media[m].items() if k in media_fields} for m in keys]
            if media:
                includes["media"] = media
        body: dict[str, Any] = {"data": data}
        if any(includes.values()):
            body["includes"] = {k: v for k, v in includes.items() if v}
        return body

    def matching_rules(self, tweet: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"id": rule["id"], **({"tag": rule["tag"]} if "tag" in rule else {})}
            for rule in self.rules.values()
            if self.matches(rule["value"], tweet)
        ]


@contextmanager
def fake_x(token: str, now: Callable[[], float] = time.time) -> Iterator[FakeX]:
    """Run a fake X API on a loopback port; `fake.url` is its base URL."""
    fake = FakeX(token=token, now=now)
    with serve(XHandler, fake=fake) as url:
        fake.url = url
        try:
            yield fake
        finally:
            fake.stopped.set()


# ----------------------------------------------------------------------------- HTTP


class XHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeX:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = codec.loads(self.rfile.read(length)) if length else None
        fake = self.fake
        with fake.lock:
            fake.requests.append(
                Request(method, parts.path, params, body, self.headers.get("Authorization"))
            )
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            return self._json(401, problem(401, "Unauthorized"))
        with fake.lock:
            scripted = fake.failures[parts.path].popleft() if fake.failures[parts.path] else None
        if scripted is not None:
            code, error_body, headers = scripted
            return self._json(code, error_body or _default_problem(code), headers)
        route = (method, parts.path)
        if route == ("GET", "/2/tweets/search/stream"):
            return self._stream(params)
        if route == ("GET", "/2/tweets/search/stream/rules"):
            return self._json(200, self._rules())
        if route == ("POST", "/2/tweets/search/stream/rules"):
            return self._json(200, self._change_rules(body or {}))
        if route == ("GET", "/2/tweets/search/recent"):
            return self._search(params)
        if route == ("GET", "/2/tweets"):
            return self._lookup(params)
        self._json(404, problem(404, "Not Found Error", f"no route {method} {parts.path}"))

    # -- responses

    def _json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = codec.dumps(body)
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        reset = str(int(self.fake.now()) + 900)
        rate = {
            "x-rate-limit-limit": "450",
            "x-rate-limit-remaining": "449",
            "x-rate-limit-reset": reset,
        }
        for name, value in {**rate, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _bad_request(self, parameter: str, value: str, message: str) -> None:
        self._json(
            400,
            {
                "errors": [{"parameters": {parameter: [value]}, "message": message}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": f"{PROBLEMS}/invalid-request",
            },
        )

    # -- rules

    def _rules(self) -> dict[str, Any]:
        rules = list(self.fake.rules.values())
        body: dict[str, Any] = {"meta": {"sent": iso(time.time()), "result_count": len(rules)}}
        if rules:
            body["data"] = rules
        return body

    def _change_rules(self, body: dict[str, Any]) -> dict[str, Any]:
        fake = self.fake
        sent = iso(time.time())
        if "delete" in body:
            ids = [str(i) for i in body["delete"].get("ids", [])]
            errors = [
                {
                    "value": i,
                    "detail": "Rule does not exist",
                    "title": "Not Found Error",
                    "type": f"{PROBLEMS}/resource-not-found",
                }
                for i in ids
                if i not in fake.rules
            ]
            for i in ids:
                fake.rules.pop(i, None)
            deleted = len(ids) - len(errors)
            answer: dict[str, Any] = {
                "meta": {"sent": sent, "summary": {"deleted": deleted, "not_deleted": len(errors)}}
            }
            return {**answer, "errors": errors} if errors else answer
        created, errors = [], []
        existing = {rule["value"]: rule["id"] for rule in fake.rules.values()}
        invalid = [r for r in body.get("add", []) if not r.get("value") or "INVALID(" in r["value"]]
        for rule in invalid:
            errors.append(
                {
                    "value": rule.get("value"),
                    "details": [f"Reference to invalid operator in '{rule.get('value')}'"],
                    "title": "UnprocessableEntity",
                    "type": f"{PROBLEMS}/invalid-rules",
                }
            )
        if not invalid:  # X adds all of a request's rules or none
            for rule in body.get("add", []):
                if rule["value"] in existing:
                    errors.append(
                        {
                            "value": rule["value"],
                            "id": existing[rule["value"]],
                            "title": "DuplicateRule",
                            "type": f"{PROBLEMS}/duplicate-rules",
                        }
                    )
                    continue
                rule_id = fake.add_rule(rule["value"], rule.get("tag"))
                created.append(fake.rules[rule_id])
        summary = {
            "created": len(created),
            "not_created": len(body.get("add", [])) - len(created),
            "valid": len(body.get("add", [])) - len(invalid),
            "invalid": len(invalid),
        }
        answer = {"meta": {"sent": sent, "summary": summary}}
        if created:
            answer["data"] = created
        if errors:
            answer["errors"] = errors
        return answer

    # -- recent search and lookup

    def _search(self, params: dict[str, str]) -> None:
        fake = self.fake
        now = fake.now()
        max_results = int(params.get("max_results", "10"))
        if not 10 <= max_results <= 100:
            return self._bad_request(
                "max_results",
                str(max_results),
                "The `max_results` query parameter value "
                f"[{max_results}] is not between 10 and 100",
            )
        floor = now - RECENT_WINDOW_S
        since = params.get("since_id")
        if since is not None and minted(since) < floor:
            return self._bad_request(
                "since_id",
                since,
                f"Invalid 'since_id':'{since}'. 'since_id' must be a tweet id created after "
                f"{iso(floor)}. Please use a 'since_id' that is larger than ...",
            )
        until = params.get("until_id")
        token = params.get("next_token")
        start = params.get("start_time")
        start_s = datetime.fromisoformat(start).timestamp() if start else floor
        found = sorted(
            (
                t
                for t in fake.tweets.values()
                if fake.matches(params["query"], t)
                and minted(t["id"]) >= max(floor, start_s)
                and (since is None or int(t["id"]) > int(since))
                and (until is None or int(t["id"]) < int(until))
                and (token is None or int(t["id"]) < int(token.removeprefix("b26v"), 16))
            ),
            key=lambda t: int(t["id"]),
            reverse=True,
        )
        page, rest = found[:max_results], found[max_results:]
        if not page:
            return self._json(200, {"meta": {"result_count": 0}})
        body = fake.render(page, params)
        meta: dict[str, Any] = {
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
            "result_count": len(page),
        }
        if rest:
            meta["next_token"] = f"b26v{int(page[-1]['id']):x}"
        body["meta"] = meta
        self._json(200, body)

    def _lookup(self, params: dict[str, str]) -> None:
        ids = [i for i in params.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return self._bad_request(
                "ids",
                params.get("ids", ""),
                f"The number of values in the `ids` query parameter list "
                f"[{len(ids)}] is not between 1 and 100",
            )
        fake = self.fake
        found = [fake.tweets[i] for i in ids if i in fake.tweets]
        body: dict[str, Any] = fake.render(found, params) if found else {}
        errors = [
            {
                "value": i,
                "detail": f"Could not find tweet with ids: [{i}].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": i,
                "type": f"{PROBLEMS}/resource-not-found",
            }
            for i in ids
            if i not in fake.tweets
        ]
        if errors:
            body["errors"] = errors
        self._json(200, body)

    # -- the filtered stream

    def _stream(self, params: dict[str, str]) -> None:
        fake = self.fake
        with fake.lock:
            script = list(fake.scripts.popleft()) if fake.scripts else []
        if script and script[0] == RESET:
            self.close_connection = True
            return
        if script and script[0][0] == "status":
            _, code, body, headers = script[0]
            self.close_connection = True
            return self._json(code, body or _default_problem(code), headers)
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        try:
            for step in script:
                kind = step[0]
                if kind == "tweets":
                    for tweet_id in step[1]:
                        self._chunk(self._message(fake.tweets[tweet_id], params) + b"\r\n")
                elif kind == "raw":
                    self._chunk(step[1] + b"\r\n")
                elif kind == "keepalive":
                    self._chunk(b"\r\n")
                elif kind == "pause":
                    time.sleep(step[1])
                elif kind == "until":
                    while not step[1].wait(0.05) and not fake.stopped.is_set():
                        pass
                elif kind == "drop":
                    return
                elif kind == "end":
                    self.wfile.write(b"0\r\n\r\n")
                    return
            while not fake.stopped.is_set():  # hold the line, as X does
                self._chunk(b"\r\n")
                fake.stopped.wait(KEEPALIVE_EVERY_S)
        except OSError:
            return  # the client went away

    def _message(self, tweet: dict[str, Any], params: dict[str, str]) -> bytes:
        body = self.fake.render([tweet], params)
        message: dict[str, Any] = {"data": body["data"][0]}
        if "includes" in body:
            message["includes"] = body["includes"]
        message["matching_rules"] = self.fake.matching_rules(tweet)
        return codec.dumps(message)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _default_problem(code: int) -> dict[str, Any]:
    titles = {
        401: "Unauthorized",
        403: "Forbidden",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    return problem(code, titles.get(code, "Error"))


def _set(value: str | None) -> set[str]:
    return set(value.split(",")) if value else set()
