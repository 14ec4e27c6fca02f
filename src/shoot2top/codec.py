"""JSON encoding and decoding for the whole project, in one place.

orjson is used because `bench/codec.py` measures it several times faster than ujson on
our items (figures in docs/benchmarks.md). Everything else calls these functions, never a JSON
library directly, so the codec can be swapped here alone.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import simdjson

from shoot2top.limits import MAX_DEPTH, MAX_ITEM_BYTES

Buffer = bytes | memoryview
"""JSON text: bytes, or a view of a stored file's bytes (an item kept as stored)."""
DecodeError = orjson.JSONDecodeError
EncodeError = orjson.JSONEncodeError


dumps: Callable[[Any], bytes] = orjson.dumps
"""Compact UTF-8 JSON bytes (the codec itself, not a wrapper: it is on every hot path)."""


def dumps_pretty(obj: Any, *, sort_keys: bool = True) -> bytes:
    """Indented JSON for humans (reports, state files); keys sorted unless the order
    carries meaning (a report's columns)."""
    option = orjson.OPT_INDENT_2 | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    return orjson.dumps(obj, option=option)


loads: Callable[[bytes | bytearray | memoryview | str], Any] = orjson.loads
"""Decode JSON; raises `DecodeError` (a ValueError) on malformed input."""


def encode_array(encoded_items: Sequence[Buffer]) -> bytes:
    """Join already-encoded items into one JSON array (a lake micro-batch), copying the
    items once (brackets added around the whole took two copies: 0.39 vs 0.16 ms for
    1,000 sample items)."""
    if len(encoded_items) < 2:
        return b"[" + b"".join(encoded_items) + b"]"
    last = b"".join((encoded_items[-1], b"]"))  # (a view of stored text has no `+`)
    return b",".join([b"[" + encoded_items[0], *encoded_items[1:-1], last])


COLLECT_EVERY = 50_000


