"""Items kept as the JSON text they were stored as: checked, split and described
without decoding the rest.

A lake copied to a lake needs of each item only its identity (to validate it, merge the
writers by time and count it) and its bytes; decoding the whole item into Python
objects and encoding it again was most of the work (decoding alone 4.2 µs of a 1.3 kB
sample item, freeing the objects and encoding again more). Here a micro-batch file is
validated in one pass by simdjson (UTF-8, escapes, numbers, depth: it refuses what
`codec.loads` refuses), split into its elements' bytes by msgspec (`Raw`: no objects
built), and each element's identity is read by decoding only the keys the platform's
identity function reads (`Platform.identity_fields`) into a skeleton of the item, which
`posts.describe` validates like the whole item. An item the skeleton cannot stand for
(a key it does not know, a payload that is not an object, an item `describe` refuses) is
decoded whole and described exactly, so every item gets the identity, or the error, it
would get decoded.
"""

from __future__ import annotations

from typing import Any

import msgspec

from shoot2top import codec, platforms
from shoot2top.platforms.table import Fields
from shoot2top.posts import (
    OBSERVED_AT,
    SOURCE,
    TOPIC,
    InvalidPost,
    PostInfo,
    describe,
)

Element = memoryview
"""One element of a JSON array: a view of its bytes in the file's text. It keeps that
text alive, as a decoded item keeps its file's objects: a replay holds the files its
writers are in either way (as text, a fraction of the memory)."""

_to_builtins = msgspec.to_builtins  # (a module global: it is called per item)


def split_array(data: bytes) -> list[Element] | None:
    """The elements of the JSON array `data`, as their bytes, when `codec.loads` would
    decode it; None when it would not, or might not (then decode it instead: that path
    knows every way a file can be damaged, and says which)."""
    if not codec.vouches(data):  # (stricter than orjson with integers beyond 64 bits)
        return None
    try:  # (refuses a leading byte-order mark, as orjson does: simdjson skips it)
        return [memoryview(raw) for raw in _SPLIT.decode(data)]
    except (msgspec.DecodeError, RecursionError):
        return None


def describe_elements(data: bytes, elements: list[Element]) -> list[PostInfo | None]:
    """Each element's identity (`posts.describe` of the item it holds) read from its
    skeleton, or None where the skeleton cannot stand for the item: decode that one
    (`describe_exactly`). `data` is the array the elements were split from."""
    try:
        skeletons = _SKELETONS.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        skeletons = [_skeleton_or_none(element) for element in elements]
    infos: list[PostInfo | None] = []
    keep = infos.append
    for skeleton in skeletons:
        if skeleton is None:
            keep(None)
            continue
        try:
            keep(describe(_to_builtins(skeleton)))
        except InvalidPost:
            keep(None)  # the exact message comes from the whole item
    return infos


def describe_exactly(element: Element) -> tuple[Any, PostInfo | InvalidPost]:
    """One element decoded whole (`codec.loads_exact`, as a decoded replay reads it) and
    its identity, or the `InvalidPost` saying why it has none."""
    item = codec.loads_exact(element)
    try:
        return item, describe(item)
    except InvalidPost as error:
        return item, error


def _skeleton_or_none(element: Element) -> Any:
    try:
        return _SKELETON.decode(element)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None


def _struct(name: str, fields: Fields, *, only_these: bool = False) -> type:
    """A msgspec Struct decoding `fields` (an object of them) and skipping the rest, or,
    `only_these`, refusing any other key. Absent keys stay absent (`UNSET`)."""
    specs: list[tuple[str, Any, Any]] = []
    for number, (key, inner) in enumerate(fields.items()):
        kind: Any = Any
        if inner is not None:
            nested = _struct(f"{name}_{number}", inner)
            kind = nested | None | msgspec.UnsetType
        specs.append((f"f{number}", kind, msgspec.field(default=msgspec.UNSET, name=key)))
    return msgspec.defstruct(name, specs, forbid_unknown_fields=only_these)


def _item_fields() -> Fields:
    """Every top-level key `describe` or an identity function reads: each type key
    (with its platform's payload keys), the metadata keys, each platform's item keys."""
    fields: dict[str, Fields | None] = {OBSERVED_AT: None, SOURCE: None, TOPIC: None}
    for platform in platforms.registered("shoot2top.encoded"):
        if platform.identity_fields is None:
            continue  # no skeleton: its items are unknown keys, decoded whole
        fields[platform.type_key] = platform.identity_fields
        fields.update(platform.item_fields)
    return fields


_Skeleton = _struct("Skeleton", _item_fields(), only_these=True)
_SPLIT = msgspec.json.Decoder(list[msgspec.Raw])
_SKELETON: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_Skeleton)
_SKELETONS = msgspec.json.Decoder(list[_Skeleton])  # type: ignore[valid-type]
