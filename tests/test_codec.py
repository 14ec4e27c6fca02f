from shoot2top import codec


def test_encode_array_round_trips():
    items = [{"a": "é😀"}, {"b": [1, 2]}]
    assert codec.loads(codec.encode_array([codec.dumps(i) for i in items])) == items


def test_salvage_recovers_complete_leading_items_of_a_truncated_array():
    data = b'[{"a": 1}, {"b": [2, 3]}, {"c": "trunc'
    assert codec.salvage(data).items == [{"a": 1}, {"b": [2, 3]}]


def test_salvage_of_garbage_recovers_nothing():
    assert codec.salvage(b"\x00\x01garbage").items == []
    assert codec.salvage(b'{"not": "an array"').items == []