@contextmanager
def fewer_collections(every: int | None = COLLECT_EVERY) -> Iterator[None]:
    """Let the cyclic garbage collector run less while the block moves decoded items:
    after `every` new objects instead of 700, or not at all (`every=None`, for a block
    that makes and drops a whole batch's objects, as the warehouse's batch preparation
    does). Items are trees with no cycle for it to find, and its walks over the objects
    in flight took a fifth of a replay's CPU (measured: 18.5k vs 24k items/s of CPU
    time) and a tenth of a batch preparation's. Thresholds, and whether the collector
    is on, are restored on the way out; an application that turned it off keeps it off.
    """
    previous, enabled = gc.get_threshold(), gc.isenabled()
    if every is None:
        gc.disable()
    else:
        gc.set_threshold(max(every, previous[0]), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        if enabled:
            gc.enable()


def loads_exact(data: bytes | memoryview) -> Any:
    """Decode like `loads`, but integers beyond 64 bits exactly (orjson would read them as
    doubles: 10^30 as 1e+30). Lake files are read through here: the lake is the system
    of record. Costs a validation by simdjson (`vouches`: it refuses such integers),
    about a seventh of orjson's decoding time and half the byte scan it replaced, and,
    only for text it refuses, a second, stdlib decode."""
    value = orjson.loads(data)  # validates: NaN, infinity, lone surrogates are refused
    if vouches(data):
        return value
    try:
        return json.loads(bytes(data))
    except RecursionError:  # deeper than Python's limit lets the stdlib go from here
        pass
    with _deeper_recursion(STDLIB_DEPTH):  # orjson accepted it: at most 1,024 levels
        return json.loads(bytes(data))


STDLIB_DEPTH = 1100
"""Python recursion levels the stdlib decoder may use beyond the caller's own, for text
orjson accepted (1,024 levels at most)."""


def decoded(item: Any) -> Any:
    """An item as a Python value: a decoded one as it is, one given as its JSON text
    (`Buffer`) decoded exactly (`loads_exact`)."""
    return item if isinstance(item, dict) else loads_exact(item)


@contextmanager
def _deeper_recursion(levels: int) -> Iterator[None]:
    """Python's recursion limit raised by `levels` while the block runs (every thread's:
    raising it only lets others go deeper too), then restored."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(previous + levels)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


_parsers = threading.local()


def vouches(data: bytes | memoryview) -> bool:
    """Whether simdjson accepts `data` as JSON: it refuses all that orjson refuses
    (invalid UTF-8, lone surrogates, numbers beyond a double, depth beyond 1,024…) and
    also integers beyond 64 bits, which orjson reads as doubles. One pass at about
    2 GB/s; nothing is decoded into Python objects."""
    parser: simdjson.Parser | None = None
    if len(data) <= KEPT_PARSER_BYTES:  # a parser keeps the buffers of its largest text
        parser = getattr(_parsers, "parser", None)
        if parser is None:
            parser = _parsers.parser = simdjson.Parser()
    else:
        parser = simdjson.Parser()
    try:
        document = parser.parse(data)
    except (ValueError, RuntimeError):  # a refusal (RuntimeError: a big integer); the
        return False  # reason is orjson's to give. (The parser is used here alone.)
    del document  # a parser's document must be released before its next parse
    return True


KEPT_PARSER_BYTES = 4 * 1024 * 1024
"""Texts up to this size are checked by a parser kept per thread; a larger one (a lake
file may reach `MAX_BATCH_BYTES`) gets its own, so no thread keeps ~4x that in buffers."""


class Unencodable(ValueError):
    """An item no sink can store as JSON; the message says why (one line, no item)."""


def encode_item(item: Any, *, sort_keys: bool = False) -> bytes:
    """One item as compact JSON (keys sorted if asked), or `Unencodable` saying why it
    cannot be: nested deeper than `MAX_DEPTH`, a string that is not valid Unicode (a lone
    surrogate), a number out of range, or larger than `MAX_ITEM_BYTES`. Every sink encodes
    through here, so each refuses the same items, alone, with the same reason. Integers
    beyond 64 bits are written exactly (by the stdlib encoder: orjson refuses them)."""
    try:
        encoded = orjson.dumps(item, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except orjson.JSONEncodeError as error:
        if "64-bit" not in str(error):
            raise Unencodable(unencodable_reason(error)) from None
        encoded = _encode_exactly(item, sort_keys)
    problem = size_problem(len(encoded))
    if problem:
        raise Unencodable(problem)
    return encoded


def encode_items(items: Sequence[Any]) -> Sequence[bytes | Unencodable]:
    """`encode_item` of every item (compact, keys as they are), in one pass when all of
    them are plain (the common case: a sink's batch); an item that cannot be encoded is
    its `Unencodable` error, in its place, so the others are stored."""
    try:
        encoded = [orjson.dumps(item) for item in items]
    except orjson.JSONEncodeError:
        return [_encoded_or_error(item) for item in items]
    if max(map(len, encoded), default=0) > MAX_ITEM_BYTES:
        return [_encoded_or_error(item) for item in items]
    return encoded


def _encoded_or_error(item: Any) -> bytes | Unencodable:
    try:
        return encode_item(item)
    except Unencodable as error:
        return error


def _encode_exactly(item: Any, sort_keys: bool) -> bytes:
    """The stdlib encoder, held to orjson's rules (depth, Unicode, finite numbers)."""
    if _depth(item) > MAX_DEPTH:
        raise Unencodable(f"nested deeper than {MAX_DEPTH} levels")
    try:
        text = json.dumps(
            item, ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=sort_keys
        )
        return text.encode()
    except UnicodeEncodeError:
        raise Unencodable(_SURROGATE) from None
    except (TypeError, ValueError) as error:
        raise Unencodable(f"not encodable as JSON: {error}") from None


def _depth(value: Any) -> int:
    """Nesting depth of containers, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, dict):
            current = current.values()
        elif not isinstance(current, list | tuple):
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            stack.extend((child, level + 1) for child in current)
    return deepest


def size_problem(size: int) -> str | None:
    """What is wrong with the size of an item of `size` bytes as JSON, if anything."""
    if size <= MAX_ITEM_BYTES:
        return None
    limit = MAX_ITEM_BYTES // 1024 // 1024
    return f"item is {size:,} bytes as JSON, more than the {limit} MiB limit"


def unencodable_reason(error: BaseException) -> str:
    """Why the codec could not encode something, in words (from its `EncodeError`)."""
    message = str(error)
    if "Recursion limit" in message:
        return f"nested deeper than {MAX_DEPTH} levels"
    if "surrogates not allowed" in message:
        return _SURROGATE
    return f"not encodable as JSON: {message}"


_SURROGATE = "a string holds a lone UTF-16 surrogate (not valid Unicode, e.g. \\ud800)"


def dead_letter_text(value: Any, limit: int = 64 * 1024) -> str:
    """Any value as faithful JSON text for a dead-letter report, even one `encode_item`
    refuses: lone surrogates as \\u escapes, big integers exact. Deeper than Python can
    walk, or longer than `limit` characters, it is cut and says so."""
    try:
        text = json.dumps(value, ensure_ascii=True, allow_nan=True)
    except RecursionError:
        return f"(not kept: nested too deep to encode; {type(value).__name__})"
    except (TypeError, ValueError) as error:
        text = f"(not JSON: {error}) {value!r:.{limit}}"
    if len(text) > limit:
        return f"{text[:limit]}… (cut: {len(text):,} characters in all)"
    return text


@dataclass(frozen=True, slots=True)
class BadElement:
    """An element of a damaged JSON array that could not be decoded, though its bounds
    are known (the damage is contained in it): why, and its bytes as text."""

    reason: str
    raw: str


@dataclass(frozen=True, slots=True)
class Salvaged:
    """What `salvage` recovered: the elements up to the damage (a `BadElement` in place
    of each one that is bad on its own) and what is wrong, or None."""

    items: list[Any]
    problem: str | None


_SPACE = b" \t\r\n"
# A whole string (escapes included), a structural character, or a quote that opens a
# string never closed. Structural bytes are ASCII, so invalid UTF-8 cannot hide one.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[][{},]|"', re.DOTALL)
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")
_COMMA, _QUOTE, _BRACKET = ord(","), ord('"'), ord("]")
RAW_KEPT = 64 * 1024


def salvage(data: bytes) -> Salvaged:
    """Recover what a damaged JSON array still holds, decoded exactly as the whole file
    would have been (`loads_exact`, so the same values).

    Elements are delimited by scanning brackets and strings without recursion, so a
    nesting of any depth costs no stack. An element that fails on its own (invalid UTF-8,
    too deep, a number out of range, a lone surrogate escape) becomes a `BadElement` and
    the scan goes on after it; broken structure (truncation, garbage) ends the scan there.
    Only for files that failed to decode: it is slower than the decoder.
    """
    position = _skip_space(data, 0)
    if position == len(data) or data[position] != ord("["):
        return Salvaged([], _not_an_array(data, position))
    view = memoryview(data)
    items: list[Any] = []
    position += 1
    while True:
        start = _skip_space(data, position)
        if start == len(data):
            return Salvaged(items, _damage(items, f"truncated after item {len(items) - 1}"))
        if not items and data[start] == _BRACKET:
            return Salvaged(items, _trailing(data, start + 1, items))
        end = _element_end(data, start)
        if end is None:
            if data.rstrip(_SPACE).endswith(b"]"):  # an array's end: garbage, not truncation
                where = f"item {len(items)} is malformed: its quotes or brackets do not balance"
            else:
                where = f"truncated inside item {len(items)} (the file ends at byte {len(data)})"
            return Salvaged(items, _damage(items, where))
        element = view[start : _rstrip_space(data, start, end)]
        try:
            items.append(loads_exact(element))
        except orjson.JSONDecodeError as error:
            reason = _element_problem(bytes(element), start, str(error))
            if reason is None:
                message = str(error).split(":", 1)[0]
                where = f"item {len(items)} is malformed at byte {start + error.pos}: {message}"
                return Salvaged(items, _damage(items, where))
            raw = bytes(element[:RAW_KEPT]).decode("utf-8", errors="backslashreplace")
            items.append(BadElement(reason, raw))
        if data[end] != _COMMA:
            if data[end] != _BRACKET:
                where = f"expected ',' or ']' after item {len(items) - 1}, at byte {end}"
                return Salvaged(items, _damage(items, where))
            return Salvaged(items, _trailing(data, end + 1, items))
        position = end + 1


def _element_end(data: bytes, start: int) -> int | None:
    """Where the element starting at `start` ends: the index of the ',' or closing bracket
    after it at depth 0; None if the data ends first."""
    depth = 0
    for token in _TOKEN.finditer(data, start):
        first = data[token.start()]
        if first == _QUOTE:
            if token.end() - token.start() == 1:
                return None  # a string that never closes
        elif first in _OPEN:
            depth += 1
        elif first in _CLOSE:
            if depth == 0:
                return token.start()
            depth -= 1
        elif depth == 0:  # a comma
            return token.start()
    return None


def _element_problem(element: bytes, start: int, message: str) -> str | None:
    """Why one well-delimited element does not decode, or None if its structure is
    broken (then nothing after it can be trusted)."""
    if "not valid UTF-8" in message:
        try:
            element.decode("utf-8")
        except UnicodeDecodeError as error:
            offset, byte = start + error.start, element[error.start]
        else:  # pragma: no cover - orjson and Python agree on UTF-8
            offset, byte = start, element[0]
        try:
            orjson.loads(element.decode("utf-8", errors="replace"))
        except orjson.JSONDecodeError:
            return None  # garbage, not just a bad byte: the structure is broken too
        return f"invalid UTF-8: byte 0x{byte:02x} at byte {offset} of the file"
    if "depth limit" in message:
        return f"nested deeper than {MAX_DEPTH} levels"
    if "infinity" in message:
        return "a number out of range (beyond a 64-bit float)"
    if "surrogate" in message:
        return "a lone UTF-16 surrogate escape (not valid Unicode)"
    return None


def _damage(items: list[Any], where: str) -> str:
    recovered = sum(not isinstance(item, BadElement) for item in items)
    plural = "" if recovered == 1 else "s"
    return f"malformed JSON: {where}; recovered {recovered} complete item{plural} before the damage"


def _trailing(data: bytes, position: int, items: list[Any]) -> str | None:
    rest = _skip_space(data, position)
    if rest == len(data):
        return None
    return _damage(items, f"{len(data) - rest} stray bytes after the array, at byte {rest}")


def _not_an_array(data: bytes, position: int) -> str:
    if position == len(data):
        return "empty file (whitespace only)"
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        head = data[position : position + 8]
        if any(byte < 0x09 or 0x0D < byte < 0x20 or byte >= 0x80 for byte in head):
            return f"malformed JSON: binary data, not JSON text (begins {head.hex(' ')})"
        return f"malformed JSON at byte {error.pos}: {str(error).split(':', 1)[0]}"
    return f"not a JSON array but a JSON {type(value).__name__}"


def _skip_space(data: bytes, position: int) -> int:
    while position < len(data) and data[position] in _SPACE:
        position += 1
    return position


def _rstrip_space(data: bytes, start: int, end: int) -> int:
    while end > start and data[end - 1] in _SPACE:
        end -= 1
    return end
