"""Lake write and replay throughput against the raw limits, on local disk.

Writes N generated items through `LakeSink` and replays them through `LakeSource`, in
the batches the in-process runner moves (`write_batch`, `next_batch`). In the same run
it measures the limits those two cannot beat: raw encoding of the same items plus the
same file writes (same batching, same fsync), and raw file reads plus decoding. The
replay also validates every item and merges the writers by time; the limit does not.
Both replay sides run with the cyclic garbage collector as the runner sets it
(`codec.fewer_collections`): a limit that paid collections the runner avoids would flatter
the replay. The ratios are what to quote: absolute figures move with the machine.

    python bench/lake.py [--items 200000] [--batch-items 1000] [--dir DIR]

The replay is measured twice: handing out decoded items (what a stage, the warehouse or
Storm needs), against raw reads plus decoding; and handing out items as their stored
JSON text (what a lake-to-lake run moves: `shoot2top.encoded`), against raw reads plus
splitting each file into its elements' bytes, which decodes and validates nothing. The
decoded replay is also set against `checked_read` (raw reads, exact decoding and every
item validated, no merge): `replay_to_checked_limit` is what the replay's own machinery
(merge by time, positions, dead letters, batches) costs beyond those checks.

Last line: {"write_items_per_s", "replay_items_per_s", "write_ratio", "replay_ratio",
"replay_to_checked_limit", "replay_text_items_per_s", "replay_text_ratio",
"replay_text_to_replay", ...};
`cpu_*_ratio` are the same ratios of CPU seconds (every thread's), which other work on
a shared machine moves less than wall time.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from shoot2top import codec
from shoot2top.lake.layout import WriterFolder, file_name
from shoot2top.lake.store import LocalStore, fsync_directory
from shoot2top.posts import describe
from shoot2top.runtime.pipeline import BATCH_ITEMS as RUNNER_BATCH
from shoot2top.runtime.pipeline import prompt_thread_switches
from shoot2top.sample.generate import generate_items
from shoot2top.sinks.lake import LakeSink
from shoot2top.sources.lake import LakeSource


def make_items(count: int) -> list[dict[str, Any]]:
    """`count` realistic items: the sample generator's, repeated with fresh ids if needed."""
    base = generate_items(items=min(count, 50000))
    items = []
    while len(items) < count:
        round_number = len(items) // len(base)
        for item in base[: count - len(items)]:
            copy = codec.loads(codec.dumps(item))
            kind = next(key for key in copy if not key.startswith("_"))
            payload = copy[kind]["data"] if kind == "tweet" else copy[kind]
            payload["id"] = f"{payload['id']}-{round_number}"
            items.append(copy)
    return items


