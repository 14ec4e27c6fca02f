"""Trend detection per term on closed time buckets (docs/trends.md).

`TrendDetector.add` counts term uses into open buckets; `advance(watermark)` decides on
the buckets the marker closes, in time order. Every decision about a term depends only
on that term's own uses and on the markers (platform-wide traffic per bucket), which
every detector receives whole: detectors holding any subset of the terms (Storm's
fields grouping) give, for those terms, exactly the events one detector of all terms
gives. State is bounded: a term keeps exact history only while its decayed mean volume
is at least `prune_below` items per bucket (a per-term rule, so it is the same in every
partition); below that it is forgotten and, seen again, is a new term (expected volume
0). An open bucket counts at most `exact_room` keys per shard of terms exactly; the
long tail beyond goes through a Count-Min sketch per shard, from which heavy keys are
promoted to exact counting (`sketch.py`): bounded whatever the number of distinct terms
in a bucket, and the same in every partition, which holds whole shards.

Two methods share this machinery (`METHODS`):

- ``ratio``: the baseline — a bucket's count at least `ratio_on` × the term's trailing
  (EWMA) mean count and at least `min_volume` items.
- ``signitrend``: SigniTrend-style EWMA mean and variance of the term's *share* of the
  scope's traffic. Expected volume is that share × the bucket's traffic, so the daily
  and weekly cycle and platform-wide surges, which move all terms, are corrected; the
  score is a z-score with the Poisson noise of the expected count, of the bucket or of
  the whole rise since its onset (`z_run`). A trend also needs `min_publishers`
  distinct publishers (one account flooding a tag is not a trend).
- ``seasonal``: the same, but the share is of the traffic the scope's hour-of-day
  profile predicts (an EWMA per hour of day over days), not of the bucket's actual
  traffic: the cycle-corrected model, without the surge correction (bench/trends.py
  compares them; docs/trends.md says which ships and why).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any
from zlib import crc32

from shoot2top.analytics.events import ENDED, RISING, TrendEvent, emission_order
from shoot2top.analytics.sketch import (
    PROMOTE_AT,
    SHARDS,
    CountMin,
    DistinctCount,
    key_text,
    shard_of,
)
from shoot2top.analytics.terms import TermUse
from shoot2top.analytics.watermark import Watermark, check_snapshot

SNAPSHOT_VERSION = 2
SHIPPED_METHOD = "signitrend"  # chosen by bench/trends.py (docs/trends.md)
DAY_S = 86_400
SEASON_HALF_LIFE_S = 3 * DAY_S  # of the hour-of-day traffic profile (seasonal)
ALL = "all"
TOP_ITEMS = 3
# A term's state: [mean, variance, last bucket start, rising since, rise volume,
# rise expected, rise variance]; mean/variance of its share of traffic (signitrend) or
# count (ratio); the rise's sums are over the buckets since the onset (a run of z >= 2).
MEAN, VAR, LAST, RISING_SINCE, RISE_VOLUME, RISE_EXPECTED, RISE_SIGMA2 = range(7)
STATE_SIZE = 7
# A key's counts in an open bucket: {item key: at}, {publisher}, and the uses counted
# before it was promoted from the sketch (0 for a key counted exactly from its first).
ITEMS, PUBLISHERS, PRIOR = range(3)
Key = tuple[str, str, str]  # (scope, kind, term)


@dataclass(frozen=True, slots=True)
class DetectorOptions:
    method: str = SHIPPED_METHOD
    bucket_s: int = 300
    half_life_s: float = 6 * 3600  # of the EWMA mean and variance
    warmup_s: float = 3 * 3600  # learn before deciding (from the first bucket)
    min_volume: int = 5  # items in a bucket
    min_publishers: int = 3  # distinct publishers in a bucket (signitrend)
    z_on: float = 4.0  # signitrend: z-score to start a trend
    z_run: float = 5.0  # signitrend: or the z-score of the whole rise since the onset
    z_rise: float = 2.0  # the first bucket above it is the onset
    z_off: float = 1.0  # at or below it a bucket is quiet
    ratio_on: float = 3.0  # both: count >= ratio_on x expected to start
    end_buckets: int = 2  # consecutive quiet buckets end a trend
    prune_below: float = 0.02  # forget a term whose mean volume per bucket is below
    prune_every_s: float = 3600
    scopes: bool = True  # per platform too, not only "all"
    exact_room: int = 256  # keys of a shard counted exactly per bucket, first come
    promoted_room: int = 32  # more keys of a shard promoted from the sketch per bucket
    sketch_width: int = 2048  # the Count-Min sketch of a shard's tail in a bucket
    sketch_depth: int = 4

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(
                f"unknown trend method {self.method!r}: use one of {', '.join(sorted(METHODS))}"
            )
        positive = ("bucket_s", "half_life_s", "prune_every_s", "end_buckets", "ratio_on",
                    "promoted_room")  # fmt: skip
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"trend option {name} must be > 0, got {getattr(self, name)}")
        if self.prune_every_s % self.bucket_s:
            raise ValueError(
                f"trend option prune_every_s ({self.prune_every_s}) must be a "
                f"multiple of bucket_s ({self.bucket_s})"
            )
        if self.exact_room < 0:
            raise ValueError(f"trend option exact_room must be >= 0, got {self.exact_room}")
        try:
            CountMin.check(self.sketch_width, self.sketch_depth)
        except ValueError as error:
            raise ValueError(f"trend options sketch_width, sketch_depth: {error}") from None

    @property
    def alpha(self) -> float:
        return 1.0 - 0.5 ** (self.bucket_s / self.half_life_s)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


class _Trend:
    """A trend in progress (mutable), closed into events."""

    __slots__ = (
        "detected",
        "expected",
        "onset",
        "peak",
        "peak_at",
        "publishers",
        "quiet",
        "quiet_since",
        "score",
        "top",
        "volume",
    )
    detected: float
    expected: float
    onset: float
    peak: int
    peak_at: float
    publishers: DistinctCount
    quiet: int
    quiet_since: float | None
    score: float
    top: list[Any]
    volume: int

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, values[name])


class TrendDetector:
    """Counts term uses per bucket and scope; decides on closed buckets."""

    def __init__(self, options: DetectorOptions | None = None, **overrides: Any) -> None:
        if options is None:
            options = DetectorOptions(**overrides)
        elif overrides:
            options = DetectorOptions(**{**asdict(options), **overrides})
        self.options = options
        self._alpha = options.alpha
        self._decay = 1.0 - self._alpha
        self._method = METHODS[options.method]
        self.closed_until: float | None = None
        self._marker: Watermark | None = None  # the one being applied (`detected_at`)
        self.first_bucket: float | None = None
        self.late = 0  # uses of already closed buckets (none when fed by an EventClock)
        self.sketched = 0  # uses past their shard's exact room, counted in a sketch
        self._open: dict[float, dict[Key, list[Any]]] = {}
        self._room: dict[float, list[int]] = {}  # bucket -> exact keys per shard
        self._tails: dict[float, dict[int, _Tail]] = {}  # bucket -> shard -> its tail
        self._states: dict[Key, list[Any]] = {}
        self._active: dict[Key, _Trend] = {}
        self._traffic_mean: dict[str, float] = {}
        self._hourly: dict[str, dict[int, float]] = {}  # scope -> hour of day -> traffic
        slot_updates = SEASON_HALF_LIFE_S / DAY_S * 3600 / options.bucket_s
        self._hourly_alpha = 1.0 - 0.5 ** (1 / slot_updates)

    # ------------------------------------------------------------------ counting

    def add(self, use: TermUse) -> None:
        self.add_item(use.item_key, use.platform, use.publisher, use.at, ((use.term, use.kind),))

    def add_item(
        self, item_key: str, platform: str, publisher: str, at: float,
        terms: Iterable[tuple[str, str]],
    ) -> None:  # fmt: skip
        """The uses of one item's (term, kind)s at once: `add` for each, faster."""
        bucket_s = self.options.bucket_s
        start = (at // bucket_s) * bucket_s
        if self.closed_until is not None and start < self.closed_until:
            self.late += 1
            return
        bucket = self._open.get(start)
        if bucket is None:
            bucket = self._open[start] = {}
            self._room[start] = [0] * SHARDS
        room = self._room[start]
        exact_room = self.options.exact_room
        scopes = (ALL, platform) if self.options.scopes else (ALL,)
        for term, kind in terms:
            shard = -1
            for scope in scopes:
                key = (scope, kind, term)
                counts = bucket.get(key)
                if counts is not None:
                    counts[ITEMS][item_key] = at  # a redelivered use counts once
                    counts[PUBLISHERS].add(publisher)
                    continue
                if shard < 0:
                    shard = crc32(term.encode()) % SHARDS  # shard_of, inlined: hot
                used = room[shard]
                if used < exact_room:
                    room[shard] = used + 1
                    bucket[key] = [{item_key: at}, {publisher}, 0]
                else:
                    self._tail_use(start, shard, key, item_key, publisher, at)

    def _tail_use(
        self, start: float, shard: int, key: Key, item_key: str, publisher: str, at: float
    ) -> None:
        """A use of a key past its shard's exact room: into the shard's sketch; promoted
        to exact counting (space-saving) once its estimate is high enough."""
        self.sketched += 1
        tails = self._tails.setdefault(start, {})
        tail = tails.get(shard)
        if tail is None:
            options = self.options
            tail = tails[shard] = _Tail(CountMin(options.sketch_width, options.sketch_depth))
        estimate = tail.sketch.add(key_text(key))
        if estimate < PROMOTE_AT:
            return
        bucket = self._open[start]
        promoted = tail.promoted
        if len(promoted) >= self.options.promoted_room:
            if estimate <= tail.floor:
                return
            weakest = min(promoted, key=lambda k: _count(bucket[k]))
            tail.floor = _count(bucket[weakest])
            if estimate <= tail.floor:
                return
            evicted = bucket.pop(weakest)  # back to the sketch: what it counted since
            tail.sketch.add(key_text(weakest), len(evicted[ITEMS]))
            del promoted[weakest]
        promoted[key] = None
        bucket[key] = [{item_key: at}, {publisher}, estimate - 1]
        if len(promoted) >= self.options.promoted_room:
            tail.floor = min(_count(bucket[k]) for k in promoted)

    def add_all(self, uses: Iterable[TermUse]) -> None:
        for use in uses:
            self.add(use)

    # ------------------------------------------------------------------ deciding

    def advance(self, watermark: Watermark) -> list[TrendEvent]:
        """Decide on the buckets `watermark` closes (again-seen ones are skipped)."""
        if watermark.bucket_s != self.options.bucket_s:
            raise ValueError(
                f"watermark bucket_s {watermark.bucket_s} is not the "
                f"detector's {self.options.bucket_s}"
            )
        events: list[TrendEvent] = []
        self._marker = watermark
        for start, traffic in watermark.traffic:
            if self.closed_until is not None and start < self.closed_until:
                continue  # a marker replayed after a restore
            events.extend(self._close(start, dict(traffic)))
            self.closed_until = start + self.options.bucket_s
        if self.closed_until is None or watermark.closed_until > self.closed_until:
            self.closed_until = watermark.closed_until
        events.sort(key=emission_order)
        return events

    def finish(self) -> list[TrendEvent]:
        """The end of input, after the final marker: trends still rising stay open
        (their record has ended_at None); nothing is left to decide."""
        return []

    def _close(self, start: float, platforms: dict[str, int]) -> list[TrendEvent]:
        options = self.options
        if self.first_bucket is None:
            self.first_bucket = start
        traffic = dict(platforms) if options.scopes else {}
        traffic[ALL] = sum(platforms.values())
        for scope, count in traffic.items():
            mean = self._traffic_mean.get(scope)
            self._traffic_mean[scope] = (
                count if mean is None else mean + self._alpha * (count - mean)
            )
        if self._method.seasonal:
            traffic = self._predicted(start, traffic)
        warm = start - self.first_bucket >= options.warmup_s
        bucket = self._open.pop(start, {})
        self._room.pop(start, None)
        tails = self._tails.pop(start, None)
        if tails:
            self._tracked_in_tails(bucket, tails)
        events = []
        keys = bucket.keys() | self._active.keys() if self._active else bucket.keys()
        for key in keys:
            counts = bucket.get(key)
            event = self._decide(key, start, counts, traffic.get(key[0], 0), warm)
            if event is not None:
                events.append(event)
        if (start + options.bucket_s) % options.prune_every_s == 0:
            self._prune(start)
        return events

    def _predicted(self, start: float, traffic: dict[str, int]) -> dict[str, int]:
        """The traffic each scope's hour-of-day profile predicts for this bucket (its
        actual traffic while the hour has no history); the profile learns this bucket."""
        hour = int(start % DAY_S // 3600)
        predicted = {}
        for scope, count in traffic.items():
            profile = self._hourly.setdefault(scope, {})
            mean = profile.get(hour)
            predicted[scope] = count if mean is None else max(round(mean), 1)
            profile[hour] = count if mean is None else mean + self._hourly_alpha * (count - mean)
        return predicted

    def _tracked_in_tails(self, bucket: dict[Key, list[Any]], tails: dict[int, _Tail]) -> None:
        """Known terms of an overflowing shard that only reached its sketch: their
        estimated count (no items or publishers known), so their history goes on."""
        for key in self._states:
            if key in bucket:
                continue
            tail = tails.get(shard_of(key[2]))
            if tail is not None:
                estimate = tail.sketch.estimate(key_text(key))
                if estimate:
                    bucket[key] = [{}, set(), estimate]

    def _decide(
        self,
        key: tuple[str, str, str],
        start: float,
        counts: list[Any] | None,
        traffic: int,
        warm: bool,
    ) -> TrendEvent | None:
        options = self.options
        count = _count(counts) if counts else 0
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = [0.0, 0.0, start, None, 0, 0.0, 0.0]
        else:
            gap = (start - state[LAST]) / options.bucket_s - 1
            if gap > 0:  # buckets without a use: the EWMA of zeros
                factor = self._decay**gap
                state[MEAN] *= factor
                state[VAR] *= factor
        state[LAST] = start
        expected, sigma2 = self._method.expected(state, traffic)
        score = self._method.score(count, expected, sigma2)
        trend = self._active.get(key)
        event = None
        if trend is not None:
            event = self._continue(key, trend, start, count, expected, sigma2, counts)
        elif self._method.rising(count, expected, sigma2, options):
            if state[RISING_SINCE] is None:
                state[RISING_SINCE] = start
                state[RISE_VOLUME], state[RISE_EXPECTED], state[RISE_SIGMA2] = 0, 0.0, 0.0
            state[RISE_VOLUME] += count
            state[RISE_EXPECTED] += expected
            state[RISE_SIGMA2] += sigma2
            publishers = _known(counts[PUBLISHERS]) if counts else 0
            rise = (state[RISE_VOLUME], state[RISE_EXPECTED], state[RISE_SIGMA2])
            if warm and self._method.starts(count, expected, score, publishers, options, rise):
                if counts is None:  # only when min_volume < 1: a trend needs uses
                    raise ValueError(f"trend {key} would start on a bucket without uses")
                event = self._start(key, state, start, count, score, counts)
        else:
            state[RISING_SINCE] = None
        share = count if self._method.by_count else (count / traffic if traffic else 0.0)
        if state[MEAN] == 0.0 and state[VAR] == 0.0 and not warm:
            state[MEAN] = share  # learning: start from the first value, not from 0
        else:
            diff = share - state[MEAN]
            increment = self._alpha * diff
            state[MEAN] += increment
            state[VAR] = self._decay * (state[VAR] + diff * increment)
        return event

    def _start(
        self,
        key: tuple[str, str, str],
        state: list[Any],
        start: float,
        count: int,
        score: float,
        counts: list[Any],
    ) -> TrendEvent:
        trend = _Trend(
            onset=state[RISING_SINCE],
            detected=self._decided_at(start),
            peak=count,
            peak_at=start,
            volume=state[RISE_VOLUME],
            expected=state[RISE_EXPECTED],
            score=score,
            publishers=_distinct(counts[PUBLISHERS]),
            top=_top(counts[ITEMS], []),
            quiet=0,
            quiet_since=None,
        )
        state[RISING_SINCE] = None
        self._active[key] = trend
        return self._event(key, trend, RISING, None)

    def _decided_at(self, start: float) -> float:
        """The event time of a decision on the bucket at `start` (its marker's)."""
        if self._marker is None:  # decisions are only made while applying a marker
            raise RuntimeError("a trend decision outside TrendDetector.advance")
        return self._marker.decided_at(start)

    def _continue(
        self,
        key: tuple[str, str, str],
        trend: _Trend,
        start: float,
        count: int,
        expected: float,
        sigma2: float,
        counts: list[Any] | None,
    ) -> TrendEvent | None:
        if self._method.quiet(count, expected, sigma2, self.options):
            trend.quiet += 1
            if trend.quiet_since is None:
                trend.quiet_since = start
            if trend.quiet >= self.options.end_buckets:
                del self._active[key]
                return self._event(key, trend, ENDED, trend.quiet_since)
            return None
        trend.quiet, trend.quiet_since = 0, None
        trend.volume += count
        trend.expected += expected
        if count > trend.peak:
            trend.peak, trend.peak_at = count, start
        if counts:
            trend.publishers.add_all(counts[PUBLISHERS])
            trend.top = _top(counts[ITEMS], trend.top)
        return None

    def _event(
        self, key: tuple[str, str, str], trend: _Trend, status: str, ended: float | None
    ) -> TrendEvent:
        scope, kind, term = key
        return TrendEvent(
            term=term,
            kind=kind,
            scope=scope,
            onset_at=trend.onset,
            detected_at=trend.detected,
            peak_at=trend.peak_at,
            ended_at=ended,
            volume=trend.volume,
            expected=trend.expected,
            score=trend.score,
            publishers=trend.publishers.count(),
            top_items=tuple(tuple(item_key.split(":", 1)) for _, item_key in trend.top),
            method=self.options.method,
            status=status,
        )

    def _prune(self, now: float) -> None:
        """Forget terms whose decayed mean volume fell below `prune_below` per bucket."""
        limit = self.options.prune_below
        bucket_s = self.options.bucket_s
        by_count = self._method.by_count
        doomed = []
        for key, state in self._states.items():
            if key in self._active or state[RISING_SINCE] is not None:
                continue
            mean = state[MEAN] * self._decay ** ((now - state[LAST]) / bucket_s)
            if not by_count:
                mean *= self._traffic_mean.get(key[0], 0.0)
            if mean < limit:
                doomed.append(key)
        for key in doomed:
            del self._states[key]

    # ------------------------------------------------------------------ state

    @property
    def terms_tracked(self) -> int:
        return len(self._states)

    def size(self) -> dict[str, int]:
        """What the state holds: terms with history, keys counted exactly in open
        buckets, and sketch cells (each bounded: `bounds`)."""
        return {
            "terms": len(self._states),
            "open_keys": sum(len(bucket) for bucket in self._open.values()),
            "sketch_cells": sum(
                tail.sketch.total_cells for tails in self._tails.values() for tail in tails.values()
            ),
        }

    def bounds(self, open_buckets: int) -> dict[str, int]:
        """The most `size` can hold per `open_buckets` open buckets (beside the terms,
        bounded by pruning): per shard the exact room, the promoted slots and, for known
        terms found only in the sketch, at most the terms with history."""
        options = self.options
        per_bucket = SHARDS * (options.exact_room + options.promoted_room)
        cells = SHARDS * options.sketch_width * options.sketch_depth
        return {"open_keys": open_buckets * per_bucket, "sketch_cells": open_buckets * cells}

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready, versioned; `restore` gives a detector that continues identically."""
        return {
            "version": SNAPSHOT_VERSION,
            "options": asdict(self.options),
            "closed_until": self.closed_until,
            "first_bucket": self.first_bucket,
            "late": self.late,
            "sketched": self.sketched,
            "traffic_mean": self._traffic_mean,
            "hourly": {scope: sorted(hours.items()) for scope, hours in self._hourly.items()},
            "open": [
                [
                    start,
                    *key,
                    sorted(counts[ITEMS].items()),
                    sorted(counts[PUBLISHERS]),
                    counts[PRIOR],
                ]
                for start, bucket in sorted(self._open.items())
                for key, counts in sorted(bucket.items())
            ],
            "room": [[start, room] for start, room in sorted(self._room.items())],
            "tails": [
                [
                    start,
                    shard,
                    tail.floor,
                    [list(k) for k in tail.promoted],
                    tail.sketch.to_record(),
                ]
                for start, tails in sorted(self._tails.items())
                for shard, tail in sorted(tails.items())
            ],
            "states": [[*key, *state] for key, state in sorted(self._states.items())],
            "active": [[*key, *_values(trend)] for key, trend in sorted(self._active.items())],
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any]) -> TrendDetector:
        if isinstance(snapshot, dict) and snapshot.get("version") == 1:
            snapshot = _upgrade_v1(snapshot)
        check_snapshot(snapshot, SNAPSHOT_VERSION, "trend detector")
        detector = cls(DetectorOptions(**snapshot["options"]))
        detector.closed_until = snapshot["closed_until"]
        detector.first_bucket = snapshot["first_bucket"]
        detector.late = snapshot["late"]
        detector.sketched = snapshot["sketched"]
        detector._traffic_mean = dict(snapshot["traffic_mean"])
        detector._hourly = {
            scope: {int(hour): mean for hour, mean in hours}
            for scope, hours in snapshot["hourly"].items()
        }
        for start, scope, kind, term, items, publishers, prior in snapshot["open"]:
            bucket = detector._open.setdefault(float(start), {})
            bucket[(scope, kind, term)] = [dict(map(tuple, items)), set(publishers), prior]
        for start, room in snapshot["room"]:
            detector._room[float(start)] = list(room)
        for start, shard, floor, promoted, sketch in snapshot["tails"]:
            tail = _Tail(CountMin.from_record(sketch), floor)
            tail.promoted = {(scope, kind, term): None for scope, kind, term in promoted}
            detector._tails.setdefault(float(start), {})[int(shard)] = tail
        for scope, kind, term, *state in snapshot["states"]:  # older: no rise variance
            detector._states[(scope, kind, term)] = state + [0.0] * (STATE_SIZE - len(state))
        for scope, kind, term, *values in snapshot["active"]:
            trend = _Trend(**dict(zip(_Trend.__slots__, values, strict=True)))
            hashes: list[Any] = trend.publishers  # type: ignore[assignment]
            if any(isinstance(value, str) for value in hashes):  # older: the publishers
                trend.publishers = _distinct(hashes)
            else:
                trend.publishers = DistinctCount(hashes)
            trend.top = [tuple(entry) for entry in trend.top]
            detector._active[(scope, kind, term)] = trend
        return detector


def _upgrade_v1(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A version 1 snapshot (no sketch) as version 2: every open key counted exactly."""
    room: dict[float, list[int]] = {}
    for start, _, _, term, *_ in snapshot["open"]:
        room.setdefault(float(start), [0] * SHARDS)[shard_of(term)] += 1
    return {
        **snapshot,
        "version": SNAPSHOT_VERSION,
        "sketched": 0,
        "open": [[*entry, 0] for entry in snapshot["open"]],
        "room": sorted(room.items()),
        "tails": [],
        "hourly": {},
    }


class _Tail:
    """One shard's tail in one open bucket: its sketch and the keys promoted from it
    (insertion order: ties give way to the oldest), `floor` the weakest's count."""

    __slots__ = ("floor", "promoted", "sketch")

    def __init__(self, sketch: CountMin, floor: int = 0) -> None:
        self.sketch = sketch
        self.promoted: dict[Key, None] = {}
        self.floor = floor


def _count(counts: list[Any]) -> int:
    """A key's distinct items in a bucket (plus those counted before its promotion)."""
    return len(counts[ITEMS]) + counts[PRIOR]


def _values(trend: _Trend) -> list[Any]:
    values = [getattr(trend, name) for name in _Trend.__slots__]
    return [sorted(value.hashes) if isinstance(value, DistinctCount) else value
            for value in values]  # fmt: skip


def _known(publishers: set[str]) -> int:
    """Distinct publishers of a bucket, the unknown one ("") not among them."""
    return len(publishers) - ("" in publishers)


def _distinct(publishers: Iterable[str]) -> DistinctCount:
    distinct = DistinctCount()
    distinct.add_all(publishers)
    return distinct


def _top(items: dict[str, float], top: list[Any]) -> list[Any]:
    """The earliest `TOP_ITEMS` (at, item key): the same whatever the arrival order."""
    return sorted({*top, *((at, key) for key, at in items.items())})[:TOP_ITEMS]


class _Ratio:
    """Baseline: count >= ratio_on x trailing mean count (and >= min_volume)."""

    by_count = True
    seasonal = False

    @staticmethod
    def expected(state: list[Any], traffic: int) -> tuple[float, float]:
        return state[MEAN], 0.0

    @staticmethod
    def score(count: int, expected: float, sigma2: float) -> float:
        return count / max(expected, 0.5)

    @staticmethod
    def rising(count: int, expected: float, sigma2: float, options: DetectorOptions) -> bool:
        return count >= options.ratio_on * expected and count >= 2

    @staticmethod
    def starts(
        count: int, expected: float, score: float, publishers: int, options: DetectorOptions,
        rise: tuple[int, float, float],
    ) -> bool:  # fmt: skip
        return count >= options.min_volume and count >= options.ratio_on * max(expected, 0.5)

    @staticmethod
    def quiet(count: int, expected: float, sigma2: float, options: DetectorOptions) -> bool:
        return count < max(options.ratio_on * expected / 2, options.min_volume / 2)


class _SigniTrend:
    """EWMA share of traffic and its variance; z-score with Poisson noise."""

    by_count = False
    seasonal = False

    @staticmethod
    def expected(state: list[Any], traffic: int) -> tuple[float, float]:
        expected = state[MEAN] * traffic
        return expected, expected + state[VAR] * traffic * traffic

    @staticmethod
    def score(count: int, expected: float, sigma2: float) -> float:
        return (count - expected) / math.sqrt(sigma2 + 1.0)

    @staticmethod
    def rising(count: int, expected: float, sigma2: float, options: DetectorOptions) -> bool:
        return count >= 2 and (count - expected) >= options.z_rise * math.sqrt(sigma2 + 1.0)

    @staticmethod
    def starts(
        count: int, expected: float, score: float, publishers: int, options: DetectorOptions,
        rise: tuple[int, float, float],
    ) -> bool:  # fmt: skip
        """This bucket alone (z >= `z_on`), or the whole rise since the onset (its summed
        volume, expected volume and variance, z >= `z_run`: a 3x burst of a term with a
        few items a bucket is within one bucket's noise, not within three), is
        significant and `ratio_on` times expected; and this bucket has `min_volume`
        items from `min_publishers` publishers."""
        if count < options.min_volume or publishers < options.min_publishers:
            return False
        if score >= options.z_on and count >= options.ratio_on * expected:
            return True
        volume, rise_expected, sigma2 = rise
        return (
            volume - rise_expected >= options.z_run * math.sqrt(sigma2 + 1.0)
            and volume >= options.ratio_on * rise_expected
        )

    @staticmethod
    def quiet(count: int, expected: float, sigma2: float, options: DetectorOptions) -> bool:
        return (count - expected) <= options.z_off * math.sqrt(sigma2 + 1.0)


class _Seasonal(_SigniTrend):
    """SigniTrend's share, of the traffic the hour-of-day profile predicts."""

    seasonal = True


METHODS: dict[str, Any] = {"ratio": _Ratio, "seasonal": _Seasonal, "signitrend": _SigniTrend}
