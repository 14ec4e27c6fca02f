"""What a micro-batch file holds, when it is damaged, hostile or huge: the reasons say
what is wrong and where, recovered items are exactly what an intact file gives, and no
file costs more than a bounded amount of memory."""

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from factories import stream
from shoot2top import codec
from shoot2top.codec import BadElement
from shoot2top.lake.reader import decode_batch, read_batch
from shoot2top.lake.store import LocalStore, StoredFile
from shoot2top.limits import MAX_BATCH_BYTES, MAX_DEPTH


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_a_file_nested_100000_deep_is_damage_not_a_crash():
    items, problem = decode_batch(nested(100_000))
    assert problem is None  # an array holding one element: that element is bad alone
    (bad,) = items
    assert isinstance(bad, BadElement) and bad.reason == f"nested deeper than {MAX_DEPTH} levels"


def test_a_deep_item_is_rejected_alone_and_the_items_after_it_survive():
    good = stream(3)
    data = b"[" + codec.dumps(good[0]) + b"," + nested(100_000) + b"," + codec.dumps(good[2])
    data += b"," + codec.dumps(good[1]) + b"]"
    items, problem = decode_batch(data)
    assert problem is None
    assert items[0] == good[0] and items[2:] == [good[2], good[1]]
    assert isinstance(items[1], BadElement) and "nested deeper" in items[1].reason


def test_recovered_items_are_exactly_what_the_intact_file_gives():
    """Numbers, escapes and key order as the decoder of whole files reads them."""
    item = (
        b'{"tweet": {"data": {"id": "1", "n": 1000000000000000000000000000000, "f": 0.1,'
        b' "big": 18446744073709551615, "x": 1.5e300}}, "e": "\xc3\xa9\\u2028\\"",'
        b' "_observed_at": "2026-11-20T10:00:00Z"}'
    )
    whole = b"[" + item + b", " + item + b"]"
    intact, _ = decode_batch(whole)
    truncated, problem = decode_batch(whole[:-20])
    assert truncated == intact[:1]
    assert codec.encode_item(truncated[0]) == codec.encode_item(intact[0])
    assert intact[0]["tweet"]["data"]["n"] == 10**30  # exactly: not the double 1e+30
    assert "truncated inside item 1" in problem and "recovered 1 complete item " in problem


def test_an_out_of_range_number_is_rejected_never_turned_into_null():
    good = codec.dumps(stream(1)[0])
    items, problem = decode_batch(b'[{"tweet": {"v": 1e400}},' + good + b"]")
    assert problem is None
    assert isinstance(items[0], BadElement) and "number out of range" in items[0].reason
    assert items[1] == stream(1)[0]


def test_invalid_utf8_names_the_item_and_the_byte_and_spares_the_others():
    good = stream(3)
    bad = codec.dumps(good[1])[:-2] + b'\xff"}'
    data = codec.encode_array([codec.dumps(good[0]), bad, codec.dumps(good[2])])
    items, problem = decode_batch(data)
    assert problem is None
    assert items[0] == good[0] and items[2] == good[2]
    offset = data.index(b"\xff")
    assert items[1].reason == f"invalid UTF-8: byte 0xff at byte {offset} of the file"
    assert "\\xff" in items[1].raw


def test_garbage_bytes_are_told_apart_from_invalid_utf8():
    _, problem = decode_batch(b"\x8f\x03\xa1\x00garbage")
    assert problem.startswith("malformed JSON: binary data, not JSON text (begins 8f 03 a1 00")
    good = stream(2)
    garbage = codec.dumps(good[1])[:10] + b'\xfe"]]{' + codec.dumps(good[1])[10:]
    data = codec.encode_array([codec.dumps(good[0]), garbage])
    items, problem = decode_batch(data)
    assert items == [good[0]]
    assert problem.startswith("malformed JSON: item 1 is malformed")
    assert "recovered 1 complete item before the damage" in problem


def test_a_lone_surrogate_escape_is_rejected_alone():
    items, problem = decode_batch(b'[{"t": "\\ud800"}, {"t": "ok"}]')
    assert problem is None and items[1] == {"t": "ok"}
    assert "lone UTF-16 surrogate" in items[0].reason


def test_stray_bytes_after_the_array_keep_its_items():
    items, problem = decode_batch(codec.dumps(stream(2)) + b"\x00\x00")
    assert items == stream(2) and "2 stray bytes after the array" in problem


def test_a_gzip_bomb_is_refused_after_inflating_at_most_the_limit():
    bomb = gzip.compress(b" " * (MAX_BATCH_BYTES + 1024 * 1024), compresslevel=9)
    items, problem = decode_batch(bomb)
    assert items == [] and problem.startswith("too large: inflates to more than")
    assert "decompression bomb" in problem


def test_a_file_larger_than_the_limit_is_refused_unread(tmp_path):
    store = LocalStore(tmp_path)
    store.create("w", "0000000", b"[" + b" " * MAX_BATCH_BYTES + b"]")
    (stored,) = store.list_files("w")
    items, problem = read_batch(store, "w", stored)
    assert items == [] and problem.startswith(f"too large: the file is {stored.size:,} bytes")
    # A listing that under-states the size: the read stops at the limit all the same.
    items, problem = read_batch(store, "w", StoredFile(stored.name, 10))
    assert items == [] and problem.startswith("too large: more than")


def test_gzip_with_several_members_is_read_whole():
    first, second = stream(2)
    data = gzip.compress(b"[" + codec.dumps(first) + b",") + gzip.compress(
        codec.dumps(second) + b"]"
    )
    assert decode_batch(data) == ([first, second], None)


BOMB_RSS = """
import resource
from shoot2top.lake.reader import decode_batch
from drills import gzip_bomb
bomb = gzip_bomb()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
items, problem = decode_batch(bomb)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(bomb), before, after, problem[:40])
"""


@pytest.mark.slow
def test_a_10mb_gzip_bomb_costs_at_most_the_batch_limit_in_memory():
    result = subprocess.run(
        [sys.executable, "-c", BOMB_RSS],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[1],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    size, before_kb, after_kb, problem = result.stdout.split(maxsplit=3)
    assert 10_000_000 < int(size) < 12_000_000 and problem.startswith("too large: inflates")
    grown = (int(after_kb) - int(before_kb)) * 1024
    assert grown < MAX_BATCH_BYTES * 2.5, f"decoding the bomb grew RSS by {grown:,} bytes"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file (0 bytes)"),
        (b"  \n", "empty file (whitespace only)"),
        (b'{"tweet": {}}', "not a JSON array but a JSON dict"),
        (b"[{", "malformed JSON: truncated inside item 0"),
        (b"[1,,2]", "malformed JSON: item 1 is malformed at byte 3"),
        (b"[1,2", "malformed JSON: truncated inside item 1"),
        (b"[1,2,", "malformed JSON: truncated after item 1"),
    ],
)
def test_damage_reasons(content, reason):
    assert decode_batch(content)[1].startswith(reason)
