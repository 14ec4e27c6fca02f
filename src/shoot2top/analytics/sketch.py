"""The long tail of new terms in a bucket: a Count-Min sketch per shard of terms.

A detector counts a bucket's terms exactly (distinct items, publishers) for the first
`exact_room` keys of each shard; past that room the shard's further new keys only go
through a `CountMin` sketch (Cormode & Muthukrishnan, 2005; conservative update after
Estan & Varghese, 2002) of fixed size, and a key whose estimate reaches `PROMOTE_AT` is
promoted to exact counting in one of `promoted_room` slots, space-saving style
(Metwally et al., 2005): a full set of slots gives way to a key whose estimate exceeds
the weakest slot's count. So memory per open bucket is bounded whatever the number of
distinct terms in it, and a heavy term still gets exact counts and publishers.

Terms are cut in `SHARDS` shards by CRC-32 (`shard_of`), and everything here is per
shard: detectors that each hold whole shards (the in-process partitions, Storm's fields
grouping on the shard) see, per shard, the same uses in the same order, so they make the
same decisions as one detector of all terms — a sketch shared across shards would not.
"""

from __future__ import annotations

import base64
import sys
import zlib
from array import array
from hashlib import blake2b
from typing import Any

SHARDS = 64  # the detector parallelism must divide it for CRC-32 partitions (1, 2, 4…)
PROMOTE_AT = 2  # a key counted in the sketch this often in a bucket is worth exact counts


def shard_of(term: str) -> int:
    """A stable shard of a term (CRC-32, not the salted `hash`)."""
    return zlib.crc32(term.encode()) % SHARDS


class CountMin:
    """A Count-Min sketch with conservative update: `add` gives the key's estimate, never
    below its true count; the error grows with the total added over `width`."""

    __slots__ = ("cells", "depth", "mask", "width")

    def __init__(self, width: int = 2048, depth: int = 4) -> None:
        self.check(width, depth)
        self.width, self.depth, self.mask = width, depth, width - 1
        self.cells = array("I", bytes(4 * width * depth))

    @staticmethod
    def check(width: int, depth: int) -> None:
        """`ValueError` naming the size unless `width` is a power of two in 2..65536
        and `depth` in 1..4 (each row takes 16 bits of one 64-bit hash)."""
        if width < 2 or width > 1 << 16 or width & (width - 1) or not 1 <= depth <= 4:
            raise ValueError(
                f"count-min sketch: width must be a power of two in 2..65536 and depth "
                f"1..4, got width {width}, depth {depth}"
            )

    def _cells_of(self, key: str) -> list[int]:
        hashed = int.from_bytes(blake2b(key.encode(), digest_size=8).digest(), "little")
        width, mask = self.width, self.mask
        return [row * width + ((hashed >> (16 * row)) & mask) for row in range(self.depth)]

    def add(self, key: str, count: int = 1) -> int:
        """Count `key` `count` times more; its new estimate."""
        cells = self.cells
        where = self._cells_of(key)
        estimate = min(cells[i] for i in where) + count
        for i in where:
            if cells[i] < estimate:
                cells[i] = estimate
        return estimate

    def estimate(self, key: str) -> int:
        cells = self.cells
        return min(cells[i] for i in self._cells_of(key))

    @property
    def total_cells(self) -> int:
        return len(self.cells)

    def to_record(self) -> dict[str, Any]:
        cells = array("I", self.cells)
        if sys.byteorder == "big":
            cells.byteswap()
        packed = base64.b64encode(zlib.compress(cells.tobytes(), 1)).decode()
        return {"width": self.width, "depth": self.depth, "cells": packed}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> CountMin:
        sketch = cls(int(record["width"]), int(record["depth"]))
        cells = array("I")
        cells.frombytes(zlib.decompress(base64.b64decode(record["cells"])))
        if sys.byteorder == "big":
            cells.byteswap()
        if len(cells) != len(sketch.cells):
            raise ValueError(
                f"count-min sketch record has {len(cells)} cells, not "
                f"{sketch.width} x {sketch.depth}"
            )
        sketch.cells = cells
        return sketch


def key_text(key: tuple[str, str, str]) -> str:
    """A detector key (scope, kind, term) as the sketch's key."""
    return "\x1f".join(key)
