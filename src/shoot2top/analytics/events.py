"""Trend events: what the detector says about one burst of one term.

One burst is one record, identified by (term, kind, scope, onset_at): the detector
emits it when it decides the term is trending (``status`` "rising", ``ended_at`` None)
and emits it again, with the same identity, when the burst is over (``status`` "ended",
``ended_at`` set, final volume, peak and publishers). Sinks upsert on the identity, so
the second emission updates the first and a replay rewrites the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

RISING, ENDED = "rising", "ended"


@dataclass(frozen=True, slots=True)
class TrendEvent:
    term: str
    kind: str  # hashtag | cashtag | keyword | mention
    scope: str  # "all" or a platform
    onset_at: float  # epoch seconds: the estimated start of the burst
    detected_at: float  # the event time of the decision: a bucket's end + the lateness
    peak_at: float  # the start of the bucket with the most volume so far
    ended_at: float | None  # the end of the burst's last bucket; None while it lasts
    volume: int  # distinct items using the term from onset to now (or the end)
    expected: float  # what the term's history predicted for the same buckets
    score: float  # the method's score at detection (z-score or ratio)
    publishers: int  # distinct publishers of those items
    top_items: tuple[tuple[str, str], ...]  # (platform, item id), earliest first
    method: str = ""
    status: str = RISING

    @property
    def identity(self) -> tuple[str, str, str, float]:
        return (self.term, self.kind, self.scope, self.onset_at)

    def to_record(self) -> dict[str, Any]:
        """JSON-ready: times in ISO 8601 UTC, top items as {platform, item_id}."""
        return {
            "term": self.term,
            "kind": self.kind,
            "scope": self.scope,
            "status": self.status,
            "onset_at": iso(self.onset_at),
            "detected_at": iso(self.detected_at),
            "peak_at": iso(self.peak_at),
            "ended_at": None if self.ended_at is None else iso(self.ended_at),
            "volume": self.volume,
            "expected": round(self.expected, 3),
            "score": round(self.score, 3),
            "publishers": self.publishers,
            "top_items": [{"platform": p, "item_id": i} for p, i in self.top_items],
            "method": self.method,
        }


def emission_order(event: TrendEvent) -> tuple[Any, ...]:
    """A deterministic order of emissions: by event time, a rising before its ended
    (an ended emission is never ordered before its rising's `detected_at`, which is a
    bucket end + the lateness, while `ended_at` is a bucket start)."""
    moment = event.detected_at if event.ended_at is None else max(event.ended_at, event.detected_at)
    return (moment, event.status == ENDED, event.scope, event.kind, event.term)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
