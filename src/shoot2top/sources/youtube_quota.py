"""YouTube's daily quota as a ledger: what each call costs, what is left today, and when
the next call may go so that the budget lasts until the reset.

YouTube's quota day ends at midnight America/Los_Angeles. search.list has its own bucket
(a number of calls a day); videos.list and the other read methods share the units bucket
(videos.list costs 1 unit). Each bucket paces calls with a token bucket refilled at
``remaining budget / time left until the reset``: a burst of a few calls is allowed, and
the spending rate adapts so the budget is spread over what is left of the day. Pacing
is checked before an operation starts (`ready_at`); the calls of an operation already
running (the pages of one search, its detail reads, retries) only need the hard budget
(`can_spend`) and may leave the bucket in debt, which delays the next operation. The
hard budget is never exceeded: `spend` refuses a call the day's budget cannot pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
SEARCH = "search"
UNITS = "units"
COSTS: dict[str, tuple[str, int]] = {
    "search.list": (SEARCH, 1),  # its own bucket: calls per day
    "videos.list": (UNITS, 1),  # the shared 10,000 units: 1 unit per call
}
BURST_FRACTION = 0.05  # a bucket holds at most 5 % of the day's budget as ready tokens


class QuotaError(RuntimeError):
    """A call the day's budget cannot pay was about to be made (a bug in the caller)."""


def quota_day(moment: float) -> str:
    """The quota day (a Pacific date, ``YYYY-MM-DD``) that the epoch time `moment` is in."""
    return datetime.fromtimestamp(moment, PACIFIC).date().isoformat()


def next_reset(moment: float) -> float:
    """The epoch time of the next Pacific midnight after `moment` (DST-aware)."""
    tomorrow = datetime.fromtimestamp(moment, PACIFIC).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=PACIFIC).timestamp()


@dataclass
class _Bucket:
    limit: int
    burst: float
    spent: int = 0
    tokens: float = 0.0
    updated: float = 0.0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.spent)


class QuotaLedger:
    """Spent and remaining quota per bucket for the current quota day; JSON snapshot."""

    def __init__(
        self, limits: dict[str, int], now: float, state: dict[str, Any] | None = None
    ) -> None:
        unknown = set(limits) - {bucket for bucket, _ in COSTS.values()}
        if unknown:
            raise ValueError(f"quota ledger: unknown buckets {sorted(unknown)}")
        if any(limit < 1 for limit in limits.values()):
            raise ValueError(f"quota ledger: every daily limit must be >= 1 (got {limits})")
        self.limits = dict(limits)
        self.day = quota_day(now)
        self.reset_at = next_reset(now)
        self.buckets = {name: self._fresh(limit, now) for name, limit in limits.items()}
        if state and state.get("day") == self.day:
            for name, saved in state.get("buckets", {}).items():
                bucket = self.buckets.get(name)
                if bucket is not None:
                    bucket.spent = int(saved["spent"])
                    bucket.tokens = min(bucket.burst, float(saved["tokens"]))
                    bucket.updated = min(now, float(saved["updated"]))

    @staticmethod
    def _fresh(limit: int, now: float) -> _Bucket:
        burst = max(1.0, round(limit * BURST_FRACTION))
        return _Bucket(limit, burst, tokens=burst, updated=now)

    def bucket(self, method: str) -> str:
        """The bucket a method's calls are charged to."""
        try:
            return COSTS[method][0]
        except KeyError:
            raise ValueError(f"quota ledger: no known cost for method {method!r}") from None

    def spent(self, bucket: str, now: float) -> int:
        self._roll(now)
        return self.buckets[bucket].spent

    def remaining(self, bucket: str, now: float) -> int:
        self._roll(now)
        return self.buckets[bucket].remaining

    def can_spend(self, method: str, now: float) -> bool:
        """Whether today's budget can still pay one call of `method` (pacing aside)."""
        bucket, cost = self._entry(method, now)
        return bucket.remaining >= cost

    def ready_at(self, method: str, now: float) -> float:
        """When an operation starting with a call of `method` may begin: `now` when a
        token is ready, later while pacing, the reset when today's budget is spent."""
        bucket, cost = self._entry(method, now)
        if bucket.remaining < cost:
            return self.reset_at
        self._refill(bucket, now)
        if bucket.tokens >= cost:
            return now
        rate = bucket.remaining / max(self.reset_at - now, 1.0)
        return min(self.reset_at, now + (cost - bucket.tokens) / rate)

    def spend(self, method: str, now: float) -> None:
        """Charge one call of `method`; refuses one the day's budget cannot pay."""
        bucket, cost = self._entry(method, now)
        if bucket.remaining < cost:
            raise QuotaError(
                f"{method}: quota day {self.day} has {bucket.remaining} of {bucket.limit} "
                f"left, the call costs {cost}"
            )
        self._refill(bucket, now)
        bucket.tokens -= cost
        bucket.spent += cost

    def exhaust(self, method: str, now: float) -> float:
        """The API said the quota is exceeded: nothing more from this bucket until the
        reset, whose epoch time is returned."""
        bucket, _ = self._entry(method, now)
        bucket.spent = max(bucket.spent, bucket.limit)
        bucket.tokens = 0.0
        return self.reset_at

    def snapshot(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "buckets": {
                name: {"spent": b.spent, "tokens": b.tokens, "updated": b.updated}
                for name, b in self.buckets.items()
            },
        }

    def summary(self, now: float) -> str:
        """``search 3/100 calls, units 40/10000`` for today (Pacific)."""
        self._roll(now)
        return ", ".join(f"{name} {b.spent}/{b.limit}" for name, b in self.buckets.items())

    def _entry(self, method: str, now: float) -> tuple[_Bucket, int]:
        name = self.bucket(method)
        self._roll(now)
        bucket = self.buckets.get(name)
        if bucket is None:
            raise ValueError(f"quota ledger: no budget configured for bucket {name!r}")
        return bucket, COSTS[method][1]

    def _roll(self, now: float) -> None:
        """A new quota day began: everything is available again."""
        if now < self.reset_at:
            return
        self.day = quota_day(now)
        self.reset_at = next_reset(now)
        self.buckets = {name: self._fresh(b.limit, now) for name, b in self.buckets.items()}

    def _refill(self, bucket: _Bucket, now: float) -> None:
        elapsed = now - bucket.updated
        if elapsed > 0:
            rate = bucket.remaining / max(self.reset_at - bucket.updated, 1.0)
            bucket.tokens = min(bucket.burst, bucket.tokens + elapsed * rate)
        bucket.updated = max(bucket.updated, now)
