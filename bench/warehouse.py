"""Warehouse load throughput against COPY of prepared rows and a naive INSERT per row.

Loads N generated items through the real path, `PostgresSink(WarehouseLoader(dsn))`:
feature extraction, COPY into staging tables, set-based upserts, one transaction per
batch. In the same run, on the same server, it measures the limit: COPY straight into the
warehouse tables of the rows the loader produces for the same items, extracted and
rendered to COPY text in advance; and a naive baseline: a straightforward loader doing the
same job — per item, extract its features and run one parameterized INSERT … ON CONFLICT
per row (the same upsert rules), one commit per batch — for the first --naive-items items
only (extrapolated as items/s). Every phase loads into a fresh,
migrated database of its own, dropped afterwards. Each round runs the three phases in a
rotated order and ratios are taken within a round; figures are medians over rounds.

The sample generator observes every item several times, so a row's key repeats across
batches: the loader stages and upserts every copy, but plain COPY or INSERT cannot, so
the limit loads each key once, with the content the upserts end with
(newest observation, earliest first-seen time). Checks: after every load each table holds
exactly the expected number of rows and nothing is dead-lettered; in the first round the
sink's and the limit's databases hold identical contents.

The generated items (the input, ~2M Python objects) are moved out of the garbage
collector's sight (`gc.freeze`) before the rounds: a streaming source holds a file's worth
of items, not the whole input, and the sink should not pay for walking it in every full
collection (`--no-gc-freeze` measures with it). The 1-minute load average before and
after the rounds is reported: the machines are shared.

    python bench/warehouse.py [--items 200000] [--batch-items 5000] [--naive-items 5000]
                              [--rounds 3] [--dsn DSN] [--no-gc-freeze]

Without --dsn or SHOOT2TOP_DSN, an embedded PostgreSQL is started in a temporary
directory and stopped at the end.
Last line: {"items_per_s", "rows_per_s", "ratio_to_copy", "ratio_to_naive", ...}
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2.extensions

from shoot2top.sinks.postgres import PostgresSink
from shoot2top.warehouse import dialect
from shoot2top.warehouse.database import DSN_VARIABLE, connect, embedded_dsn, stop_embedded
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.rows import Observation, Row, batch_rows, copy_text, observe
from shoot2top.warehouse.schema import migrate

Item = dict[str, Any]
Rows = dict[str, list[Row]]  # table name -> rows
TABLES = dialect.LOADED_TABLES
GOAL_ITEMS_PER_S = 10_000
GOAL_RATIO_TO_NAIVE = 5


def make_items(count: int) -> list[Item]:
    """bench/lake.py's generated items (bench/ is not a package: import it by path)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from lake import make_items as lake_make_items

    return lake_make_items(count)


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


