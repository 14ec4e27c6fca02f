"""JSON encoding and decoding for the whole project, in one place.

orjson is used because `bench/codec.py` measures it several times faster than ujson on
our items (figures in the README). Everything else calls these functions, never a JSON
library directly, so the codec can be swapped here alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

DecodeError = orjson.JSONDecodeError
EncodeError = orjson.JSONEncodeError


dumps: Callable[[Any], bytes] = orjson.dumps
"""Compact UTF-8 JSON bytes (the codec itself, not a wrapper: it is on every hot path)."""


def dumps_pretty(obj: Any) -> bytes:
    """Indented JSON for humans (reports, state files)."""
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


loads: Callable[[bytes | bytearray | memoryview | str], Any] = orjson.loads
"""Decode JSON; raises `DecodeError` (a ValueError) on malformed input."""


def encode_array(encoded_items: list[bytes]) -> bytes:
    """Join already-encoded items into one JSON array (a lake micro-batch)."""
    return b"[" + b",".join(encoded_items) + b"]"


def salvage_array(data: bytes) -> list[Any]:
    """The complete leading elements of a damaged JSON array (a truncated micro-batch).

    Used only on files that failed to decode, so speed does not matter here; the stdlib
    decoder is the one that can resume mid-document.
    """
    import json

    text = data.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    if not text.startswith("[", position):
        return []
    position += 1
    items: list[Any] = []
    while True:
        position = _skip_space(text, position)
        if text.startswith("]", position):
            return items
        try:
            item, position = decoder.raw_decode(text, position)
        except ValueError:
            return items
        items.append(item)
        position = _skip_space(text, position)
        if text.startswith(",", position):
            position += 1
        else:
            return items


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
