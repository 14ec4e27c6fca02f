"""Bounded sketches: the long tail of new terms in a bucket (a Count-Min sketch per
shard of terms), and the item keys the event clock has counted (`KeyFilter`).

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
from collections.abc import Iterable
from hashlib import blake2b
from typing import Any

SHARDS = 64  # the detector parallelism must divide it for CRC-32 partitions (1, 2, 4…)
PROMOTE_AT = 2  # a key counted in the sketch this often in a bucket is worth exact counts
SECOND_SEED = 0x9E3779B9  # KeyFilter's second CRC-32 starts here


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
        hashed = hash64(key)
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


def hash64(text: str) -> int:
    """A stable 64-bit hash of `text` (not the salted `hash`: snapshots move processes)."""
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "little")


def key_text(key: tuple[str, str, str]) -> str:
    """A detector key (scope, kind, term) as the sketch's key."""
    return "\x1f".join(key)


class KeyFilter:
    """Item keys seen, in two rotating Bloom filters (Bloom, 1970) of `bits` bits each,
    four bits a key: `add`, `in`. Bounded: once `capacity` keys went into the current
    filter it becomes the previous one (the older is dropped), so a key is remembered
    for at least `capacity` keys added after it; a key never added is reported present
    with a probability of about 1% at the default size."""

    __slots__ = ("added", "bits", "capacity", "filters")

    def __init__(self, bits: int = 1 << 20, capacity: int = 100_000) -> None:
        if bits < 8 or bits > 1 << 32 or bits & (bits - 1) or capacity < 1:
            raise ValueError(
                f"key filter: bits must be a power of two in 8..2**32 and capacity >= 1, "
                f"got bits {bits}, capacity {capacity}"
            )
        self.bits, self.capacity, self.added = bits, capacity, 0
        self.filters = [bytearray(bits // 8), bytearray(bits // 8)]  # current, previous

    def _positions(self, key: str) -> tuple[int, int, int, int]:
        """Four bits by double hashing (Kirsch & Mitzenmacher) of two CRC-32s: cheap,
        and stable across processes (a snapshot is restored in another one)."""
        data = key.encode()
        first, step = zlib.crc32(data), zlib.crc32(data, SECOND_SEED) | 1
        mask = self.bits - 1
        return (
            first & mask,
            (first + step) & mask,
            (first + 2 * step) & mask,
            (first + 3 * step) & mask,
        )

    def add(self, key: str) -> None:
        self.add_all((key,))

    def add_all(self, keys: Iterable[str]) -> None:
        """Remember `keys` (the event clock adds a closed bucket's at once)."""
        positions, current = self._positions, self.filters[0]
        for key in keys:
            if self.added >= self.capacity:
                self.filters = [bytearray(self.bits // 8), self.filters[0]]
                self.added, current = 0, self.filters[0]
            a, b, c, d = positions(key)
            current[a >> 3] |= 1 << (a & 7)
            current[b >> 3] |= 1 << (b & 7)
            current[c >> 3] |= 1 << (c & 7)
            current[d >> 3] |= 1 << (d & 7)
            self.added += 1

    def __contains__(self, key: str) -> bool:
        positions = self._positions(key)
        return any(all(bits[p >> 3] & (1 << (p & 7)) for p in positions) for bits in self.filters)

    def to_record(self) -> dict[str, Any]:
        return {
            "bits": self.bits,
            "capacity": self.capacity,
            "added": self.added,
            "filters": [base64.b64encode(zlib.compress(f, 1)).decode() for f in self.filters],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> KeyFilter:
        keys = cls(int(record["bits"]), int(record["capacity"]))
        keys.added = int(record["added"])
        keys.filters = [bytearray(zlib.decompress(base64.b64decode(f))) for f in record["filters"]]
        if any(len(f) != keys.bits // 8 for f in keys.filters) or len(keys.filters) != 2:
            raise ValueError(f"key filter record does not hold two filters of {keys.bits} bits")
        return keys


PUBLISHERS_EXACT = 1024  # a trend's distinct publishers counted exactly up to this many


class DistinctCount:
    """Distinct values (a trend's publishers over its life): exact up to `k`, then the
    k-minimum-values estimate (Bar-Yossef et al., 2002) from the `k` smallest 64-bit
    hashes, so memory and snapshots stay bounded however long and broad the trend; the
    same whatever the order the values come in. The empty value (unknown) is not one."""

    __slots__ = ("hashes", "k")

    def __init__(self, hashes: Iterable[int] = (), k: int = PUBLISHERS_EXACT) -> None:
        self.k = k
        self.hashes = set(hashes)

    def add_all(self, values: Iterable[str]) -> None:
        hashes = self.hashes
        for value in values:
            if value:
                hashes.add(hash64(value))
        if len(hashes) > self.k:
            self.hashes = set(sorted(hashes)[: self.k])

    def count(self) -> int:
        if len(self.hashes) < self.k:
            return len(self.hashes)
        return round((self.k - 1) / ((max(self.hashes) + 1) / 2**64))
