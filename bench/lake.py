"""Lake write and replay throughput against the raw limits, on local disk.

Writes N generated items through `LakeSink` and replays them through `LakeSource`. In
the same run it measures the limits those two cannot beat: raw encoding of the same
items plus the same file writes (same batching, same fsync), and raw file reads plus
decoding. The ratios are what to quote: absolute figures move with the machine.

    python bench/lake.py [--items 200000] [--batch-items 1000] [--dir DIR]

Last line: {"write_items_per_s", "replay_items_per_s", "write_ratio", "replay_ratio", ...}
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from shoot2top import codec
from shoot2top.lake.layout import WriterFolder, file_name
from shoot2top.lake.store import LocalStore
from shoot2top.sample import generate_items
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
    """Encode and write the same batches straight to files: the writer's limit."""
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
    return time.perf_counter() - started


def raw_read(root: Path) -> tuple[float, int]:
    """Read and decode every file, keeping nothing: the replay's limit."""
    started = time.perf_counter()
    count = 0
    for folder in sorted(root.iterdir()):
        for path in sorted(folder.iterdir()):
            for _item in codec.loads(path.read_bytes()):
                count += 1
    return time.perf_counter() - started, count


def lake_write(items: list[dict[str, Any]], root: Path, batch_items: int) -> float:
    sink = LakeSink(LocalStore(root), batch_items=batch_items, batch_age_s=3600)
    started = time.perf_counter()
    for item in items:
        sink.write(item)
    sink.close()
    return time.perf_counter() - started


def lake_replay(root: Path) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(1 for item in LakeSource(LocalStore(root)) if item is not None)
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--batch-items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="best of N for each measure")
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-lake-", dir=args.dir))
    try:
        items = make_items(args.items)
        count = len(items)
        total_bytes = sum(len(codec.dumps(i)) for i in items)
        best: dict[str, float] = {}

        def keep_best(name: str, seconds: float) -> None:
            best[name] = min(best.get(name, float("inf")), seconds)

        raw_root, lake_root = scratch / "raw", scratch / "lake"
        for _ in range(args.rounds):
            for root in (raw_root, lake_root):
                shutil.rmtree(root, ignore_errors=True)
            keep_best("raw_write", raw_write(items, raw_root, args.batch_items))
            keep_best("lake_write", lake_write(items, lake_root, args.batch_items))
        del items  # replay streams: measure it without the writer's items held in memory
        gc.collect()
        for _ in range(args.rounds):
            seconds, raw_count = raw_read(raw_root)
            keep_best("raw_read", seconds)
            seconds, replay_count = lake_replay(lake_root)
            keep_best("lake_replay", seconds)
            assert raw_count == replay_count == count, (raw_count, replay_count)
        rate = {name: count / seconds for name, seconds in best.items()}
        for name, value in rate.items():
            print(f"{name:12} {value:>12,.0f} items/s")
        print(json.dumps({
            "items": count,
            "mean_item_bytes": round(total_bytes / count),
            "batch_items": args.batch_items,
            "write_items_per_s": round(rate["lake_write"]),
            "replay_items_per_s": round(rate["lake_replay"]),
            "write_limit_items_per_s": round(rate["raw_write"]),
            "replay_limit_items_per_s": round(rate["raw_read"]),
            "write_ratio": round(rate["lake_write"] / rate["raw_write"], 3),
            "replay_ratio": round(rate["lake_replay"] / rate["raw_read"], 3),
        }))  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
