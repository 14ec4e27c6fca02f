"""A local Facebook Graph API: Pages' posts, videos and live videos, node and multi-id
reads, video insights, on the documented wire format.

- Versioned paths (``/v26.0/{page}/posts``); the token from ``Authorization: Bearer|OAuth``
  or the ``access_token`` parameter; errors as ``{"error": {"message", "type", "code",
  "error_subcode", "fbtrace_id"}}`` (a missing token is 104, a bad or expired one 190,
  with ``WWW-Authenticate``; an unknown field or object is 100, an unknown alias in
  ``ids`` 803).
- ``fields`` selects what is returned (an unknown field is an error, as upstream);
  ``reactions``/``comments`` come as ``{"data": [], "summary": {"total_count": N}}``,
  ``shares`` only once shared.
- Live videos (``/{page}/live_videos``) are LiveVideo nodes: ``creation_time`` (not
  ``created_time``), ``status`` (``LIVE``, ``VOD``, ``SCHEDULED_UNPUBLISHED``…),
  ``live_views`` and ``video`` (the Video node of the broadcast, ``{"id"}``), no ``length``.
- Listings are newest first, filtered by ``since``/``until`` (unix s, inclusive), paged
  by ``limit`` (at most `max_limit`) with opaque ``paging.cursors.before/after`` and
  absolute ``paging.next``/``previous`` URLs that carry ``access_token=`` like the real API.
- Every response has ``X-App-Usage`` (and ``X-Business-Use-Case-Usage`` when set);
  `inject` queues raw responses (throttling errors, 5xx, broken bodies) for matching paths.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

VERSION = re.compile(r"^v\d+\.\d+$")
POST_FIELDS = {
    "id", "created_time", "updated_time", "message", "permalink_url", "from", "shares",
    "reactions", "comments", "attachments", "status_type", "full_picture",
}  # fmt: skip
VIDEO_FIELDS = {
    "id", "created_time", "updated_time", "title", "description", "length", "permalink_url",
    "from", "reactions", "comments", "picture", "source", "published",
}  # fmt: skip
LIVE_VIDEO_FIELDS = {
    "id", "creation_time", "status", "title", "description", "permalink_url", "from",
    "live_views", "broadcast_start_time", "planned_start_time", "video", "reactions",
    "comments", "embed_html",
}  # fmt: skip
PAGE_FIELDS = {"id", "name", "username", "fan_count"}
THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
    "again. For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}
VIEWS_DESCRIPTION = (
    "Lifetime: Total number of times your video was viewed for 3 seconds or more. (Total Count)"
)


def fb_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def trace_id() -> str:
    return base64.b64encode(uuid.uuid4().bytes[:12]).decode()


def error_body(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    transient: bool | None = None,
    kind: str = "OAuthException",
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": kind}
    if transient is not None:
        error["is_transient"] = transient
    error["code"] = code
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = trace_id()
    return {"error": error}


@dataclass
class Fault:
    """A raw response served instead of the normal answer to a matching path (status 0:
    the connection is closed without an answer)."""

    match: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def throttled(
    code: int, match: str = "/", *, regain_minutes: int | None = None, business: str = "1"
) -> Fault:
    """The error a throttled call gets (code 4, 17, 32, 613 or 80001), optionally with
    the BUC header announcing when access comes back."""
    status = 403 if code in (4, 17, 32) else 400
    headers = {}
    if regain_minutes is not None:
        usage = {"type": "pages", "call_count": 100, "total_cputime": 12, "total_time": 14}
        usage["estimated_time_to_regain_access"] = regain_minutes
        headers["X-Business-Use-Case-Usage"] = json.dumps({business: [usage]})
    body = error_body(code, THROTTLE_MESSAGES[code], transient=True)
    return Fault(match, status, json.dumps(body).encode(), headers)


@dataclass
class Page:
    id: str
    name: str
    username: str


@dataclass
class Thing:
    """A Page post (``kind == "post"``), Page video (``"video"``) or live video
    (``"live_video"``), with its current counters. A post shows a photo, or `video` (a
    Page video of the same upload), as a live video may show its broadcast's Video node;
    `anonymous` objects come without ``from`` (as when the token may not see who
    posted)."""

    kind: str
    id: str
    page: Page
    created: int
    text: str
    reactions: int = 0
    comments: int = 0
    shares: int = 0
    views: int = 0
    length: float = 0.0
    video: Thing | None = None
    anonymous: bool = False
    status: str = "LIVE"  # a live video's
    live_views: int = 0


@dataclass
class Request:
    path: str
    query: dict[str, str]
    authorization: str | None
    at: float | None


class FakeGraph:
    """The state behind the fake API; tests add Pages, posts and videos and read
    `requests` to see what the client asked."""

    def __init__(self, token: str, *, clock: Any = None, max_limit: int = 100) -> None:
        self.token = token
        self.clock = clock
        self.max_limit = max_limit
        self.pages: dict[str, Page] = {}
        self.things: dict[str, Thing] = {}
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.app_usage = {"call_count": 2, "total_cputime": 1, "total_time": 1}
        self.buc_usage: dict[str, Any] | None = None
        self.expired = False
        self.lock = threading.Lock()
        self._serial = 0

    # ------------------------------------------------------------------ test set-up

    def add_page(self, page_id: str, name: str, username: str) -> Page:
        page = Page(page_id, name, username)
        self.pages[page_id] = self.pages[username] = page
        return page

    def add_post(self, page: Page, created: float, text: str = "", **counters: Any) -> Thing:
        self._serial += 1
        item_id = f"{page.id}_{900000 + self._serial}"
        thing = Thing("post", item_id, page, int(created), text or f"post {self._serial}")
        return self._add(thing, counters)

    def add_video(self, page: Page, created: float, text: str = "", **counters: Any) -> Thing:
        self._serial += 1
        item_id = str(7_000_000_000 + self._serial)
        thing = Thing("video", item_id, page, int(created), text or f"video {self._serial}")
        counters.setdefault("length", 42.5)
        return self._add(thing, counters)

    def add_live_video(self, page: Page, created: float, text: str = "", **counters: Any) -> Thing:
        """A LiveVideo (its `status`, `live_views`, and `video`: the broadcast's Video
        node, when there is one)."""
        self._serial += 1
        item_id = str(8_000_000_000 + self._serial)
        thing = Thing("live_video", item_id, page, int(created), text or f"live {self._serial}")
        return self._add(thing, counters)

    def _add(self, thing: Thing, counters: dict[str, Any]) -> Thing:
        for name, value in counters.items():
            setattr(thing, name, value)
        with self.lock:
            self.things[thing.id] = thing
        return thing

    def delete(self, item_id: str) -> None:
        with self.lock:
            del self.things[item_id]

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def calls(self, match: str = "") -> list[Request]:
        return [request for request in self.requests if match in request.path]

    # ------------------------------------------------------------------ answering

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault.match in path:
                    return self.faults.pop(index)
        return None

    def answer(
        self, path: str, query: dict[str, str], authorization: str | None, origin: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        token = query.get("access_token")
        if authorization and authorization.split(" ", 1)[0] in ("Bearer", "OAuth"):
            token = authorization.split(" ", 1)[1]
        if not token:
            return 400, error_body(104, "An access token is required to request this resource."), {}
        if token != self.token or self.expired:
            message = (
                "Error validating access token: Session has expired on Tuesday, 24-Nov-26 "
                "01:00:00 PST. The current time is Tuesday, 24-Nov-26 09:12:41 PST."
                if token == self.token
                else "Invalid OAuth access token - Cannot parse access token"
            )
            subcode = 463 if token == self.token else None
            header = f'OAuth "Facebook Platform" "invalid_token" "{message}"'
            return 400, error_body(190, message, subcode=subcode), {"WWW-Authenticate": header}
        parts = [part for part in path.split("/") if part]
        if not parts or not VERSION.match(parts[0]):
            return 400, error_body(2500, "Unknown path components: " + path), {}
        version, rest = parts[0], parts[1:]
        with self.lock:
            if not rest:
                return self._multi(query)
            if len(rest) == 1:
                return self._node(rest[0], query)
            if len(rest) == 2 and rest[1] in LISTINGS:
                return self._listing(rest[0], rest[1], query, f"{origin}/{version}")
            if len(rest) == 2 and rest[1] == "video_insights":
                return self._insights(rest[0], query, f"{origin}/{version}")
        return 400, error_body(2500, f"Unknown path components: /{'/'.join(rest[1:])}"), {}

    def _multi(self, query: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        ids = [item for item in query.get("ids", "").split(",") if item]
        if not ids:
            return 400, error_body(100, "Unsupported get request."), {}
        missing = [item for item in ids if item not in self.things and item not in self.pages]
        if missing:
            text = f"(#803) Some of the aliases you requested do not exist: {','.join(missing)}"
            return 404, error_body(803, text), {}
        answer = {}
        for item in ids:
            status, body, headers = self._node(item, query)
            if status != 200:
                return status, body, headers
            answer[item] = body
        return 200, answer, {}

    def _node(self, node: str, query: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        fields = top_level_fields(query.get("fields", ""))
        if node in self.things:
            thing = self.things[node]
            return self._render(thing, fields)
        if node in self.pages:
            page = self.pages[node]
            unknown = [name for name in fields if name not in PAGE_FIELDS]
            if unknown:
                return 400, nonexisting_field(unknown[0], "Page"), {}
            values = {"id": page.id, "name": page.name, "username": page.username}
            return 200, {name: values.get(name) for name in fields or ["name", "id"]}, {}
        return 400, no_such_object(node), {}

    def _listing(
        self, node: str, edge: str, query: dict[str, str], base: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        page = self.pages.get(node)
        if page is None:
            return 400, no_such_object(node), {}
        kind = LISTINGS[edge]
        since = int(query["since"]) if "since" in query else None
        until = int(query["until"]) if "until" in query else None
        things = sorted(
            (
                thing
                for thing in self.things.values()
                if thing.kind == kind
                and thing.page is page
                and (since is None or thing.created >= since)
                and (until is None or thing.created <= until)
            ),
            key=lambda thing: (thing.created, thing.id),
            reverse=True,
        )
        start = 0
        if "after" in query:
            last = decode_cursor(query["after"])
            start = next((i + 1 for i, thing in enumerate(things) if thing.id == last), len(things))
        limit = min(int(query.get("limit", 25)), self.max_limit)
        chunk = things[start : start + limit]
        data = []
        fields = top_level_fields(query.get("fields", ""))
        for thing in chunk:
            status, body, headers = self._render(thing, fields)
            if status != 200:
                return status, body, headers
            data.append(body)
        answer: dict[str, Any] = {"data": data}
        if chunk:
            paging: dict[str, Any] = {
                "cursors": {"before": cursor(chunk[0].id), "after": cursor(chunk[-1].id)}
            }
            link = {k: v for k, v in query.items() if k not in ("after", "before")}
            link["access_token"] = self.token  # as upstream: paging links carry the token
            if start:
                previous = {**link, "before": cursor(chunk[0].id)}
                paging["previous"] = f"{base}/{node}/{edge}?{urlencode(previous)}"
            if start + limit < len(things):
                following = {**link, "after": cursor(chunk[-1].id)}
                paging["next"] = f"{base}/{node}/{edge}?{urlencode(following)}"
            answer["paging"] = paging
        return 200, answer, {}

    def _insights(
        self, node: str, query: dict[str, str], base: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        thing = self.things.get(node)
        if thing is None or thing.kind != "video":
            return 400, no_such_object(node), {}
        metrics = query.get("metric", "total_video_views").split(",")
        data = []
        for metric in metrics:
            if metric != "total_video_views":
                text = f"(#100) The value must be a valid insights metric: {metric}"
                return 400, error_body(100, text), {}
            data.append(
                {
                    "name": metric,
                    "period": "lifetime",
                    "values": [{"value": thing.views}],
                    "title": "Lifetime Total Video Views",
                    "description": VIEWS_DESCRIPTION,
                    "id": f"{node}/video_insights/{metric}/lifetime",
                }
            )
        link = {"metric": ",".join(metrics), "access_token": self.token}
        now = int(self.clock.time()) if self.clock else thing.created
        paging = {
            "previous": f"{base}/{node}/video_insights?{urlencode({**link, 'until': now})}",
            "next": f"{base}/{node}/video_insights?{urlencode({**link, 'since': now})}",
        }
        return 200, {"data": data, "paging": paging}, {}

    def _render(
        self, thing: Thing, fields: list[str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        known, node_type = NODE_TYPES[thing.kind]
        created = "creation_time" if thing.kind == "live_video" else "created_time"
        fields = fields or ["id", created]  # what a node read without ``fields`` shows
        unknown = [name for name in fields if name not in known]
        if unknown:
            return 400, nonexisting_field(unknown[0], node_type), {}
        page = thing.page
        number = thing.id.rsplit("_", 1)[-1]
        values: dict[str, Any] = {
            "id": thing.id,
            "created_time": fb_time(thing.created),
            "updated_time": fb_time(thing.created + 60),
            **({} if thing.anonymous else {"from": {"name": page.name, "id": page.id}}),
            "reactions": {
                "data": [],
                "summary": {"total_count": thing.reactions, "viewer_reaction": "NONE"},
            },
            "comments": {
                "data": [],
                "summary": {"order": "ranked", "total_count": thing.comments, "can_comment": True},
            },
        }
        if thing.kind == "post":
            values["message"] = thing.text
            values["permalink_url"] = f"https://www.facebook.com/{page.id}/posts/{number}"
            if thing.video is not None:  # the Page's own upload: its Video node's id
                video_url = f"https://www.facebook.com/{page.username}/videos/{thing.video.id}/"
                values["status_type"] = "added_video"
                attachment = {"media_type": "video", "type": "video_inline", "url": video_url}
                target = {"id": thing.video.id, "url": video_url}
            else:
                photo_url = f"https://www.facebook.com/photo.php?fbid={number}"
                values["status_type"] = "added_photos"
                attachment = {"media_type": "photo", "type": "photo", "url": photo_url}
                target = {"id": number, "url": photo_url}
            attachment.update(title=thing.text, target=target)
            values["attachments"] = {"data": [attachment]}
            if thing.shares:
                values["shares"] = {"count": thing.shares}
        elif thing.kind == "live_video":
            del values["created_time"], values["updated_time"]
            values["creation_time"] = fb_time(thing.created)
            values["broadcast_start_time"] = fb_time(thing.created + 30)
            values["status"] = thing.status
            values["title"] = thing.text
            values["description"] = f"{thing.text} live"
            values["live_views"] = thing.live_views
            video_id = thing.video.id if thing.video is not None else thing.id
            values["permalink_url"] = f"/{page.username}/videos/{video_id}/"
            if thing.video is not None:
                values["video"] = {"id": thing.video.id}
        else:
            values["title"] = thing.text
            values["description"] = f"{thing.text} #highlights"
            values["length"] = thing.length
            values["permalink_url"] = f"/{page.username}/videos/{thing.id}/"
            values["published"] = True
        return 200, {name: values[name] for name in fields if name in values}, {}

    def usage_headers(self) -> dict[str, str]:
        headers = {"X-App-Usage": json.dumps(self.app_usage)}
        if self.buc_usage is not None:
            headers["X-Business-Use-Case-Usage"] = json.dumps(self.buc_usage)
        return headers


LISTINGS = {"posts": "post", "videos": "video", "live_videos": "live_video"}  # edge -> kind
NODE_TYPES = {
    "post": (POST_FIELDS, "Post"),
    "video": (VIDEO_FIELDS, "Video"),
    "live_video": (LIVE_VIDEO_FIELDS, "LiveVideo"),
}


def top_level_fields(fields: str) -> list[str]:
    """``id,reactions.summary(total_count).limit(0),attachments{a,b}`` -> the top-level
    field names ``id, reactions, attachments``."""
    names, depth, current = [], 0, ""
    for char in fields:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            names.append(current)
            current = ""
        else:
            current += char
    names.append(current)
    return [re.split(r"[.{(]", name, maxsplit=1)[0].strip() for name in names if name.strip()]


def cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": item_id}).encode()).decode().rstrip("=")


def decode_cursor(value: str) -> str | None:
    try:
        padded = value + "=" * (-len(value) % 4)
        return json.loads(base64.urlsafe_b64decode(padded))["id"]
    except (ValueError, KeyError, TypeError):
        return None


def no_such_object(node: str) -> dict[str, Any]:
    return error_body(
        100,
        f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due"
        " to missing permissions, or does not support this operation. Please read the Graph "
        "API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        kind="GraphMethodException",
    )


def nonexisting_field(name: str, node_type: str) -> dict[str, Any]:
    return error_body(
        100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
    )


class GraphHandler(BaseHTTPRequestHandler):
    """Serves ``self.server.graph`` (a `FakeGraph`)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        graph: FakeGraph = self.server.graph  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        authorization = self.headers.get("Authorization")
        at = graph.clock.time() if graph.clock else None
        with graph.lock:
            graph.requests.append(Request(split.path, query, authorization, at))
        fault = graph.take_fault(split.path)
        if fault is not None and fault.status == 0:  # a network failure: no answer at all
            self.close_connection = True
            return
        if fault is not None:
            headers = {"Content-Type": "application/json; charset=UTF-8", **fault.headers}
            self._send(fault.status, fault.body, headers)
            return
        origin = f"http://{self.headers.get('Host')}"
        status, body, extra = graph.answer(split.path, query, authorization, origin)
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "facebook-api-version": split.path.strip("/").split("/")[0],
            "x-fb-rev": "1019982734",
            "x-fb-trace-id": trace_id(),
            **graph.usage_headers(),
            **extra,
        }
        self._send(status, json.dumps(body).encode(), headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