def raw_write(items: list[dict[str, Any]], root: Path, batch_items: int) -> float:
    """Encode and write the same batches straight to files, as durably as the sink does
    (file and directory fsync): the writer's limit."""
    folder = root / WriterFolder.new(WriterFolder.parse(
        "2026-01-01T00:00:00-00000000-0000-4000-8000-000000000000").start).name  # fmt: skip
    folder.mkdir(parents=True)
    started = time.perf_counter()
    for number, first in enumerate(range(0, len(items), batch_items)):
        data = codec.encode_array([codec.dumps(i) for i in items[first : first + batch_items]])
        with open(folder / file_name(number), "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        fsync_directory(folder)
    return time.perf_counter() - started


def raw_read(root: Path) -> tuple[float, int]:
    """Read and decode every file, keeping nothing: the replay's limit."""
    started = time.perf_counter()
    count = 0
    with codec.fewer_collections():
        for folder in sorted(root.iterdir()):
            for path in sorted(folder.iterdir()):
                for _item in codec.loads(path.read_bytes()):
                    count += 1
    return time.perf_counter() - started, count


def checked_read(root: Path) -> tuple[float, int]:
    """Read, decode exactly and validate every item (`codec.loads_exact`,
    `posts.describe`), keeping nothing: the replay's limit if it did the same checks but
    neither merged writers by time nor kept positions and dead letters."""
    started = time.perf_counter()
    count = 0
    with codec.fewer_collections():
        for folder in sorted(root.iterdir()):
            for path in sorted(folder.iterdir()):
                count += len(list(map(describe, codec.loads_exact(path.read_bytes()))))
    return time.perf_counter() - started, count


def lake_write(items: list[dict[str, Any]], root: Path, batch_items: int) -> float:
    """The sink as the runner builds and feeds it: files stored by its writer thread
    (`background`), batches of `RUNNER_BATCH` items (`write_batch`), the runner's thread
    switch interval; timed until `close` has every file durable."""
    sink = LakeSink(LocalStore(root), batch_items=batch_items, batch_age_s=3600, background=True)
    started = time.perf_counter()
    with prompt_thread_switches():
        for first in range(0, len(items), RUNNER_BATCH):
            sink.write_batch(items[first : first + RUNNER_BATCH])
        sink.close()
    return time.perf_counter() - started


def lake_replay(root: Path) -> tuple[float, int]:
    """The replay as the runner takes it (`next_batch`): validated, merged by time."""
    started = time.perf_counter()
    source, count = LakeSource(LocalStore(root)), 0
    with codec.fewer_collections():
        while (batch := source.next_batch(RUNNER_BATCH)) is not None:
            count += len(batch)
    return time.perf_counter() - started, count


def raw_split(root: Path) -> tuple[float, int]:
    """Read every file and split it into its elements' bytes (msgspec), decoding and
    validating nothing: the limit of a replay that keeps items as their stored text."""
    split = msgspec.json.Decoder(list[msgspec.Raw])
    started = time.perf_counter()
    count = 0
    for folder in sorted(root.iterdir()):
        for path in sorted(folder.iterdir()):
            count += len(split.decode(path.read_bytes()))
    return time.perf_counter() - started, count


def lake_replay_text(root: Path) -> tuple[float, int]:
    """The replay as a lake-to-lake run takes it: items as their stored JSON text
    (`LakeSource.hand_out_encoded`), validated and merged the same way."""
    started = time.perf_counter()
    source, count = LakeSource(LocalStore(root)), 0
    source.hand_out_encoded()
    with codec.fewer_collections():
        while (batch := source.next_batch(RUNNER_BATCH)) is not None:
            count += len(batch)
    return time.perf_counter() - started, count


def paired(
    rounds: int, limit: Callable[[], float], measured: Callable[[], float]
) -> tuple[float, float, float, float]:
    """Run limit and measured back to back each round, alternating which goes first, and
    return the median seconds of each, the median of the per-round ratios (on a shared
    machine whose speed drifts, a ratio taken within one round is what is comparable)
    and the same ratio of CPU seconds (all threads), which others' work moves less."""
    limits, measures, ratios, cpu_ratios = [], [], [], []

    def run(what: Callable[[], float]) -> tuple[float, float]:
        cpu = time.process_time()
        seconds = what()
        return seconds, time.process_time() - cpu

    for number in range(rounds):
        if number % 2:
            (seconds_measured, cpu_measured), (seconds_limit, cpu_limit) = run(measured), run(limit)
        else:
            (seconds_limit, cpu_limit), (seconds_measured, cpu_measured) = run(limit), run(measured)
        limits.append(seconds_limit)
        measures.append(seconds_measured)
        ratios.append(seconds_limit / seconds_measured)
        cpu_ratios.append(cpu_limit / cpu_measured)
    return (
        statistics.median(limits),
        statistics.median(measures),
        statistics.median(ratios),
        statistics.median(cpu_ratios),
    )


def measure_writes(
    items: list[dict[str, Any]], raw_root: Path, lake_root: Path, batch_items: int, rounds: int
) -> tuple[int, int, tuple[float, float, float, float]]:
    """Item count, encoded bytes, and the paired write measures (limit, sink, ratios)."""

    def fresh(write: Callable[..., float], root: Path) -> Callable[[], float]:
        def run() -> float:
            shutil.rmtree(root, ignore_errors=True)
            return write(items, root, batch_items)

        return run

    total_bytes = sum(len(codec.dumps(item)) for item in items)
    measures = paired(rounds, fresh(raw_write, raw_root), fresh(lake_write, lake_root))
    return len(items), total_bytes, measures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--batch-items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds per measure")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-lake-", dir=args.dir))
    raw_root, lake_root = scratch / "raw", scratch / "lake"
    try:
        count, total_bytes, (raw_w, lake_w, write_ratio, write_cpu) = measure_writes(
            make_items(args.items), raw_root, lake_root, args.batch_items, args.rounds
        )
        gc.collect()  # replay streams: measure it without the writer's items in memory

        def counted(read: Callable[[Path], tuple[float, int]], root: Path) -> Callable[[], float]:
            def run() -> float:
                seconds, seen = read(root)
                assert seen == count, (root, seen, count)
                return seconds

            return run

        raw_r, lake_r, replay_ratio, replay_cpu = paired(
            args.rounds, counted(raw_read, raw_root), counted(lake_replay, lake_root)
        )
        checked_r, _, checked_ratio, checked_cpu = paired(
            args.rounds, counted(checked_read, raw_root), counted(lake_replay, lake_root)
        )
        raw_s, text_r, text_ratio, text_cpu = paired(
            args.rounds, counted(raw_split, raw_root), counted(lake_replay_text, lake_root)
        )
        rate = {"raw_write": raw_w, "lake_write": lake_w, "raw_read": raw_r, "lake_replay": lake_r,
                "raw_split": raw_s, "replay_text": text_r, "checked_read": checked_r}  # fmt: skip
        for name, seconds in rate.items():
            print(f"{name:12} {count / seconds:>12,.0f} items/s (median of {args.rounds})")
        print(json.dumps({
            "items": count,
            "mean_item_bytes": round(total_bytes / count),
            "batch_items": args.batch_items,
            "write_items_per_s": round(count / lake_w),
            "replay_items_per_s": round(count / lake_r),
            "write_limit_items_per_s": round(count / raw_w),
            "replay_limit_items_per_s": round(count / raw_r),
            "write_ratio": round(write_ratio, 3),
            "replay_ratio": round(replay_ratio, 3),
            "cpu_write_ratio": round(write_cpu, 3),
            "cpu_replay_ratio": round(replay_cpu, 3),
            "replay_checked_limit_items_per_s": round(count / checked_r),
            "replay_to_checked_limit": round(checked_ratio, 3),
            "cpu_replay_to_checked_limit": round(checked_cpu, 3),
            "replay_text_items_per_s": round(count / text_r),
            "replay_text_limit_items_per_s": round(count / raw_s),
            "replay_text_ratio": round(text_ratio, 3),
            "cpu_replay_text_ratio": round(text_cpu, 3),
            "replay_text_to_replay": round(lake_r / text_r, 3),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }))  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
