"""Warehouse load throughput against COPY of prepared rows and a batched baseline loader.

Loads N generated items through the real path, `PostgresSink(WarehouseLoader(dsn))`:
feature extraction, COPY into staging tables, set-based upserts, one transaction per
batch. In the same run, on the same server and the same items, it measures:

- the limit: COPY straight into the warehouse tables of the rows the loader produces for
  the same items, extracted and rendered to COPY text in advance;
- the baseline: the loader a good engineer writes in an afternoon — the same feature
  extraction (`observe`, `batch_rows`) and the same upsert statements, each table's rows
  of a batch (one per key, as ON CONFLICT requires) sent with
  `psycopg2.extras.execute_values` in pages of 1,000, one transaction per batch. It has
  no memory of the feature sets it committed before, so it sends every batch's rows
  (`baseline_rows`); not sending those again is one of the loader's own optimizations
  (`staged_rows` is the most it stages).

Every timed phase runs in a fresh process (so the extraction caches start cold, as they
do in a new ingest process) and loads into a fresh, migrated database of its own,
dropped afterwards; the phase process reads its input before the clock starts. Each
round runs the three phases in a rotated order and ratios are taken within a round;
figures are medians over rounds.

The input is the sample generator's items (`shoot2top.sample.generate.generate_items`): every
video is observed several times, with the same text each time, as a live source's
refreshes are; no item is repeated beyond that. A row's key therefore repeats across
batches: the loader stages and upserts every copy, but plain COPY cannot, so the limit
loads each key once, with the content the upserts end with (newest observation,
earliest first-seen time). Checks after every load: each table holds exactly the
expected number of rows and nothing is dead-lettered; in the first round the sink's,
the baseline's and the limit's databases hold identical contents.

The generated items are moved out of the garbage collector's sight (`gc.freeze`) in the
phase process before the clock starts: a streaming source holds a file's worth of items,
not the whole input (`--no-gc-freeze` measures with them in sight). The 1-minute load
average before and after the rounds is reported: the machines are shared.

    python bench/warehouse.py [--items 200000] [--batch-items 5000] [--rounds 3]
                              [--dsn DSN] [--no-gc-freeze]

Without --dsn or SHOOT2TOP_DSN, an embedded PostgreSQL is started in a temporary
directory and stopped at the end.
Last line: {"items_per_s", "ratio_to_copy", "baseline", "baseline_items_per_s",
"ratio_to_baseline", ...}
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2.extensions
import psycopg2.extras

from shoot2top import codec
from shoot2top.sample.generate import generate_items
from shoot2top.sinks.postgres import PostgresSink
from shoot2top.warehouse import dialect
from shoot2top.warehouse.database import DSN_VARIABLE, connect, embedded_dsn, stop_embedded
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.rows import Observation, Row, batch_rows, copy_text, observe
from shoot2top.warehouse.schema import migrate

Item = dict[str, Any]
Rows = dict[str, list[Row]]  # table name -> rows
TABLES = dialect.LOADED_TABLES
BASELINE = "execute_values"
BASELINE_PAGE = 1000
GOAL_ITEMS_PER_S = 10_000
GOAL_RATIO_TO_BASELINE = 2


@dataclass
class Prepared:
    """The rows of a stream of items, ready for plain COPY or INSERT."""

    batches: list[Rows]  # per batch: the rows whose key is first seen in it, final content
    staged: int  # rows the loader stages and upserts at most (per-batch rows, summed)
    counts: dict[str, int]  # rows per table once everything is loaded

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def merged(table: dialect.Table, old: Row, new: Row) -> Row:
    """What the table holds after the upsert of `new` onto `old` (same key): the loader's
    rule — the greatest version (see `dialect.Table.version`) wins, earliest first-seen
    time kept."""
    if not table.version:
        return old
    order = [table.columns.index(column) for column in table.version]
    kept = old if [new[i] for i in order] < [old[i] for i in order] else new
    if "first_observed_at" in table.columns:
        first = table.columns.index("first_observed_at")
        kept = (*kept[:first], min(old[first], new[first]), *kept[first + 1 :])
    return kept


def prepare(pairs: Sequence[Observation], batch_items: int) -> Prepared:
    """The loader's rows (`batch_rows` over batches of the sink's size), each key once.

    Staged rows are counted as the sink stages them at most: without the feature sets of
    the batches committed before the one in flight (the loader does not stage them again).
    """
    final: dict[str, dict[Row, Row]] = {table.name: {} for table in TABLES}
    first_seen: list[dict[str, list[Row]]] = []
    staged = 0
    committed_sets: set[bytes] = set()
    in_flight: list[bytes] = []
    for start in range(0, len(pairs), batch_items):
        batch = pairs[start : start + batch_items]
        staged += sum(len(rows) for rows in batch_rows(batch, committed_sets).values())
        committed_sets.update(in_flight)
        in_flight = [observation.sets_digest for observation in batch]
        rows = batch_rows(batch)
        new_keys: dict[str, list[Row]] = {}
        for table in TABLES:
            assert table.columns[: len(table.key)] == table.key, table  # keys lead the rows
            known, keys, width = final[table.name], [], len(table.key)
            for row in rows[table.name]:
                key = row[:width]
                old = known.get(key)
                if old is None:
                    known[key] = row
                    keys.append(key)
                else:
                    known[key] = merged(table, old, row)
            new_keys[table.name] = keys
        first_seen.append(new_keys)
    batches = [
        {name: [final[name][key] for key in keys] for name, keys in new_keys.items()}
        for new_keys in first_seen
    ]
    return Prepared(batches, staged, {name: len(rows) for name, rows in final.items()})


def render(batches: list[Rows]) -> list[dict[str, bytes]]:
    """Each batch's rows as COPY text, per table."""
    return [{name: copy_text(rows) for name, rows in batch.items() if rows} for batch in batches]


