"""Facebook: items are ``post`` objects, Graph API Page posts, Page videos and live
videos."""

from __future__ import annotations

from typing import Any

from shoot2top.platforms.table import Platform

PAGE = "_page"  # item metadata: the Page whose listing returned an object without `from`


def post_identity(payload: dict[str, Any], obj: dict[str, Any]) -> tuple[Any, Any, Any]:
    """A Page post, Page video or live video (``creation_time``); without ``from`` it
    belongs to the Page that was listed (`PAGE`), else to the Page its id names."""
    page = payload.get("from")
    author = page.get("id") if isinstance(page, dict) else None
    if author is None:
        listed = obj.get(PAGE)
        author = listed.get("id") if isinstance(listed, dict) else None
        if author is None:
            author = page_of_post_id(payload.get("id"))
    created = payload.get("created_time")
    if created is None:
        created = payload.get("creation_time")  # a LiveVideo node
    return payload.get("id"), author, created


def page_of_post_id(post_id: Any) -> str | None:
    """The Page id in a Page post id (``{page id}_{post id}``), else None."""
    if isinstance(post_id, str):
        page, underscore, number = post_id.partition("_")
        if underscore and page.isdecimal() and number.isdecimal():
            return page
    return None


PLATFORM = Platform(
    name="facebook",
    type_key="post",
    identity=post_identity,
    extractor="shoot2top.warehouse.features:extract_post",
    source_config="shoot2top.config:FacebookSourceConfig",
    source="shoot2top.sources.facebook:FacebookSource",
    secrets=("access_token",),
    identity_fields={
        "id": None,
        "from": {"id": None},
        "created_time": None,
        "creation_time": None,
    },
    item_fields={PAGE: {"id": None}},
)
