import gc

import pytest

from shoot2top import codec


def test_encode_array_round_trips():
    items = [{"a": "é😀"}, {"b": [1, 2]}]
    assert codec.loads(codec.encode_array([codec.dumps(i) for i in items])) == items


@pytest.mark.parametrize("count", [0, 1, 2, 3, 1000])
def test_encode_array_is_the_compact_array_of_the_items(count):
    items = [{"n": number} for number in range(count)]
    assert codec.encode_array([codec.dumps(i) for i in items]) == codec.dumps(items)


def test_salvage_recovers_complete_leading_items_of_a_truncated_array():
    data = b'[{"a": 1}, {"b": [2, 3]}, {"c": "trunc'
    assert codec.salvage(data).items == [{"a": 1}, {"b": [2, 3]}]


def test_salvage_of_garbage_recovers_nothing():
    assert codec.salvage(b"\x00\x01garbage").items == []
    assert codec.salvage(b'{"not": "an array"').items == []


def test_a_batch_encodes_like_its_items_one_by_one_and_a_bad_one_alone():
    from shoot2top.limits import MAX_ITEM_BYTES

    plain = [{"video": {"id": str(n)}} for n in range(3)]
    assert codec.encode_items(plain) == [codec.encode_item(item) for item in plain]
    big_integer = {"video": {"id": "b", "views": 10**30}}
    too_large = {"video": {"id": "l", "text": "x" * MAX_ITEM_BYTES}}
    surrogate = {"video": {"id": "s", "title": "\ud800"}}
    for bad in (too_large, surrogate):
        encoded = codec.encode_items([plain[0], bad, big_integer])
        assert encoded[0] == codec.encode_item(plain[0])
        assert isinstance(encoded[1], codec.Unencodable)
        assert encoded[2] == b'{"video":{"id":"b","views":1000000000000000000000000000000}}'
    assert codec.encode_items([]) == []


def test_fewer_collections_raises_the_first_threshold_and_restores_it():
    import gc

    before = gc.get_threshold()
    with codec.fewer_collections(every=123_456):
        assert gc.get_threshold() == (123_456, *before[1:])
        with codec.fewer_collections(every=10):  # never lower than it is
            assert gc.get_threshold()[0] == 123_456
    assert gc.get_threshold() == before


def test_fewer_collections_can_pause_the_collector_and_restores_it() -> None:
    assert gc.isenabled()
    with codec.fewer_collections(every=None):
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), codec.fewer_collections(every=None):
        raise RuntimeError("a bug while preparing")
    assert gc.isenabled()
    gc.disable()  # the application's choice is kept
    try:
        with codec.fewer_collections(every=None):
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "number", [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30, -(10**30)]
)
def test_loads_exact_reads_integers_at_and_beyond_64_bits_exactly(number):
    text = b'[{"n": %d, "f": 1.5, "s": "%d"}]' % (number, number)
    (item,) = codec.loads_exact(text)
    assert item == {"n": number, "f": 1.5, "s": str(number)} and type(item["n"]) is int
    assert codec.loads_exact(memoryview(text)) == [item]


def test_loads_exact_is_exact_beside_an_item_nested_near_the_decoders_limit():
    """A text holding a big integer is decoded again by the stdlib, which a neighbour
    nested 990 levels deep took past Python's recursion limit from a caller a few dozen
    frames deep (a Storm bolt): the big integer came back a double. Not any more."""
    data = b"[" + b"[" * 990 + b"]" * 990 + b',{"n":' + str(10**30).encode() + b"}]"

    def called_from(frames):
        return codec.loads_exact(data) if frames == 0 else called_from(frames - 1)

    value = called_from(60)
    assert value[1] == {"n": 10**30} and type(value[1]["n"]) is int