def sink_load(dsn: str, items: list[Item], batch_items: int) -> float:
    """The measured path: every item through the warehouse sink, then close."""
    started = time.perf_counter()
    sink = PostgresSink(WarehouseLoader(dsn), batch_items=batch_items)
    for item in items:
        sink.write(item)
    sink.close()
    seconds = time.perf_counter() - started
    assert sink.loaded == len(items), (sink.loaded, len(items))
    assert sink.dead_lettered == 0, sink.dead_lettered
    return seconds


def copy_load(dsn: str, buffers: list[dict[str, bytes]]) -> float:
    """The limit: COPY of the prepared text straight into the tables, a transaction a batch."""
    statements = {
        table.name: f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN" for table in TABLES
    }
    started = time.perf_counter()
    connection = connect(dsn)
    with connection.cursor() as cursor:
        for batch in buffers:
            for table in TABLES:
                if (data := batch.get(table.name)) is not None:
                    cursor.copy_expert(statements[table.name], io.BytesIO(data))
            connection.commit()
    connection.close()
    return time.perf_counter() - started


def baseline_load(dsn: str, items: list[Item], batch_items: int) -> float:
    """The baseline: per batch, the same extraction and the same upserts, each table's
    rows (one per key) sent with `execute_values` in pages, one transaction a batch."""
    statements = {
        table.name: table.upsert().replace(
            f"SELECT {', '.join(table.columns)} FROM {table.stage}", "VALUES %s"
        )
        for table in TABLES
    }
    started = time.perf_counter()
    connection = connect(dsn)
    with connection.cursor() as cursor:
        for start in range(0, len(items), batch_items):
            batch = [observe(item) for item in items[start : start + batch_items]]
            rows = batch_rows(batch)
            for table in TABLES:
                unique = one_per_key(table, rows[table.name])
                if unique:
                    psycopg2.extras.execute_values(
                        cursor, statements[table.name], unique, page_size=BASELINE_PAGE
                    )
            connection.commit()
    connection.close()
    return time.perf_counter() - started


def one_per_key(table: dialect.Table, rows: list[Row]) -> list[Row]:
    """Rows of one batch, one per key, merged by the loader's rule; raw JSON as text."""
    width, kept = len(table.key), {}
    for row in rows:
        key = row[:width]
        old = kept.get(key)
        kept[key] = row if old is None else merged(table, old, row)
    return [_as_text(row) for row in kept.values()]


def _as_text(row: Row) -> Row:
    return tuple(value.decode() if type(value) is bytes else value for value in row)


def with_database(dsn: str, database: str) -> str:
    parsed = psycopg2.extensions.parse_dsn(dsn)
    parsed["dbname"] = database
    return psycopg2.extensions.make_dsn(**parsed)