def naive_load(dsn: str, items: list[Item], batch_items: int) -> float:
    """The baseline: a straightforward loader doing the same job — extract each item's
    features, then one parameterized INSERT … ON CONFLICT per row (the same idempotent
    upsert rules), one commit per batch."""
    statements = {table.name: table.upsert().replace(f"SELECT {', '.join(table.columns)} "
                  f"FROM {table.stage}", f"VALUES ({', '.join(['%s'] * len(table.columns))})")
                  for table in TABLES}  # fmt: skip
    started = time.perf_counter()
    connection = connect(dsn)
    with connection.cursor() as cursor:
        for start in range(0, len(items), batch_items):
            for item in items[start : start + batch_items]:
                rows = batch_rows([observe(item)])
                for table in TABLES:
                    for row in rows[table.name]:  # the raw JSON is bytes: as text here
                        cursor.execute(statements[table.name], _as_text(row))
            connection.commit()
    connection.close()
    return time.perf_counter() - started


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
        gc.collect()
        seconds = load(dsn)
        counts = seen[label] = table_counts(dsn)
        assert counts == {**expected, "dead_letters": 0}, (label, counts, expected)
        if fingerprinted:
            seen[f"{label} fingerprint"] = fingerprint(dsn)
        return seconds
    finally:
        server_sql(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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
    parser.add_argument("--naive-items", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three phases")
    parser.add_argument("--dsn", default=None, help=f"server to use (else ${DSN_VARIABLE})")
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="leave the input in the collector's sight"
    )
    args = parser.parse_args()
    begun = time.perf_counter()
    state_dir = None
    server = args.dsn or os.environ.get(DSN_VARIABLE)
    if not server:
        state_dir = Path(tempfile.mkdtemp(prefix="bench-warehouse-"))
        server = embedded_dsn(state_dir)
    try:
        items = make_items(args.items)
        count, naive_count = len(items), min(args.naive_items, len(items))
        started = time.perf_counter()
        pairs = [observe(item) for item in items]
        extract_rate = count / (time.perf_counter() - started)  # once, not in the rounds
        prepared = prepare(pairs, args.batch_items)
        naive = prepare(pairs[:naive_count], args.batch_items)  # for its row counts
        del pairs
        buffers = render(prepared.batches)
        copy_bytes = sum(len(data) for batch in buffers for data in batch.values())
        print(
            f"{count:,} items -> {prepared.rows:,} table rows (at most {prepared.staged:,} "
            f"staged by the loader), {copy_bytes / 1e6:,.0f} MB of COPY text; "
            f"naive: {naive_count:,} items, {naive.rows:,} rows; "
            f"prepared in {time.perf_counter() - begun:.0f} s",
            flush=True,
        )
        seen: dict[str, Any] = {}  # the last counts of each phase, first-round fingerprints
        gc.collect()
        if not args.no_gc_freeze:
            gc.freeze()  # the input, and what was prepared from it, out of the collector's walks
        load_before = os.getloadavg()[0]

        def phase(
            load: Callable[[str], float], expected: dict[str, int], label: str
        ) -> Callable[[int], float]:
            def run(number: int) -> float:
                checked = number == 0 and label != "naive"
                return in_fresh_database(server, load, expected, label, seen, checked)

            return run

        per_round = rotated_rounds(args.rounds, {
            "copy": phase(lambda dsn: copy_load(dsn, buffers), prepared.counts, "copy"),
            "sink": phase(
                lambda dsn: sink_load(dsn, items, args.batch_items), prepared.counts, "sink"
            ),
            "naive": phase(
                lambda dsn: naive_load(dsn, items[:naive_count], args.batch_items),
                naive.counts,
                "naive",
            ),
        })  # fmt: skip
        load_after = os.getloadavg()[0]
        assert seen["sink fingerprint"] == seen["copy fingerprint"], seen
        rows = sum(seen["sink"].values())  # counted in the sink's tables after its last load
        sink_s = statistics.median(r["sink"] for r in per_round)
        copy_s = statistics.median(r["copy"] for r in per_round)
        naive_s = statistics.median(r["naive"] for r in per_round)
        ratio_to_copy = statistics.median(r["copy"] / r["sink"] for r in per_round)
        ratio_to_naive = statistics.median(
            (count / r["sink"]) / (naive_count / r["naive"]) for r in per_round
        )
        items_per_s = count / sink_s
        for name, rate in (
            ("sink", items_per_s),
            ("copy", count / copy_s),
            ("naive", naive_count / naive_s),
        ):
            print(f"{name:6} {rate:>10,.0f} items/s (median of {args.rounds})")
        print(json.dumps({
            "items": count,
            "batch_items": args.batch_items,
            "rounds": args.rounds,
            "rows": rows,
            "staged_rows": prepared.staged,
            "items_per_s": round(items_per_s),
            "rows_per_s": round(rows / sink_s),
            "copy_items_per_s": round(count / copy_s),
            "copy_rows_per_s": round(prepared.rows / copy_s),
            "naive_items": naive_count,
            "naive_items_per_s": round(naive_count / naive_s),
            "naive_rows_per_s": round(naive.rows / naive_s),
            "ratio_to_copy": round(ratio_to_copy, 3),
            "ratio_to_naive": round(ratio_to_naive, 2),
            "extract_items_per_s": round(extract_rate),
            "goal_items_per_s": GOAL_ITEMS_PER_S,
            "goal_ratio_to_naive": GOAL_RATIO_TO_NAIVE,
            "meets_goals": items_per_s >= GOAL_ITEMS_PER_S
            and ratio_to_naive >= GOAL_RATIO_TO_NAIVE,
            "server": "embedded" if state_dir else "dsn",
            "gc_freeze": not args.no_gc_freeze,
            "load_avg_1m": [round(load_before, 2), round(load_after, 2)],
            "seconds": round(time.perf_counter() - begun),
        }))  # fmt: skip
    finally:
        if state_dir is not None:
            stop_embedded(state_dir)
            shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
