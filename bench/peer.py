"""The in-process runner against its peers: Bytewax and plain scripts, doing the same job.

The job: replay a lake (the sample generator's items, `shoot2top sample --items N`, three
writers) into a local lake of 1,000-item micro-batches, every file written durably the same
way on every side (temp file, fsync, atomic link into place, directory fsync). Contestants:

- `project`: `shoot2top ingest` (the in-process runner: lake source -> lake sink), run
  through the CLI's own code path;
- `bytewax`: a Bytewax dataflow, one worker, a source reading the same files in order,
  `collect(max_size=1000)`, a sink writing each batch as a file;
- `bytewax_validated`: the same flow with the project's per-item validation
  (`posts.describe`) as a map step;
- `floor`: a plain script (read, orjson, write batches): the least any runner can cost;
- `floor_same_work`: the plain script plus what the project does on purpose: every item
  validated, writers merged by observed time.
- `floor_text`: a plain script that never decodes an item (read, split each file into
  its elements' bytes with msgspec, write batches of those bytes): the least a copy
  costs that keeps items as their stored text, as the project's runner does for a
  lake-to-lake run (`shoot2top.encoded`). It validates nothing and merges nothing: the
  project's ratio to it is what validation, the merge and checkpoints cost on that path.

Each contestant runs in a fresh process that reads nothing before its clock starts and
stops the clock once its last file is durable; its output is then checked to hold exactly
the input's items (each observation as many times as in the input). Rounds rotate the
order; figures are medians, ratios are taken within a round. Bytewax is a bench-only
dependency (`pip install -e '.[bench]'`).

    python bench/peer.py [--items 200000] [--rounds 3]

Last line: {"items_per_s", "bytewax_items_per_s", "ratio_to_bytewax", "floor_items_per_s",
"ratio_to_floor", "floor_same_work_items_per_s", "ratio_to_floor_same_work",
"floor_text_items_per_s", "ratio_to_floor_text", ...}; the
`cpu_ratio_*` keys are the same ratios of CPU seconds, which other work on a shared
machine moves less than wall time.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from shoot2top.lake.layout import file_name
from shoot2top.lake.store import LocalStore
from shoot2top.posts import describe
from shoot2top.sample.lake import write_sample_lake

BATCH_ITEMS = 1000
CONTESTANTS = (
    "project", "bytewax", "bytewax_validated", "floor", "floor_same_work", "floor_text"
)  # fmt: skip
GOAL_RATIO_TO_BYTEWAX = 1.2
GOAL_RATIO_TO_FLOOR_SAME_WORK = 0.9
OUTPUT_FOLDER = "2026-01-01T00:00:00-00000000-0000-4000-8000-000000000000"


# ------------------------------------------------------------------ what every side shares
def input_files(lake: Path) -> list[list[Path]]:
    """Per writer folder (in name order), its batch files in number order."""
    return [
        sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        for folder in sorted(p for p in lake.iterdir() if p.is_dir())
    ]


class DurableFiles:
    """Numbered files in one folder, each published the way the lake sink does it."""

    def __init__(self, root: Path) -> None:
        self.folder = root / OUTPUT_FOLDER
        self.folder.mkdir(parents=True)
        self.number = 0

    def write(self, items: list[Any]) -> None:
        self.write_text([orjson.dumps(item) for item in items])

    def write_text(self, encoded: list[Any]) -> None:
        """A file of items already JSON text (bytes or buffers)."""
        final = self.folder / file_name(self.number)
        temp = self.folder / f".{final.name}.tmp"
        with open(temp, "wb") as handle:
            handle.write(b"[" + b",".join(encoded) + b"]")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, final)
        temp.unlink()
        descriptor = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self.number += 1


def batches(items: Iterator[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == BATCH_ITEMS:
            yield batch
            batch = []
    if batch:
        yield batch


# ------------------------------------------------------------------ the contestants
def run_project(lake: Path, out: Path, work: Path) -> None:
    from shoot2top.cli import main as cli

    config = work / "peer.json"
    config.write_text(json.dumps({
        "name": "peer",
        "state_dir": str(work / "state"),
        "sources": [{"type": "lake", "name": "in", "uri": str(lake)}],
        "sinks": [{"type": "lake", "name": "out", "uri": str(out), "rotation": "day",
                   "batch_items": BATCH_ITEMS, "batch_age_s": 3600, "fsync": True}],
    }))  # fmt: skip
    cli(["ingest", "--config", str(config), "--quiet", "--no-resume"], standalone_mode=False)


def run_floor(lake: Path, out: Path, same_work: bool) -> None:
    writer = DurableFiles(out)
    files = input_files(lake)
    if not same_work:
        items: Iterator[Any] = (item for folder in files for p in folder for item in read(p))
    else:  # validate every item, merge the writers by observed time

        def keyed(folder: list[Path]) -> Iterator[tuple[Any, int, Any]]:
            for index, item in enumerate(item for p in folder for item in read(p)):
                yield describe(item).observed_at, index, item

        merged = heapq.merge(*(keyed(folder) for folder in files), key=lambda e: e[:2])
        items = (item for _, _, item in merged)
    for batch in batches(items):
        writer.write(batch)


def run_floor_text(lake: Path, out: Path) -> None:
    import msgspec

    writer = DurableFiles(out)
    split = msgspec.json.Decoder(list[msgspec.Raw])
    files = input_files(lake)
    elements = (raw for folder in files for p in folder for raw in split.decode(p.read_bytes()))
    for batch in batches(elements):
        writer.write_text(batch)


def read(path: Path) -> list[Any]:
    return orjson.loads(path.read_bytes())


def run_bytewax(lake: Path, out: Path, validated: bool) -> None:
    import bytewax.operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
    from bytewax.outputs import DynamicSink, StatelessSinkPartition
    from bytewax.testing import run_main

    paths = [p for folder in input_files(lake) for p in folder]

    class FilesPartition(StatefulSourcePartition[Any, int]):
        def __init__(self, resume: int | None) -> None:
            self.next_file = resume or 0

        def next_batch(self) -> list[Any]:
            if self.next_file >= len(paths):
                raise StopIteration
            self.next_file += 1
            return read(paths[self.next_file - 1])

        def snapshot(self) -> int:
            return self.next_file

    class LakeFiles(FixedPartitionedSource[Any, int]):
        def list_parts(self) -> list[str]:
            return ["all"]

        def build_part(self, step_id: str, for_part: str, resume: int | None) -> FilesPartition:
            return FilesPartition(resume)

    class FilesSinkPartition(StatelessSinkPartition[Any]):
        def __init__(self) -> None:
            self.writer = DurableFiles(out)

        def write_batch(self, keyed_batches: list[Any]) -> None:
            for _key, items in keyed_batches:
                self.writer.write(items)

    class FilesSink(DynamicSink[Any]):
        def build(self, step_id: str, worker_index: int, worker_count: int) -> FilesSinkPartition:
            return FilesSinkPartition()

    flow = Dataflow("peer")
    stream = op.input("in", flow, LakeFiles())
    if validated:
        stream = op.map("validate", stream, lambda item: (describe(item), item)[1])
    keyed = op.key_on("one", stream, lambda _item: "all")
    collected = op.collect("batch", keyed, timeout=timedelta(hours=1), max_size=BATCH_ITEMS)
    op.output("out", collected, FilesSink())
    run_main(flow)


def contestant(name: str, lake: Path, out: Path, work: Path) -> tuple[float, float]:
    """Inside a contestant process: the seconds of one run and the CPU seconds it used
    (less moved by other work on a shared machine), its imports done before the clock
    starts (the CLI's take seconds on a loaded machine: they are no part of a run)."""
    if name == "project":
        import shoot2top.cli  # noqa: F401
    elif name.startswith("bytewax"):
        import bytewax.operators
        import bytewax.testing  # noqa: F401
    elif name == "floor_text":
        import msgspec  # noqa: F401
    started, cpu = time.perf_counter(), time.process_time()
    if name == "project":
        run_project(lake, out, work)
    elif name.startswith("bytewax"):
        run_bytewax(lake, out, validated=name == "bytewax_validated")
    elif name == "floor_text":
        run_floor_text(lake, out)
    else:
        run_floor(lake, out, same_work=name == "floor_same_work")
    return time.perf_counter() - started, time.process_time() - cpu


# ------------------------------------------------------------------ the harness
def observations(root: Path) -> Counter[str]:
    """Each observation (type, id, observed time) in a lake, with its multiplicity."""
    counts: Counter[str] = Counter()
    for folder in input_files(root):
        for path in folder:
            for item in read(path):
                info = describe(item)
                counts[f"{info.type}:{info.item_id}@{info.observed_at.isoformat()}"] += 1
    return counts


def timed(name: str, lake: Path, scratch: Path, expected: Counter[str]) -> tuple[float, float]:
    """Seconds and CPU seconds of one run of `name`, its output checked."""
    out, work = scratch / f"out-{name}", scratch / f"work-{name}"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    result = subprocess.run(
        [sys.executable, __file__, "--contestant", name, "--lake", str(lake), "--out", str(out),
         "--work", str(work)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{result.stderr[-4000:]}")
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    got = observations(out)
    assert got == expected, f"{name}: output differs from the input ({sum(got.values()):,} items)"
    return float(reported["seconds"]), float(reported["cpu_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory")
    parser.add_argument("--contestant", choices=CONTESTANTS, help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contestant:
        seconds, cpu = contestant(args.contestant, args.lake, args.out, args.work)
        print(json.dumps({"contestant": args.contestant, "seconds": seconds, "cpu_seconds": cpu}))
        return
    scratch = Path(tempfile.mkdtemp(prefix="bench-peer-", dir=args.dir))
    try:
        lake = scratch / "lake"
        write_sample_lake(LocalStore(lake, fsync=False), items=args.items)
        expected = observations(lake)
        count = sum(expected.values())
        print(f"{count:,} items in {sum(len(f) for f in input_files(lake)):,} files", flush=True)
        load_before = os.getloadavg()[0]
        rounds, cpu_rounds = [], []
        for number in range(args.rounds):
            shift = number % len(CONTESTANTS)
            order = CONTESTANTS[shift:] + CONTESTANTS[:shift]
            measured = {name: timed(name, lake, scratch, expected) for name in order}
            seconds = {name: wall for name, (wall, _) in measured.items()}
            rounds.append(seconds)
            cpu_rounds.append({name: cpu for name, (_, cpu) in measured.items()})
            rates = ", ".join(f"{n} {count / seconds[n]:,.0f}/s" for n in CONTESTANTS)
            print(f"round {number + 1}/{args.rounds}: {rates}", flush=True)

        def rate(name: str) -> int:
            return round(count / statistics.median(r[name] for r in rounds))

        def ratio(other: str, measured: list[dict[str, float]] = rounds) -> float:
            return round(statistics.median(r[other] / r["project"] for r in measured), 3)

        summary = {
            "items": count,
            "rounds": args.rounds,
            "batch_items": BATCH_ITEMS,
            "items_per_s": rate("project"),
            "bytewax_items_per_s": rate("bytewax"),
            "ratio_to_bytewax": ratio("bytewax"),
            "bytewax_validated_items_per_s": rate("bytewax_validated"),
            "ratio_to_bytewax_validated": ratio("bytewax_validated"),
            "floor_items_per_s": rate("floor"),
            "ratio_to_floor": ratio("floor"),
            "floor_same_work_items_per_s": rate("floor_same_work"),
            "ratio_to_floor_same_work": ratio("floor_same_work"),
            "floor_text_items_per_s": rate("floor_text"),
            "ratio_to_floor_text": ratio("floor_text"),
            "cpu_ratio_to_bytewax": ratio("bytewax", cpu_rounds),
            "cpu_ratio_to_floor": ratio("floor", cpu_rounds),
            "cpu_ratio_to_floor_same_work": ratio("floor_same_work", cpu_rounds),
            "goal_ratio_to_bytewax": GOAL_RATIO_TO_BYTEWAX,
            "goal_ratio_to_floor_same_work": GOAL_RATIO_TO_FLOOR_SAME_WORK,
            "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        summary["meets_goals"] = (
            summary["ratio_to_bytewax"] >= GOAL_RATIO_TO_BYTEWAX
            and summary["ratio_to_floor_same_work"] >= GOAL_RATIO_TO_FLOOR_SAME_WORK
        )
        print(json.dumps(summary))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
