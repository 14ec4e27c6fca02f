"""Seeded random generators (through SHA-256, never ``hash()``, so a seed gives the same
stream in every process) and the platforms' ids: X snowflakes, YouTube video ids,
tokens."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from shoot2top.posts import TWITTER_EPOCH_MS

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE64URL = BASE62 + "-_"
_YOUTUBE_ID_LAST = "AEIMQUYcgkosw048"


class IdMint:
    """Draws platform ids from the item stream's generator, never repeating one."""

    def __init__(self, rng: random.Random, used: set[str] | None = None) -> None:
        self._rng = rng
        self._used: set[str] = set() if used is None else used

    def drawing_from(self, rng: random.Random) -> IdMint:
        """A mint drawing from another generator, never repeating an id of this one."""
        return IdMint(rng, self._used)

    def unique(self, draw: Callable[[], str]) -> str:
        while True:
            candidate = draw()
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate

    def snowflake(self, unix_ms: int) -> str:
        """An X snowflake id: milliseconds since the X epoch, then 22 random bits."""
        prefix = (unix_ms - TWITTER_EPOCH_MS) << 22
        return self.unique(lambda: str(prefix | self._rng.getrandbits(22)))


def seeded_random(seed: int, purpose: str) -> random.Random:
    digest = hashlib.sha256(f"shoot2top.sample:{seed}:{purpose}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def token(rng: random.Random, length: int, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def youtube_id(rng: random.Random) -> str:
    return token(rng, 10, BASE64URL) + rng.choice(_YOUTUBE_ID_LAST)
