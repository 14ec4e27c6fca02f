"""Trend detection, evaluated: every method on one generated stream with planted truth.

The stream (seeded, reproducible) has what makes trend detection hard: Zipf-distributed
term popularity over several scripts (Latin, Japanese, Arabic, Devanagari, Cyrillic) and
kinds, a daily and a weekly cycle, slowly rising terms (not bursts), a platform-wide
traffic surge, single-account floods, and planted bursts of 2x-50x lasting 10 min to
12 h: on new terms, on popular known terms (ranks 0-50) and on rare known ones (ranks
50-2000). A burst of a known term is `multiplier` x the term's own rate at that time of
day (its Zipf rate x the traffic cycle); only where that is below `FLOOR_PER_MIN` (rare
terms, new terms) is it `multiplier` x the floor instead, and labelled so (band
"rare (floor)"): recall is also reported by base-rate band and by multiplier. Each
method runs the library's `EventClock` and `TrendDetector` (what the stage and the Storm
bolts run) on the same term uses.

Per method: precision (rising events, scope "all", that are a planted burst),
recall (bursts >= 3x lasting >= 30 min that are detected during the burst),
median/p90 minutes from true onset to detected_at, false alarms per day (after the
warm-up), items/s of clock + detector in-process (wall clock, and per CPU second: on a
shared machine the second is the steadier), and peak RSS (MB) of a subprocess
running the detector over a stream with 1,000,000 distinct terms in a day, and of one
with 2,000,000 distinct terms in a single bucket (`flood_rss_mb`: the sketch's bound).
Last line: a JSON summary; its top level holds the shipped method's figures.

    python bench/trends.py [--days 7] [--rate 60] [--seed 11] [--distinct 1000000]
                           [--bucket-s 300] [--lateness-s 300] [--methods a,b]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from bisect import bisect
from dataclasses import dataclass
from itertools import accumulate

from shoot2top.analytics.detector import METHODS, SHIPPED_METHOD, DetectorOptions, TrendDetector
from shoot2top.analytics.terms import TermUse
from shoot2top.analytics.watermark import LATENESS_S, EventClock

START = 1_795_132_800.0  # 2026-11-19T00:00Z, a Thursday
DAY = 86_400.0
PLATFORMS = (("x", 0.45), ("youtube", 0.30), ("facebook", 0.25))
SCRIPTS = ("", "日本語", "عربي", "हिन्दी", "слово")
KINDS = (("keyword", 0.6), ("hashtag", 0.3), ("mention", 0.05), ("cashtag", 0.05))
VOCABULARY = 20_000
PUBLISHERS = 5_000
TERMS_PER_ITEM = 3
WARMUP_DAYS = 1.0
MULTIPLIERS = (2, 3, 5, 10, 20, 50)
DURATIONS_MIN = (10, 30, 60, 180, 720)
FLOOR_PER_MIN = 0.4  # a burst of a rarer term is multiplier x this many items a minute
POPULAR_RANKS = 51  # known terms with a meaningful own rate: ranks 0-50 (>= 0.35/min)
MAX_EXTRA_ITEMS = 30_000  # a popular burst's extra items at most (a rarer term if more)
BANDS = ((0.0, "new (floor)"), (1e-9, "rare (floor)"), (FLOOR_PER_MIN, "0.4-2/min"),
         (2.0, ">=2/min"))  # fmt: skip


@dataclass(frozen=True)
class Burst:
    term: str
    kind: str
    start: float
    end: float
    multiplier: int
    base_per_min: float = 0.0  # the term's own mean rate (0: a new term)

    @property
    def band(self) -> str:
        return [name for low, name in BANDS if self.base_per_min >= low][-1]

    @property
    def counted(self) -> bool:  # what recall is measured on
        return self.multiplier >= 3 and self.end - self.start >= 1800


def traffic_factor(at: float) -> float:
    """The daily cycle (low at 04:00, high at 16:00 UTC) times the weekly one."""
    hour = (at % DAY) / 3600
    daily = 1 + 0.6 * math.sin((hour - 10) / 24 * 2 * math.pi)
    weekday = int((at - START) // DAY + 3) % 7  # START is a Thursday: 3
    return daily * (0.75 if weekday >= 5 else 1.0)


class Stream:
    """The generated items, as (item key, platform, at, publisher, [(term, kind)])."""

    def __init__(self, seed: int, days: float, rate_per_min: float) -> None:
        self.rng = random.Random(seed)
        self.days = days
        self.rate = rate_per_min
        weights = [1 / (rank + 1) ** 1.07 for rank in range(VOCABULARY)]
        self.cumulative = list(accumulate(weights))
        self.vocabulary = [self._word(rank) for rank in range(VOCABULARY)]
        self.publishers = [f"p{n}" for n in range(PUBLISHERS)]
        self.bursts: list[Burst] = []
        self.items: list[tuple] = []
        self.noise: dict[str, str] = {}  # term -> what it is (rising, flood, surge)

    def _word(self, rank: int) -> tuple[str, str]:
        kind = self.rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        return f"{self.rng.choice(SCRIPTS)}w{rank}", kind

    def _zipf_term(self) -> tuple[str, str]:
        return self.vocabulary[bisect(self.cumulative, self.rng.random() * self.cumulative[-1])]

    def _platform(self) -> str:
        return self.rng.choices([p for p, _ in PLATFORMS], [w for _, w in PLATFORMS])[0]

    def _item(self, at: float, terms: list, platform: str | None = None,
              publisher: str | None = None) -> None:  # fmt: skip
        n = len(self.items)
        self.items.append((f"i:{n}", platform or self._platform(), at,
                           publisher or self.rng.choice(self.publishers), terms))  # fmt: skip

    def _poisson_times(self, start: float, end: float, per_min: float) -> list[float]:
        times, at = [], start
        while per_min > 0:
            at += self.rng.expovariate(per_min / 60)
            if at >= end:
                return times
            times.append(at)
        return times

    def generate(self) -> Stream:
        rng, end = self.rng, START + self.days * DAY
        # Background: Zipf terms, daily and weekly cycle, a platform-wide surge on day 4.
        surge = (START + 3.5 * DAY, START + 3.5 * DAY + 2 * 3600)
        for minute in range(int(self.days * 1440)):
            at0 = START + minute * 60
            factor = traffic_factor(at0) * (3.0 if surge[0] <= at0 < surge[1] else 1.0)
            for at in self._poisson_times(at0, at0 + 60, self.rate * factor):
                self._item(at, [self._zipf_term() for _ in range(TERMS_PER_ITEM)])
        # Slowly rising terms: 0.1 -> 3 items per minute over three days (not bursts).
        for n in range(5):
            term = (f"rising{n}", "hashtag")
            self.noise[term[0]] = "rising"
            begin = START + (1 + n * 0.5) * DAY
            for minute in range(3 * 1440):
                at0 = begin + minute * 60
                per_min = 0.1 + 2.9 * minute / (3 * 1440)
                for at in self._poisson_times(at0, at0 + 60, per_min * traffic_factor(at0)):
                    if at < end:
                        self._item(at, [term, self._zipf_term()])
        # Single-account floods: one publisher, 20 items a minute, one hour.
        for n in range(10):
            term = (f"flood{n}", "hashtag")
            self.noise[term[0]] = "flood"
            begin = START + rng.uniform(WARMUP_DAYS, self.days - 0.2) * DAY
            publisher = rng.choice(self.publishers)
            for at in self._poisson_times(begin, begin + 3600, 20):
                self._item(at, [term, self._zipf_term()], publisher=publisher)
        # Bursts: every multiplier with every duration, on a new, a popular and a rare term.
        n, used = 0, set()
        for multiplier in MULTIPLIERS:
            for minutes in DURATIONS_MIN:
                for variant in ("new", "popular", "rare"):
                    n += 1
                    if variant == "new":
                        term, base = (f"new{n}", rng.choice(("hashtag", "keyword"))), 0.0
                    else:
                        rank = self._known_rank(variant, multiplier, minutes, used)
                        used.add(rank)
                        term = self.vocabulary[rank]
                        base = self._base_per_min(term)
                    begin = START + rng.uniform(WARMUP_DAYS + 0.1, self.days - 0.6) * DAY
                    burst = Burst(term[0], term[1], begin, begin + minutes * 60, multiplier, base)
                    self.bursts.append(burst)
                    for minute in range(minutes):
                        at0 = burst.start + minute * 60
                        own = base * traffic_factor(at0)  # the term's rate now
                        # multiplier x its own rate; x the floor where that is too rare
                        extra = multiplier * max(own, FLOOR_PER_MIN) - own
                        for at in self._poisson_times(at0, at0 + 60, extra):
                            self._item(at, [term, self._zipf_term()])
        self.items.sort(key=lambda item: item[2])
        return self

    def _known_rank(self, variant: str, multiplier: int, minutes: int, used: set) -> int:
        """A popular rank (0-50; rarer while the burst would add more than
        `MAX_EXTRA_ITEMS`) or a rare one (50-2000), not used by another burst."""
        rng = self.rng
        if variant == "rare":
            rank = rng.randrange(POPULAR_RANKS, 2000)
            while rank in used:
                rank = rng.randrange(POPULAR_RANKS, 2000)
            return rank
        rank = rng.randrange(0, POPULAR_RANKS)
        while rank in used or (
            (multiplier - 1) * self._base_per_min(self.vocabulary[rank]) * minutes > MAX_EXTRA_ITEMS
        ):
            rank += 1
        return rank

    def _base_per_min(self, term: tuple[str, str]) -> float:
        rank = self.vocabulary.index(term)
        share = (1 / (rank + 1) ** 1.07) / self.cumulative[-1]
        return self.rate * share * TERMS_PER_ITEM


def run_method(
    stream: Stream, method: str, bucket_s: int = 300, lateness_s: float = LATENESS_S
) -> tuple[list, float, int, float]:
    """(events, seconds, items, CPU seconds) of clock + detector over the stream."""
    clock = EventClock(bucket_s, lateness_s)
    detector = TrendDetector(DetectorOptions(method=method, bucket_s=bucket_s))
    events = []
    cpu = time.process_time()
    started = time.perf_counter()
    for key, platform, at, publisher, terms in stream.items:
        if clock.admit(key, platform, at):
            detector.add_item(key, platform, publisher, at, terms)
        marker = clock.advance()
        if marker is not None:
            events += detector.advance(marker)
    events += detector.advance(clock.finish())
    seconds = time.perf_counter() - started
    return events, seconds, len(stream.items), time.process_time() - cpu


def evaluate(stream: Stream, events: list) -> dict:
    rising = [e for e in events if e.status == "rising" and e.scope == "all"]
    after_warmup = [e for e in rising if e.detected_at >= START + WARMUP_DAYS * DAY]
    by_term: dict[str, list[Burst]] = {}
    for burst in stream.bursts:
        by_term.setdefault(burst.term, []).append(burst)
    true_positive, delays = 0, {}
    for event in after_warmup:
        match = next((b for b in by_term.get(event.term, [])
                      if b.start - 600 <= event.detected_at <= b.end + 600), None)  # fmt: skip
        if match is None:
            continue
        true_positive += 1
        delay = (event.detected_at - match.start) / 60
        delays[id(match)] = min(delays.get(id(match), delay), delay)
    counted = [b for b in stream.bursts if b.counted]
    found = [delays[id(b)] for b in counted if id(b) in delays]
    by_band, by_multiplier = {}, {}
    for name, group in (("band", by_band), ("multiplier", by_multiplier)):
        for burst in sorted(stream.bursts, key=lambda b: (b.base_per_min, b.multiplier)):
            if burst.end - burst.start < 1800:
                continue  # recall's bursts last >= 30 min (2x ones are listed too)
            label = burst.band if name == "band" else f"{burst.multiplier}x"
            entry = group.setdefault(label, {"bursts": 0, "found": 0})
            entry["bursts"] += 1
            entry["found"] += id(burst) in delays
    for group in (by_band, by_multiplier):
        for entry in group.values():
            entry["recall"] = round(entry["found"] / entry["bursts"], 3)
    popular_3x = [b for b in counted if b.multiplier == 3 and b.base_per_min >= FLOOR_PER_MIN]
    days = stream.days - WARMUP_DAYS
    quantiles = statistics.quantiles(found, n=10) if len(found) >= 2 else [math.nan] * 9
    return {
        "precision": round(true_positive / len(after_warmup), 3) if after_warmup else 0.0,
        "recall": round(len(found) / len(counted), 3),
        "median_detect_min": round(statistics.median(found), 1) if found else None,
        "p90_detect_min": round(quantiles[8], 1) if found else None,
        "false_alarms_per_day": round((len(after_warmup) - true_positive) / days, 2),
        "false_alarm_kinds": _false_alarm_kinds(stream, after_warmup, by_term),
        "recall_by_band": by_band,  # bursts >= 30 min, by the term's own rate
        "recall_by_multiplier": by_multiplier,  # 2x: outside the recall target
        "recall_popular_3x": round(sum(id(b) in delays for b in popular_3x) / len(popular_3x), 3)
        if popular_3x
        else None,
        "missed": [
            f"{b.term} {b.multiplier}x {round((b.end - b.start) / 60)}min "
            f"base {b.base_per_min:.2f}/min"
            for b in counted
            if id(b) not in delays
        ],
        "bursts_counted": len(counted),
        "bursts_found_any": sum(1 for b in stream.bursts if id(b) in delays),
        "bursts_all": len(stream.bursts),
    }


def _false_alarm_kinds(stream: Stream, events: list, by_term: dict) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for event in events:
        if any(
            b.start - 600 <= event.detected_at <= b.end + 600 for b in by_term.get(event.term, [])
        ):
            continue
        kind = stream.noise.get(event.term, "background")
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def stage_throughput(items: int = 30_000) -> dict:
    """The stage end to end — term extraction from raw platform posts (`read_item`),
    the clock and the detector — over the sample generator's items (new posts and
    metric refreshes of the three platforms): items/s wall clock and per CPU second."""
    from shoot2top.analytics.stage import TrendStage
    from shoot2top.sample.generate import generate_items

    posts = generate_items(items=items)
    stage = TrendStage()
    cpu, started = time.process_time(), time.perf_counter()
    for start in range(0, len(posts), 1000):
        stage.process(posts[start : start + 1000])
    stage.finish()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "stage_items_per_s": round(len(posts) / seconds),
        "stage_items_per_cpu_s": round(len(posts) / cpu),
        "stage_items": len(posts),
    }


def memory_child(method: str, distinct: int) -> None:
    """In a subprocess: the detector over `distinct` distinct terms; prints peak RSS."""
    rng = random.Random(5)
    clock = EventClock(300, LATENESS_S)
    detector = TrendDetector(DetectorOptions(method=method))
    per_item = 2  # each item: one never-seen term and one common one
    items = distinct  # one day
    peak_states = 0
    for n in range(items):
        at = START + n * DAY / items
        key, platform = f"m:{n}", PLATFORMS[n % 3][0]
        if clock.admit(key, platform, at):
            detector.add(TermUse(f"t{n}", "keyword", platform, key, f"p{n % 5000}", at))
            for _ in range(per_item - 1):
                common = f"c{int(rng.paretovariate(1.2)) % 1000}"
                detector.add(TermUse(common, "keyword", platform, key, f"p{n % 5000}", at))
        marker = clock.advance()
        if marker is not None:
            detector.advance(marker)
            peak_states = max(peak_states, detector.terms_tracked)
    detector.advance(clock.finish())
    rss_mb = peak_rss_of_this_process()
    print(json.dumps({"peak_rss_mb": round(rss_mb, 1), "peak_terms_tracked": peak_states}))


def flood_child(method: str, distinct: int) -> None:
    """In a subprocess: `distinct` distinct one-off terms in one bucket (100 items);
    prints peak RSS and the detector's state size at its largest."""
    clock = EventClock(300, LATENESS_S)
    detector = TrendDetector(DetectorOptions(method=method))
    per_item = max(distinct // 100, 1)
    largest = {"open_keys": 0, "sketch_cells": 0, "terms": 0}
    for n in range(100):
        at, key = START + n, f"f:{n}"
        if clock.admit(key, "x", at):
            terms = [(f"once{n}-{m}", "keyword") for m in range(per_item)]
            detector.add_item(key, "x", f"p{n}", at, terms)
        largest = {k: max(v, detector.size()[k]) for k, v in largest.items()}
    detector.advance(clock.finish())
    largest["terms"] = max(largest["terms"], detector.terms_tracked)
    print(json.dumps({"flood_rss_mb": round(peak_rss_of_this_process(), 1),
                      "flood_state": largest}))  # fmt: skip


def peak_rss_of_this_process() -> float:
    """VmHWM: this process's own peak RSS (ru_maxrss would carry the parent's across
    fork and exec on Linux, here the parent's whole generated stream)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss(method: str, distinct: int, child: str = "--memory-child") -> dict:
    result = subprocess.run(
        [sys.executable, __file__, child, method, "--distinct", str(distinct)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--rate", type=float, default=60, help="background items per minute")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--distinct", type=int, default=1_000_000)
    parser.add_argument("--flood-distinct", type=int, default=2_000_000)
    parser.add_argument("--bucket-s", type=int, default=DetectorOptions().bucket_s)
    parser.add_argument("--lateness-s", type=float, default=LATENESS_S)
    parser.add_argument(
        "--methods",
        default=",".join(sorted(METHODS)),
        help="comma-separated; the shipped one is needed for the summary",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the RSS runs")
    parser.add_argument("--stage-only", action="store_true", help="only the stage end to end")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--flood-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.distinct)
        return
    if args.flood_child:
        flood_child(args.flood_child, args.distinct)
        return
    if args.stage_only:
        print(json.dumps({**stage_throughput(), "load_avg_1m": round(os.getloadavg()[0], 2)}))
        return
    started = time.perf_counter()
    stream = Stream(args.seed, args.days, args.rate).generate()
    print(f"stream: {len(stream.items):,} items over {args.days:g} days, "
          f"{len(stream.bursts)} bursts, generated in {time.perf_counter() - started:.1f} s",
          flush=True)  # fmt: skip
    methods = {}
    for method in args.methods.split(","):
        events, seconds, items, cpu = run_method(stream, method, args.bucket_s, args.lateness_s)
        figures = evaluate(stream, events)
        figures["items_per_s"] = round(items / seconds)
        figures["items_per_cpu_s"] = round(items / cpu)  # less hurt by a loaded machine
        if not args.no_memory:
            figures.update(peak_rss(method, args.distinct))
            if method == SHIPPED_METHOD:
                figures.update(peak_rss(method, args.flood_distinct, "--flood-child"))
        methods[method] = figures
        print(f"{method}: {json.dumps(figures)}", flush=True)
    shipped = methods[SHIPPED_METHOD]
    names = ("precision", "recall", "median_detect_min", "p90_detect_min",
             "false_alarms_per_day", "items_per_s", "peak_rss_mb")  # fmt: skip
    summary = {
        "method": SHIPPED_METHOD,
        **{name: shipped.get(name) for name in names},
        "methods": methods,
        "stream_items": len(stream.items),
        "days": args.days,
        "bucket_s": args.bucket_s,
        "lateness_s": args.lateness_s,
        "distinct_terms_memory": args.distinct,
        "flood_rss_mb": shipped.get("flood_rss_mb"),
        "flood_distinct_terms_one_bucket": args.flood_distinct,
        "items_per_cpu_s": shipped["items_per_cpu_s"],
        **stage_throughput(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
