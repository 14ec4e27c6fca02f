"""Hostile inputs for the fault drills: built small and fast, each as a user would meet it."""

from __future__ import annotations

import zlib

from shoot2top import codec


def gzip_bomb(members: int = 40) -> bytes:
    """About 10 MB of gzip that inflates to `members` x 256 MiB (10 GiB by default): one
    member of zeros, repeated (a valid multi-member gzip file)."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    member = b"".join([deflate.compress(zeros) for _ in range(256)] + [deflate.flush()])
    return member * members


def nested(depth: int) -> bytes:
    """A JSON array nested `depth` deep."""
    return b"[" * depth + b"]" * depth


def deep_item(depth: int) -> dict:
    """A streamable-looking object whose payload nests `depth` levels in all."""
    value: list = []
    inner = value
    for _ in range(depth - 4):  # the item, "tweet", "data" and "deep" are the first four
        inner.append([])
        inner = inner[0]
    data = {"id": "deep", "created_at": "2026-11-20T10:00:00.000Z", "author_id": "1", "deep": value}
    return {"tweet": {"data": data}, "_observed_at": "2026-11-20T10:00:00Z"}


def encoded(items: list) -> bytes:
    return codec.dumps(items)
