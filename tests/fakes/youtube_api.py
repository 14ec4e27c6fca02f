"""A fake YouTube Data API v3 on loopback: ``/youtube/v3/search`` and ``/youtube/v3/videos``.

It answers in the documented wire format — ``youtube#searchListResponse`` pages (kind,
etag, nextPageToken/prevPageToken, regionCode, pageInfo, items with ``id.videoId``) and
``youtube#videoListResponse`` with full video resources (only the requested parts) —
checks the ``key`` parameter (400 ``keyInvalid``, in the legacy or the current error
shape), honours ``q``, ``type``, ``order=date``, ``publishedAfter`` (inclusive),
``maxResults`` and ``pageToken``, and counts quota per Pacific day (403
``quotaExceeded``). Tests script faults per endpoint (5xx, quota, forbidden, malformed
JSON, dropped connection) and read back every call with the fake clock's time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from fakes.http import serve

PACIFIC = ZoneInfo("America/Los_Angeles")
QUOTA_MESSAGE = (
    'The request cannot be completed because you have exceeded your <a href="/youtube/v3/'
    'getting-started#quota">quota</a>.'
)
VIDEO_PARTS = ("snippet", "statistics", "contentDetails")
MAX_IDS = 50


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _etag(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True).encode()).hexdigest()[:27]


def google_error(
    code: int, message: str, reason: str, domain: str = "global", status: str | None = None
) -> dict[str, Any]:
    """The JSON error body Google APIs send: ``{"error": {code, message, errors, status}}``."""
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
    }
    if status:
        error["status"] = status
    return {"error": error}


BAD_KEY_LEGACY = {
    "error": {
        "errors": [{"domain": "usageLimits", "reason": "keyInvalid", "message": "Bad Request"}],
        "code": 400,
        "message": "Bad Request",
    }
}
BAD_KEY_CURRENT = {
    "error": {
        **google_error(
            400,
            "API key not valid. Please pass a valid API key.",
            "badRequest",
            status="INVALID_ARGUMENT",
        )["error"],
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "youtube.googleapis.com"},
            }
        ],
    }
}
FAULTS: dict[str, tuple[int, Any]] = {
    "500": (
        500,
        google_error(500, "Internal error encountered.", "backendError", status="INTERNAL"),
    ),
    "503": (
        503,
        google_error(
            503, "The service is currently unavailable.", "backendError", "global", "UNAVAILABLE"
        ),
    ),
    "quota": (403, google_error(403, QUOTA_MESSAGE, "quotaExceeded", "youtube.quota")),
    "forbidden": (
        403,
        google_error(
            403, "The caller does not have permission", "forbidden", status="PERMISSION_DENIED"
        ),
    ),
    "bad_request": (
        400,
        google_error(400, "Invalid value for parameter publishedAfter", "invalidValue"),
    ),
    "malformed": (200, b'{"kind": "youtube#searchListResponse", "items": [{"kind": '),
    "not_json": (200, b"<html><body>Service temporarily overloaded</body></html>"),
}


@dataclass
class Call:
    """One request the fake received: endpoint (``search``/``videos``), query, clock time."""

    endpoint: str
    params: dict[str, str]
    at: float
    status: int = 200

    @property
    def ids(self) -> list[str]:
        return self.params["id"].split(",") if self.params.get("id") else []


@dataclass
class FakeYouTube:
    """The fake's state; tests add videos, script faults and read `calls`."""

    key: str = "test-key"
    clock: Any = None  # a FakeClock: "now" for publication and quota days; else wall time
    page_overlap: int = 0  # each page after the first repeats this many items of the previous
    bad_key_style: str = "legacy"  # or "current"
    search_calls_per_day: int | None = None  # server-side quota (403 quotaExceeded)
    units_per_day: int | None = None
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    broken: dict[str, Any] = field(default_factory=dict)  # what videos.list returns instead
    calls: list[Call] = field(default_factory=list)
    faults: dict[str, list[str]] = field(default_factory=lambda: {"search": [], "videos": []})
    lock: threading.Lock = field(default_factory=threading.Lock)
    _spent: dict[tuple[str, str], int] = field(default_factory=dict)

    def now(self) -> datetime:
        moment = self.clock.time() if self.clock is not None else datetime.now(UTC).timestamp()
        return datetime.fromtimestamp(moment, UTC)

    def add_video(
        self,
        video_id: str,
        published: datetime,
        *,
        title: str,
        description: str = "",
        channel: str = "UCfake0000000000000000001",
        views: int = 0,
        likes: int = 0,
        comments: int = 0,
        snippet: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A full video resource as videos.list returns it (counters are strings)."""
        video = {
            "kind": "youtube#video",
            "etag": "",
            "id": video_id,
            "snippet": {
                "publishedAt": rfc3339(published),
                "channelId": channel,
                "title": title,
                "description": description,
                "thumbnails": {
                    "default": {
                        "url": f"https://i.ytimg.com/vi/{video_id}/default.jpg",
                        "width": 120,
                        "height": 90,
                    }
                },
                "channelTitle": f"Channel {channel[-4:]}",
                "tags": ["fake"],
                "categoryId": "17",
                "liveBroadcastContent": "none",
                "defaultAudioLanguage": "en",
                "localized": {"title": title, "description": description},
            },
            "contentDetails": {
                "duration": "PT4M13S",
                "dimension": "2d",
                "definition": "hd",
                "caption": "false",
                "licensedContent": True,
                "contentRating": {},
                "projection": "rectangular",
            },
            "statistics": {
                "viewCount": str(views),
                "likeCount": str(likes),
                "favoriteCount": "0",
                "commentCount": str(comments),
            },
        }
        if snippet is not None:
            video["snippet"] = snippet
        with self.lock:
            self.videos[video_id] = video
        return video

    def set_statistics(self, video_id: str, *, views: int, likes: int, comments: int) -> None:
        with self.lock:
            self.videos[video_id]["statistics"].update(
                viewCount=str(views), likeCount=str(likes), commentCount=str(comments)
            )

    def delete(self, video_id: str) -> None:
        """Deleted or made private: videos.list no longer returns it."""
        with self.lock:
            del self.videos[video_id]

    def fail(self, endpoint: str, *faults: str) -> None:
        """Answer the next requests to `endpoint` with these faults, one each, in order:
        ``500``, ``503``, ``quota``, ``forbidden``, ``bad_request``, ``malformed``, ``not_json``,
        ``disconnect``."""
        with self.lock:
            self.faults[endpoint].extend(faults)

    def endpoint_calls(self, endpoint: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.endpoint == endpoint]

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Run on a loopback port; yields the base URL to use as ``api_url``."""
        with serve(_Handler, youtube=self) as url:
            yield url + "/"

    # ------------------------------------------------------------------ answers

    def answer(self, endpoint: str, params: dict[str, str]) -> tuple[int, Any]:
        if not params.get("key"):
            return 403, google_error(
                403,
                "The request is missing a valid API key.",
                "forbidden",
                status="PERMISSION_DENIED",
            )
        if params["key"] != self.key:
            return 400, BAD_KEY_LEGACY if self.bad_key_style == "legacy" else BAD_KEY_CURRENT
        if self.faults[endpoint]:
            fault = self.faults[endpoint].pop(0)
            return FAULTS[fault] if fault != "disconnect" else (0, None)
        if self._over_quota(endpoint):
            return FAULTS["quota"]
        if "part" not in params:
            return 400, google_error(
                400, "No filter selected. Expected one of: ...", "missingRequiredParameter"
            )
        return self._search(params) if endpoint == "search" else self._videos(params)

    def _over_quota(self, endpoint: str) -> bool:
        limit = self.search_calls_per_day if endpoint == "search" else self.units_per_day
        if limit is None:
            return False
        day = (endpoint, self.now().astimezone(PACIFIC).date().isoformat())
        if self._spent.get(day, 0) >= limit:
            return True
        self._spent[day] = self._spent.get(day, 0) + 1
        return False

    def _search(self, params: dict[str, str]) -> tuple[int, Any]:
        if params.get("order", "relevance") != "date" or params.get("type") != "video":
            return 400, google_error(
                400, "this fake serves type=video&order=date only", "invalidValue"
            )
        try:
            size = int(params.get("maxResults", "5"))
            after = (
                datetime.fromisoformat(params["publishedAfter"])
                if "publishedAfter" in params
                else None
            )
        except ValueError:
            return 400, google_error(
                400, "Invalid value for publishedAfter or maxResults", "invalidValue"
            )
        if not 0 <= size <= 50:
            return 400, google_error(
                400,
                f"Invalid value '{size}'. Values must be within the range: [0, 50]",
                "invalidValue",
            )
        offset = 0
        if "pageToken" in params:
            try:
                offset = int(
                    base64.urlsafe_b64decode(params["pageToken"]).decode().removeprefix("CD")
                )
            except ValueError:
                return 400, google_error(
                    400, "The request specifies an invalid page token.", "invalidPageToken"
                )
            offset = max(0, offset - self.page_overlap)
        terms = params.get("q", "").casefold().split()
        now = self.now()
        matches = []
        for video in self.videos.values():
            snippet = video.get("snippet") or {}
            published = datetime.fromisoformat(snippet.get("publishedAt", "1970-01-01T00:00:00Z"))
            text = f"{snippet.get('title', '')} {snippet.get('description', '')}".casefold()
            if published > now or (after is not None and published < after):
                continue
            if all(term in text for term in terms):
                matches.append((published, video))
        matches.sort(key=lambda pair: (pair[0], pair[1]["id"]), reverse=True)
        page = matches[offset : offset + size]
        body: dict[str, Any] = {"kind": "youtube#searchListResponse", "etag": ""}
        end = offset + size
        if end < len(matches):
            body["nextPageToken"] = base64.urlsafe_b64encode(f"CD{end}".encode()).decode()
        if offset > 0:
            body["prevPageToken"] = base64.urlsafe_b64encode(
                f"CD{max(0, offset - size)}".encode()
            ).decode()
        body["regionCode"] = "US"
        body["pageInfo"] = {"totalResults": len(matches), "resultsPerPage": size}
        body["items"] = [self._search_result(video) for _, video in page]
        body["etag"] = _etag(body["items"])
        return 200, body

    @staticmethod
    def _search_result(video: dict[str, Any]) -> dict[str, Any]:
        snippet = video.get("snippet") or {}
        result = {
            "kind": "youtube#searchResult",
            "etag": _etag(video["id"]),
            "id": {"kind": "youtube#video", "videoId": video["id"]},
            "snippet": {
                "publishedAt": snippet.get("publishedAt"),
                "channelId": snippet.get("channelId"),
                "title": snippet.get("title"),
                "description": snippet.get("description", "")[:160],
                "thumbnails": snippet.get("thumbnails", {}),
                "channelTitle": snippet.get("channelTitle"),
                "liveBroadcastContent": "none",
                "publishTime": snippet.get("publishedAt"),
            },
        }
        return result

    def _videos(self, params: dict[str, str]) -> tuple[int, Any]:
        ids = [video_id for video_id in params.get("id", "").split(",") if video_id]
        if len(ids) > MAX_IDS:  # this fake is strict: batches above 50 ids are refused
            return 400, google_error(
                400, f"{len(ids)} ids: at most {MAX_IDS} per call", "invalidValue"
            )
        parts = set(params["part"].split(","))
        items = []
        for video_id in ids:
            video = self.videos.get(video_id)
            if video is None:
                continue  # deleted or private: simply absent
            if video_id in self.broken:
                items.append(self.broken[video_id])
                continue
            item = {
                key: value for key, value in video.items() if key not in VIDEO_PARTS or key in parts
            }
            item = json.loads(json.dumps(item))
            item["etag"] = _etag(item)
            items.append(item)
        body = {
            "kind": "youtube#videoListResponse",
            "etag": _etag(items),
            "items": items,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        }
        return 200, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "scaffolding on HTTPServer2"
    sys_version = ""

    def do_GET(self) -> None:
        fake: FakeYouTube = self.server.youtube  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        params = {name: values[-1] for name, values in parse_qs(url.query).items()}
        endpoint = {"/youtube/v3/search": "search", "/youtube/v3/videos": "videos"}.get(url.path)
        if endpoint is None:
            self._send(404, google_error(404, f"Method not found: {url.path}", "notFound"))
            return
        with fake.lock:
            call = Call(endpoint, params, fake.now().timestamp())
            fake.calls.append(call)
            status, body = fake.answer(endpoint, params)
            call.status = status
        if status == 0:  # a dropped connection: no response at all
            self.close_connection = True
            return
        self._send(status, body)

    def _send(self, status: int, body: Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, indent=2).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Vary", "Origin, X-Origin, Referer")
        self.send_header("Cache-Control", "private")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line carries ``key=``."""
