"""Facebook Graph API source: configured Pages' posts, videos and live videos, and their
metrics over time.

Every ``poll_interval_s`` each Page's ``/posts``, ``/videos`` and ``/live_videos`` are
listed since that listing's watermark (cursor paging until the end or older items), and
the new objects are emitted oldest first as ``{"post": <Graph object>}`` with the Page as
topic. A Page video
is the Video node (it has ``length``) with its ``video_insights`` edge merged in
field-expansion shape (``{"data": [total_video_views]}``), which is where the warehouse
reads views. Emitted items are tracked (`RefreshTracker`) and re-read on the decaying
schedule with multi-id reads (``?ids=a,b,…``, up to 50), each answer a new observation
(source ``<name>.refresh``); an object that no longer exists is forgotten. An object that
comes without ``from`` belongs to the Page that was listed: the item carries that Page
(``{"id", "name"}``, read once per Page per run) under the reserved key ``_page``. Posts
carry ``status_type``, so the warehouse can tell a Page's own video post (one item with
its Video node) from a share.

A live video is a LiveVideo node (``creation_time``, ``status`` — ``LIVE``, ``VOD``,
``SCHEDULED_UNPUBLISHED``… —, ``live_views``, and ``video``: the Video node of the
broadcast), emitted as a ``post`` like the others; the warehouse makes it one item with
that Video node. The source tracks the upload once: a live video with a Video node is
tracked as that Video node (``videos:<video id>``, refreshed with its views), so the
``/videos`` listing does not emit it a second time as new, and a live video whose Video
node is already tracked is emitted (its status) but not tracked again. A live video
without one (scheduled, not yet broadcast) is tracked and refreshed as a LiveVideo.

Resume state: per Page and listing, the watermark (created time, unix s, of the newest
emitted object) and the ids emitted at that very second. The next listing asks for
``since=watermark`` (inclusive) and drops those ids: an interrupted poll resumes exactly
after its last emitted item, and the only overlap is the watermark second, deduplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from typing import Any
from urllib.parse import quote

from shoot2top.config import FacebookSourceConfig
from shoot2top.posts import PAGE, POST, InvalidPost, parse_time
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sources.base import Item
from shoot2top.sources.graph_api import GraphClient, GraphError, GraphMalformed, clean, redact
from shoot2top.sources.live import GONE, SYSTEM_CLOCK, Clock, Current, LiveSource

log = logging.getLogger(__name__)

_METRICS = "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
FIELDS = {
    "posts": "id,created_time,message,permalink_url,from,shares,status_type,"
    + _METRICS
    + ",attachments{media_type,type,url,title,target}",
    "videos": "id,created_time,updated_time,title,description,length,permalink_url,from,"
    + _METRICS,
    "live_videos": "id,creation_time,status,title,description,permalink_url,from,live_views,"
    "broadcast_start_time,video{id}," + _METRICS,
}
EDGES = tuple(FIELDS)  # a Page's listings: posts, videos, then live videos
CREATED = {"live_videos": "creation_time"}  # a LiveVideo's created time; else created_time
VIEWS_METRIC = "total_video_views"
PAGE_SIZE = 100  # `limit` of a listing page (the Graph API's maximum for these edges)
MAX_LISTING_PAGES = 100  # a runaway paging loop stops here
MULTI_ID_MAX = 50  # ids per multi-id read
DEFAULT_LOOKBACK_S = 86_400.0  # first poll of a Page, when tracking is off


class _Watermark:
    """Where one Page listing stands: the newest emitted created time and the ids
    emitted at that second."""

    def __init__(self, at: int | None = None, seen: list[str] | None = None) -> None:
        self.at = at
        self.seen = set(seen or ())

    def covers(self, created: int, item_id: str) -> bool:
        """Already emitted, or older than what was emitted."""
        if self.at is None:
            return False
        return created < self.at or (created == self.at and item_id in self.seen)

    def advance(self, created: int, item_id: str) -> None:
        if self.at is None or created > self.at:
            self.at, self.seen = created, {item_id}
        elif created == self.at:
            self.seen.add(item_id)

    def state(self) -> dict[str, Any]:
        return {"watermark": self.at, "seen": sorted(self.seen)}


class FacebookSource(LiveSource):
    """Polls configured Pages' posts and videos; refreshes tracked ones' metrics."""

    payload_type = POST
    platform = "facebook"
    secret_name = "access_token"
    refresh_batch = MULTI_ID_MAX

    def __init__(
        self,
        config: FacebookSourceConfig,
        *,
        access_token: str,
        resume: dict[str, Any] | None = None,
        dead_letters: DeadLetters | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(config, secret=access_token, clock=clock, dead_letters=dead_letters)
        self.config = config
        self.pages = list(dict.fromkeys(config.pages))
        self.lookback_s = self.tracker.window_s or DEFAULT_LOOKBACK_S
        self.version = config.api_version
        self.graph = GraphClient(
            name=self.label,
            api_url=config.api_url,
            token=access_token,
            clock=clock,
            wait=self.wait,
            throttle_at_pct=config.throttle_at_pct,
            on_response=self._count_response,
        )
        self.marks = {page: {edge: _Watermark() for edge in EDGES} for page in self.pages}
        self._page_nodes: dict[str, dict[str, Any]] = {}  # configured Page -> {id, name}
        self._next_poll = dict.fromkeys(self.pages, 0.0)
        self._resume(resume)

    # ------------------------------------------------------------------ the stream

    def __iter__(self) -> Iterator[Item | None]:
        while True:
            for page in self.pages:
                started = self.clock.time()
                if self._next_poll[page] <= started:
                    yield from self._poll(page)
                    self._next_poll[page] = started + self.config.poll_interval_s
            yield from self.refresh_until(min(self._next_poll.values()))

    def _poll(self, page: str) -> Iterator[Item | None]:
        """List a Page's new posts, videos and live videos and emit them, oldest first."""
        for edge in EDGES:
            mark = self.marks[page][edge]
            since = mark.at if mark.at is not None else int(self.clock.time() - self.lookback_s)
            path = f"/{self.version}/{quote(page, safe='')}/{edge}"
            params = {"fields": FIELDS[edge], "since": str(since), "limit": str(PAGE_SIZE)}
            try:
                found = yield from self._list(
                    path, params, since, CREATED.get(edge, "created_time")
                )
            except GraphError as error:
                self._failed(self.graph.describe(path, params), error)
                continue
            for created, obj in sorted(found, key=lambda entry: (entry[0], str(entry[1]["id"]))):
                item_id = str(obj["id"])
                if mark.covers(created, item_id):
                    continue  # the watermark second, listed again by the inclusive `since`
                key = _key(edge, obj)
                if key in self.tracker and edge != "live_videos":  # emitted already
                    self.duplicates_dropped += 1  # (under another Page, or as a live video)
                    mark.advance(created, item_id)
                    continue
                if edge == "videos":
                    obj = yield from self._with_views(obj)
                payload = redact(obj, self.graph.token)
                mark.advance(created, item_id)
                if self.valid(payload, self.graph.describe(path, params)) is None:
                    continue
                self.track(key, created, page)
                yield (yield from self._stamped(payload, edge, page))

    def _list(
        self, path: str, params: dict[str, str], since: int, created_field: str
    ) -> Generator[None, None, list[tuple[int, dict[str, Any]]]]:
        """Every object of a listing created at or after `since`, following the cursors."""
        found: list[tuple[int, dict[str, Any]]] = []
        for _ in range(MAX_LISTING_PAGES):
            where = self.graph.describe(path, params)
            body = yield from self.graph.get(path, params)
            data = body.get("data")
            if not isinstance(data, list):
                raise GraphMalformed(f"GET {where}: the answer has no 'data' list")
            reached_older = False
            for obj in data:
                created = self._created(obj, where, created_field)
                if created is None:
                    continue
                if created < since:
                    reached_older = True  # listings are newest first: the rest is older
                    continue
                found.append((created, obj))
            paging = body.get("paging")
            next_url = paging.get("next") if isinstance(paging, dict) else None
            if reached_older or not data or not isinstance(next_url, str):
                return found
            path, params = self.graph.follow(next_url)
        log.warning("%s: %s: stopped after %d pages", self.name, path, MAX_LISTING_PAGES)
        return found

    def _with_views(self, video: dict[str, Any]) -> Generator[None, None, dict[str, Any]]:
        """The video with its lifetime ``total_video_views`` insight merged in."""
        path = f"/{self.version}/{quote(str(video['id']), safe='')}/video_insights"
        try:
            body = yield from self.graph.get(path, {"metric": VIEWS_METRIC})
        except GraphError as error:
            self._failed(self.graph.describe(path), error)
            return video
        insights = body.get("data")
        if not isinstance(insights, list):
            self._failed(self.graph.describe(path), GraphMalformed("no 'data' list"))
            return video
        return {**video, "video_insights": {"data": insights}}

    def _stamped(
        self, payload: dict[str, Any], how: str, page: str | None
    ) -> Generator[None, None, Item]:
        """The payload as an item; without ``from``, with the listed Page as ``_page``."""
        item = self.stamp(POST, payload, how, page)
        if page is not None and not isinstance(payload.get("from"), dict):
            node = yield from self._page_node(page)
            if node is not None:
                item[PAGE] = node
        return item

    def _page_node(self, page: str) -> Generator[None, None, dict[str, Any] | None]:
        """A configured Page's id and name (read once; None if the read fails)."""
        if page not in self._page_nodes:
            path = f"/{self.version}/{quote(page, safe='')}"
            params = {"fields": "id,name"}
            try:
                body = yield from self.graph.get(path, params)
            except GraphError as error:
                self._failed(self.graph.describe(path, params), error)
                return None
            if not isinstance(body.get("id"), str | int):
                self._failed(self.graph.describe(path, params), GraphMalformed("no Page id"))
                return None
            node = {"id": str(body["id"])}
            if isinstance(body.get("name"), str):
                node["name"] = body["name"]
            self._page_nodes[page] = node
        return self._page_nodes[page]

    # ------------------------------------------------------------------ refreshes

    def _read_current(self, keys: list[str]) -> Generator[None, None, Current]:
        """The tracked objects now, one multi-id read per listing; videos with their
        views."""
        by_edge: dict[str, list[str]] = {}
        for key in keys:
            edge, _, item_id = key.partition(":")
            by_edge.setdefault(edge, []).append(item_id)
        current: Current = {}
        for edge, ids in by_edge.items():
            found = yield from self._read_many(edge, ids)
            for item_id, obj in found.items():
                if obj is not None and edge == "videos":
                    obj = yield from self._with_views(obj)
                current[f"{edge}:{item_id}"] = GONE if obj is None else obj
        return current

    def _observed(self, key: str, payload: dict[str, Any]) -> Generator[None, None, Item | None]:
        payload = redact(payload, self.graph.token)
        if self.valid(payload, f"refresh of {key}") is None:
            return None
        return (yield from self._stamped(payload, "refresh", self.topic_of.get(key)))

    def _read_many(
        self, edge: str, ids: list[str]
    ) -> Generator[None, None, dict[str, dict[str, Any] | None]]:
        """Current objects by id (None: gone); ids whose read failed are absent. One
        multi-id read; if it fails because some object is gone, one read per id."""
        path = f"/{self.version}/"
        params = {"ids": ",".join(ids), "fields": FIELDS[edge]}
        try:
            body = yield from self.graph.get(path, params)
            return {
                item_id: body[item_id] for item_id in ids if isinstance(body.get(item_id), dict)
            }
        except GraphError as error:
            if not error.gone:
                self._failed(self.graph.describe(path, params), error)
                return {}
        found: dict[str, dict[str, Any] | None] = {}
        for item_id in ids:
            one = f"/{self.version}/{quote(item_id, safe='')}"
            try:
                found[item_id] = yield from self.graph.get(one, {"fields": FIELDS[edge]})
            except GraphError as error:
                if error.gone:
                    found[item_id] = None
                else:
                    self._failed(self.graph.describe(one), error)
        return found

    # ------------------------------------------------------------------ state

    def _position(self) -> dict[str, Any]:
        return {
            "pages": {
                page: {edge: mark.state() for edge, mark in edges.items()}
                for page, edges in self.marks.items()
            }
        }

    def _restore_position(self, state: dict[str, Any]) -> None:
        for page, edges in (state.get("pages") or {}).items():
            if page not in self.marks:
                continue  # a Page no longer configured
            for edge, mark in (edges or {}).items():
                if edge in self.marks[page]:
                    self.marks[page][edge] = _Watermark(mark.get("watermark"), mark.get("seen"))

    # ------------------------------------------------------------------ helpers

    def _created(self, obj: Any, where: str, field: str) -> int | None:
        """An object's created time (unix s), or None after dead-lettering it."""
        if not isinstance(obj, dict) or not obj.get("id"):
            self.dead_letter(where, "listing entry without an id", obj)
            return None
        try:
            return int(parse_time(obj.get(field), field).timestamp())
        except InvalidPost as error:
            self.dead_letter(where, f"{obj['id']}: {error}", obj)
            return None

    def _failed(self, where: str, error: GraphError) -> None:
        """A call that failed for good (a ``skip``): dead-lettered with the body excerpt."""
        self.dead_letter(where, str(error), error.body)

    def scrub_text(self, text: str) -> str:
        """`text` without the token, and without token parameters in URLs."""
        return clean(text, self.graph.token)

    def _count_response(self, size: int) -> None:
        self.api_calls += 1
        self.bytes_read += size

    def close(self) -> None:
        self.graph.close()

    def report(self) -> str:
        return f"{super().report()}; {self.graph.throttled_s:,.0f} s throttled"


def _key(edge: str, obj: dict[str, Any]) -> str:
    """What a listed object is tracked as: ``<edge>:<id>``; a live video with a Video node
    is tracked as that Video node (one upload, one series of refreshes)."""
    video = obj.get("video") if edge == "live_videos" else None
    video_id = video.get("id") if isinstance(video, dict) else None
    if isinstance(video_id, str | int) and not isinstance(video_id, bool) and str(video_id):
        return f"videos:{video_id}"
    return f"{edge}:{obj['id']}"
