"""The terms an item uses, as the warehouse extracts them (warehouse/features.py).

Hashtags, mentions and keywords come from `features.extract` (the same case folding and
NFKC normalization); cashtags (``$AAPL``) from X's entities or the text. A retweet uses
the original's terms at its own time, as its own item published by the retweeter: it is
volume of those terms when it happened.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import regex

from shoot2top.posts import InvalidPost
from shoot2top.warehouse import features
from shoot2top.warehouse.features import URL, complete_words, extract

KINDS = ("hashtag", "cashtag", "keyword", "mention")
# An item may be created this much after it was observed (clocks' skew), no more: a
# created_at further ahead is a data error that, as event time, would close every bucket
# up to it (bounded work per marker and no real item made late depend on it).
FUTURE_SKEW_S = 3600.0
CASHTAG = regex.compile(r"(?<![\w$&])\$([A-Za-z][A-Za-z0-9_.]{0,9})(?![\w])")


@dataclass(frozen=True, slots=True)
class TermUse:
    """One item's use of one term."""

    term: str  # normalized, without its sign
    kind: str  # hashtag | cashtag | keyword | mention
    platform: str
    item_key: str  # "platform:item_id" (a retweet: its own id)
    publisher: str  # who published the item ("" when unknown)
    at: float  # the item's own created_at, epoch seconds


class ItemTerms(NamedTuple):
    """One item's identity for the event clock, and its term uses."""

    item_key: str
    platform: str
    at: float
    uses: list[TermUse]


def term_uses(item: Mapping[str, Any]) -> list[TermUse]:
    """The term uses of one streamable object; `InvalidPost` if it is not one."""
    return read_item(item).uses


def read_item(item: Mapping[str, Any]) -> ItemTerms:
    """The item (a retweet: the retweet itself) and its term uses; `InvalidPost` if it is
    not a streamable object or was created more than `FUTURE_SKEW_S` after it was
    observed."""
    found = extract(dict(item))
    key = f"{found.platform}:{found.item_id}"
    at = found.created_at.timestamp()
    publisher = found.publisher.publisher_id if found.publisher else ""
    retweet = next((ref for ref in found.references if ref.kind == features.RETWEETED), None)
    if retweet is not None:  # the retweet's own time and author
        key = f"{found.platform}:{retweet.referencing_id}"
        at = retweet.created_at.timestamp()
        publisher = retweet.publisher_id or ""
    if at > found.observed_at.timestamp() + FUTURE_SKEW_S:
        raise InvalidPost(
            f"{key} created at {datetime.fromtimestamp(at, UTC).isoformat()}, more than "
            f"{FUTURE_SKEW_S:.0f} s after it was observed ({found.observed_at.isoformat()})"
        )
    if not found.stored:  # a retweet of an original not in the message: no text
        return ItemTerms(key, found.platform, at, [])
    text = " ".join(filter(None, (found.text, found.title, found.description)))
    terms = (
        [(term, "hashtag") for term in found.hashtags]
        + [(term, "cashtag") for term in cashtags(text)]
        + [(term, "keyword") for term in found.keywords]
        + [(term, "mention") for term in found.mentions]
    )
    uses = [TermUse(term, kind, found.platform, key, publisher, at) for term, kind in terms]
    return ItemTerms(key, found.platform, at, uses)


class ItemReader:
    """Reads a stream's items one by one (`read_item`), counting those that are not
    streamable objects (`invalid`) instead of failing the batch they came in."""

    def __init__(self, invalid: int = 0) -> None:
        self.invalid = invalid

    def read(self, items: Iterable[Mapping[str, Any]]) -> Iterator[ItemTerms]:
        for item in items:
            try:
                yield read_item(item)
            except InvalidPost:
                self.invalid += 1


def cashtags(text: str) -> list[str]:
    """Cashtags in order of first appearance, casefolded: ``$AAPL`` → ``aapl``."""
    text = URL.sub(" ", complete_words(text))
    seen: dict[str, None] = {}
    for tag in CASHTAG.findall(text):
        seen.setdefault(unicodedata.normalize("NFKC", tag).casefold().rstrip("."), None)
    return list(seen)