def server_sql(server: str, statement: str) -> None:
    connection = connect(server)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def table_counts(dsn: str) -> dict[str, int]:
    connection = connect(dsn)
    with connection.cursor() as cursor:
        counts = {}
        for name in [table.name for table in TABLES] + ["dead_letters"]:
            cursor.execute(f"SELECT count(*) FROM {name}")
            counts[name] = cursor.fetchone()[0]
    connection.close()
    return counts


def fingerprint(dsn: str) -> dict[str, tuple[int, int]]:
    """Per table, its row count and an order-independent sum of row hashes."""
    connection = connect(dsn)
    with connection.cursor() as cursor:
        out = {}
        for table in TABLES:
            cursor.execute(
                "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 15))::bit(60)::bigint),"
                f" 0) FROM {table.name} t"
            )
            count, total = cursor.fetchone()
            out[table.name] = (count, int(total))
    connection.close()
    return out


def in_fresh_database(
    server: str,
    load: Callable[[str], float],
    expected: dict[str, int],
    label: str,
    seen: dict[str, Any],
    fingerprinted: bool = False,
) -> float:
    """Create and migrate a database, time `load` into it, count its rows (and fingerprint
    it if asked) into `seen[label]`, check the counts, drop it. Returns the seconds."""
    name = f"bench_{uuid.uuid4().hex[:16]}"
    server_sql(server, f"CREATE DATABASE {name}")
    dsn = with_database(server, name)
    try:
        connection = connect(dsn)
        migrate(connection)
        connection.close()
        seconds = load(dsn)
        counts = seen[label] = table_counts(dsn)
        assert counts == {**expected, "dead_letters": 0}, (label, counts, expected)
        if fingerprinted:
            seen[f"{label} fingerprint"] = fingerprint(dsn)
        return seconds
    finally:
        server_sql(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def timed_phase(phase: str, dsn: str, work: Path, batch_items: int, gc_freeze: bool) -> float:
    """Run one phase in a fresh Python process (cold caches, its own heap); its seconds.
    The process reads its input from `work` before it starts the clock."""
    result = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--work", str(work), "--dsn", dsn,
         "--batch-items", str(batch_items), *([] if gc_freeze else ["--no-gc-freeze"])],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"phase {phase} failed:\n{result.stderr[-4000:]}")
    return float(json.loads(result.stdout.strip().splitlines()[-1])["seconds"])


def run_phase(args: argparse.Namespace) -> None:
    """Inside a phase process: read the input, then time one load into `args.dsn`."""
    work = Path(args.work)
    if args.phase == "copy":
        buffers = [
            {name: bytes.fromhex(data) for name, data in batch.items()}
            for batch in codec.loads((work / "copy.json").read_bytes())
        ]
        load: Callable[[], float] = lambda: copy_load(args.dsn, buffers)  # noqa: E731
    else:
        items = codec.loads((work / "items.json").read_bytes())
        how = sink_load if args.phase == "sink" else baseline_load
        load = lambda: how(args.dsn, items, args.batch_items)  # noqa: E731
    gc.collect()
    if not args.no_gc_freeze:
        gc.freeze()  # the input out of the collector's walks
    print(json.dumps({"phase": args.phase, "seconds": load()}))


