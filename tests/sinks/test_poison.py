"""Poison pills: an item a sink cannot encode is dead-lettered alone, with the reason and
the sink's name, and every other item is stored — on the first run and on every rerun."""

from __future__ import annotations

import socket

import pytest

from drills import deep_item
from factories import ids, stream
from shoot2top import codec
from shoot2top.config import SocketSinkConfig
from shoot2top.lake.store import LocalStore
from shoot2top.limits import MAX_DEPTH, MAX_ITEM_BYTES
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sinks.lake import LakeSink
from shoot2top.sinks.postgres import PostgresSink
from shoot2top.sinks.socket import SocketSink
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.loader import WarehouseLoader


def poisons() -> list[tuple[dict, str]]:
    surrogate = stream(1)[0]
    surrogate["tweet"]["data"]["text"] = "recovered \ud800 text"
    huge = stream(1)[0]
    huge["tweet"]["data"]["text"] = "x" * (MAX_ITEM_BYTES + 1)
    nan = stream(1)[0]
    nan["tweet"]["data"]["n"] = [10**30, float("inf")]  # the exact encoder's rules, too
    return [
        (deep_item(MAX_DEPTH + 46), f"nested deeper than {MAX_DEPTH} levels"),
        (surrogate, "lone UTF-16 surrogate"),
        (huge, "more than the 4 MiB limit"),
        (nan, "Out of range float values are not JSON compliant"),
    ]


def mixed() -> tuple[list[dict], list[dict]]:
    """Good items with the poisons between them; and the good ones alone."""
    good = stream(6)
    items = [good[0], good[1]]
    for (poison, _), following in zip(poisons(), good[2:], strict=True):
        items += [poison, following]
    return items, good


def test_deep_item_has_the_depth_it_says():
    with pytest.raises(codec.Unencodable):
        codec.encode_item(deep_item(MAX_DEPTH + 1))
    assert codec.encode_item(deep_item(MAX_DEPTH))


def test_integers_beyond_64_bits_are_written_exactly_by_every_encoder():
    item = stream(1)[0]
    item["tweet"]["data"]["n"] = [10**30, -(2**63) - 1, 2**64 - 1, 0.1, "é"]
    encoded = codec.encode_item(item)
    assert b"[1000000000000000000000000000000,-9223372036854775809,18446744073709551615,0.1" in (
        encoded
    )
    assert codec.loads_exact(encoded) == item
    assert codec.encode_item(item, sort_keys=True) == codec.encode_item(
        codec.loads_exact(encoded), sort_keys=True
    )
    deep = deep_item(MAX_DEPTH + 1)
    deep["tweet"]["data"]["n"] = 10**30  # the exact encoder keeps the depth limit too
    with pytest.raises(codec.Unencodable, match="nested deeper"):
        codec.encode_item(deep)


def test_storm_tuples_carry_big_integers_exactly():
    from shoot2top.runtime.topology import items_of, tuple_of

    item = stream(1)[0]
    item["tweet"]["data"]["n"] = 10**30
    assert items_of(tuple_of([item, stream(2)[1]], 0.0)[0]) == [item, stream(2)[1]]


def test_the_lake_sink_dead_letters_each_poison_alone_and_writes_the_rest(tmp_path):
    items, good = mixed()
    for attempt in range(2):  # a rerun does the same: no crash, nothing written twice
        root = tmp_path / f"out{attempt}"
        letters = DeadLetters(tmp_path / f"dead{attempt}.jsonl")
        sink = LakeSink(LocalStore(root), name="archive", batch_items=3, dead_letters=letters)
        for item in items:
            sink.write(item)
        sink.close()
        assert sink.durable_ticket == len(items)
        assert ids([i for i in LakeSource(LocalStore(root)) if i is not None]) == ids(good)
        entries = letters.entries()
        assert [e["component"] for e in entries] == ["archive"] * 4
        for entry, (_, reason) in zip(entries, poisons(), strict=True):
            assert entry["where"].startswith("sink 'archive' item ") and reason in entry["reason"]
        surrogate = entries[1]
        assert "\\ud800" in surrogate["item_text"]  # kept faithfully, as JSON text


def test_a_batch_of_nothing_but_poison_writes_no_file(tmp_path):
    sink = LakeSink(LocalStore(tmp_path / "out"), dead_letters=DeadLetters(None))
    sink.write(poisons()[0][0])
    sink.flush()
    assert sink.durable_ticket == 1 and sink.files_written == 0


def test_the_socket_sink_dead_letters_each_poison_alone(tmp_path):
    items, good = mixed()
    letters = DeadLetters(tmp_path / "dead.jsonl")
    sink = SocketSink(SocketSinkConfig(type="socket", port=0), dead_letters=letters)
    for item in items:
        sink.write(item)
    with socket.create_connection(("127.0.0.1", sink.port)) as client:
        reader = client.makefile("rb")
        lines = [reader.readline() for _ in good]
    sink.interrupt()
    sink.abandon()
    assert ids([codec.loads(line) for line in lines]) == ids(good)
    assert [e["component"] for e in letters.entries()] == ["socket"] * 4


@pytest.mark.slow
def test_the_warehouse_dead_letters_each_poison_alone(pg_dsn):
    items, good = mixed()
    surrogate_id = stream(1, start_minute=30)[0]
    surrogate_id["tweet"]["data"]["id"] = "id\udfff"
    items.append(surrogate_id)
    sink = PostgresSink(WarehouseLoader(pg_dsn), batch_items=4)
    for item in items:
        sink.write(item)
    sink.close()
    assert sink.loaded == len(good) and sink.dead_lettered == 5
    big = stream(1, start_minute=40)[0]
    big["tweet"]["data"]["n"] = 10**30
    WarehouseLoader(pg_dsn).load([big])
    connection = connect(pg_dsn)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason, item FROM dead_letters ORDER BY reason")
        rows = cursor.fetchall()
        cursor.execute("SELECT count(DISTINCT item_id) FROM items")
        (stored,) = cursor.fetchone()
        cursor.execute("SELECT raw #>> '{tweet,data,n}' FROM items WHERE item_id = 'id0'")
        exact = {value for (value,) in cursor.fetchall()}
    connection.close()
    assert stored == len(good)
    assert "1000000000000000000000000000000" in exact
    reasons = " | ".join(reason for reason, _ in rows)
    for _, reason in poisons():
        assert reason in reasons
    assert any("\\ud800" in raw for _, raw in rows)