def rotated_rounds(
    rounds: int, phases: dict[str, Callable[[int], float]]
) -> list[dict[str, float]]:
    """Each round runs every phase once, the order rotated by one each round (the paired
    idea of bench/lake.py for three phases); per round, the seconds of each phase."""
    names = list(phases)
    results = []
    for number in range(rounds):
        shift = number % len(names)
        seconds = {}
        for name in names[shift:] + names[:shift]:
            seconds[name] = phases[name](number)
        results.append(seconds)
        print(
            f"round {number + 1}/{rounds}: "
            + ", ".join(f"{name} {seconds[name]:.2f} s" for name in names),
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--batch-items", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three phases")
    parser.add_argument("--dsn", default=None, help=f"server to use (else ${DSN_VARIABLE})")
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="leave the input in the collector's sight"
    )
    parser.add_argument("--phase", choices=("copy", "sink", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args)
        return
    begun = time.perf_counter()
    state_dir = None
    server = args.dsn or os.environ.get(DSN_VARIABLE)
    if not server:
        state_dir = Path(tempfile.mkdtemp(prefix="bench-warehouse-"))
        server = embedded_dsn(state_dir)
    work = Path(tempfile.mkdtemp(prefix="bench-warehouse-input-"))
    try:
        items = generate_items(items=args.items)
        count = len(items)
        (work / "items.json").write_bytes(codec.dumps(items))
        started = time.perf_counter()
        pairs = [observe(item) for item in items]
        extract_rate = count / (time.perf_counter() - started)  # warm-up excluded: once
        del items
        prepared = prepare(pairs, args.batch_items)
        baseline_rows = 0  # what the baseline sends: every batch's rows, one per key
        for start in range(0, count, args.batch_items):
            rows = batch_rows(pairs[start : start + args.batch_items])
            baseline_rows += sum(len(one_per_key(t, rows[t.name])) for t in TABLES)
        del pairs
        buffers = render(prepared.batches)
        copy_bytes = sum(len(data) for batch in buffers for data in batch.values())
        (work / "copy.json").write_bytes(
            codec.dumps([{name: data.hex() for name, data in batch.items()} for batch in buffers])
        )
        del buffers
        print(
            f"{count:,} items -> {prepared.rows:,} table rows (at most {prepared.staged:,} "
            f"staged by the loader), {copy_bytes / 1e6:,.0f} MB of COPY text; "
            f"prepared in {time.perf_counter() - begun:.0f} s",
            flush=True,
        )
        seen: dict[str, Any] = {}  # the last counts of each phase, first-round fingerprints
        load_before = os.getloadavg()[0]

        def phase(name: str) -> Callable[[int], float]:
            def load(dsn: str) -> float:
                return timed_phase(name, dsn, work, args.batch_items, not args.no_gc_freeze)

            def run(number: int) -> float:
                checked = number == 0
                return in_fresh_database(server, load, prepared.counts, name, seen, checked)

            return run

        per_round = rotated_rounds(
            args.rounds, {name: phase(name) for name in ("copy", "sink", "baseline")}
        )
        load_after = os.getloadavg()[0]
        assert seen["sink fingerprint"] == seen["copy fingerprint"], "sink differs from copy"
        assert seen["baseline fingerprint"] == seen["copy fingerprint"], "baseline differs"
        rows = sum(seen["sink"].values())  # counted in the sink's tables after its last load
        seconds = {
            name: statistics.median(r[name] for r in per_round)
            for name in ("sink", "copy", "baseline")
        }
        ratio_to_copy = statistics.median(r["copy"] / r["sink"] for r in per_round)
        ratio_to_baseline = statistics.median(r["baseline"] / r["sink"] for r in per_round)
        items_per_s = count / seconds["sink"]
        for name, took in seconds.items():
            print(f"{name:8} {count / took:>10,.0f} items/s (median of {args.rounds})")
        print(json.dumps({
            "items": count,
            "batch_items": args.batch_items,
            "rounds": args.rounds,
            "rows": rows,
            "staged_rows": prepared.staged,
            "items_per_s": round(items_per_s),
            "rows_per_s": round(rows / seconds["sink"]),
            "copy_items_per_s": round(count / seconds["copy"]),
            "copy_rows_per_s": round(prepared.rows / seconds["copy"]),
            "ratio_to_copy": round(ratio_to_copy, 3),
            "baseline": BASELINE,
            "baseline_items_per_s": round(count / seconds["baseline"]),
            "baseline_rows": baseline_rows,
            "ratio_to_baseline": round(ratio_to_baseline, 2),
            "extract_items_per_s": round(extract_rate),
            "goal_items_per_s": GOAL_ITEMS_PER_S,
            "goal_ratio_to_baseline": GOAL_RATIO_TO_BASELINE,
            "meets_goals": items_per_s >= GOAL_ITEMS_PER_S
            and ratio_to_baseline >= GOAL_RATIO_TO_BASELINE,
            "server": "embedded" if state_dir else "dsn",
            "gc_freeze": not args.no_gc_freeze,
            "cold_caches": True,
            "load_avg_1m": [round(load_before, 2), round(load_after, 2)],
            "seconds": round(time.perf_counter() - begun),
        }))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if state_dir is not None:
            stop_embedded(state_dir)
            shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
