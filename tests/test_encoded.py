"""Items kept as their stored JSON text get exactly the identity, or the rejection, they
get decoded: whatever the item's shape, and whatever damage or hostile bytes a file
holds (a seeded fuzz against the decoding path)."""

import random
from typing import Any

import orjson
import pytest

from factories import T0, post, stream, tweet, video
from shapes import at, fb_item, fb_live_video, fb_post, fb_video, x_item, x_tweet, yt_video
from shoot2top import codec, encoded
from shoot2top.codec import BadElement
from shoot2top.lake.reader import decode_batch, decode_batch_encoded
from shoot2top.posts import InvalidPost, PostInfo, describe
from shoot2top.sample.generate import generate_items


def as_decoded(data: bytes) -> tuple[list[Any], list[PostInfo | str], str | None]:
    """What a replay that decodes gives of a file: each element's value and its
    identity or the reason it is rejected (the reference for the stored-text path)."""
    decoded, problem = decode_batch(data)
    reasons: list[PostInfo | str] = []
    for item in decoded:
        if isinstance(item, BadElement):
            reasons.append(item.reason)
            continue
        try:
            reasons.append(describe(item))
        except InvalidPost as error:
            reasons.append(str(error))
    return decoded, reasons, problem


def assert_same_as_decoded(data: bytes) -> None:
    items, reasons, problem = decode_batch_encoded(data)
    expected_items, expected_reasons, expected_problem = as_decoded(data)
    assert (reasons, problem) == (expected_reasons, expected_problem)
    for item, expected, reason in zip(items, expected_items, reasons, strict=True):
        if isinstance(reason, PostInfo) and not isinstance(item, dict):  # kept as text
            assert codec.loads_exact(item) == expected
        else:  # rejected: the dead letter shows what was decoded of it
            assert item == expected


def odd_shapes() -> list[Any]:
    legacy = {"tweet": {"id_str": "7", "created_at": "Fri Dec 18 00:00:01 +0000 2015",
                        "user": {"id_str": "9"}}}  # fmt: skip
    no_from = fb_item(fb_post("11", T0, "hi", from_page=False), at(1))
    listed = fb_item(fb_video("v1", T0, "clip", from_page=False), at(2), _page={"id": "77"})
    extra_metadata = tweet("t2", T0) | {"_x_rules": [{"id": "1", "tag": "football"}]}
    numeric_id = {"tweet": {"data": {"id": 12, "created_at": "2026-11-20T10:00:00Z"}}}
    big_id = {"tweet": {"data": {"id": 10**30, "created_at": "2026-11-20T10:00:00Z"}}}
    zoned = post("p9", T0) | {"_observed_at": "2026-11-20T12:00:00+02:00"}
    return [
        legacy,
        no_from,
        listed,
        extra_metadata,
        numeric_id,
        big_id,
        zoned,
        x_item(x_tweet("1790000000000000001", "goal #football", "42", T0), at(3)),
        fb_item(fb_live_video("l1", T0, "live now"), at(4)),
        yt_video("dQw4w9WgXcQ", T0, "a video", at(5)),
        {"video": {"id": "v", "snippet": "not an object", "x": 1}},
        {"tweet": {"data": "oops", "id_str": "5", "created_at": "2026-11-20T10:00:00Z"}},
        {"tweet": None},
        {"tweet": {}, "video": {}},
        {"reel": {"id": "1"}},
        {"post": {"id": "1", "created_time": "yesterday"}},
        {"post": {"id": "1", "created_time": "2026-01-01T00:00:00+0000"}, "_observed_at": 5},
        {"video": {"id": ["a"], "snippet": {"publishedAt": "2026-01-01T00:00:00Z"}}},
        [1, 2],
        "text",
        None,
    ]


@pytest.mark.parametrize("item", odd_shapes(), ids=lambda item: repr(item)[:40])
def test_every_shape_gets_the_identity_or_the_error_it_gets_decoded(item):
    data = b"[" + codec.encode_item(item) + b"]"
    assert_same_as_decoded(data)


def test_every_sample_item_is_described_from_its_skeleton_alone():
    """No sample item needs the whole decode (what makes the path fast), and each gets
    the identity describe gives the decoded item."""
    items = [*generate_items(items=600), tweet("t", T0), video("v", T0), post("p", T0)]
    data = codec.encode_array([codec.encode_item(item) for item in items])
    elements = encoded.split_array(data)
    assert elements is not None
    assert encoded.describe_elements(data, elements) == [describe(item) for item in items]


def test_the_stored_bytes_are_kept_as_they_are():
    """Whitespace, escapes and number spellings stay exactly as stored: nothing is
    re-encoded."""
    item = (
        b'{ "video" : {"id": "v\\u00e9", "n": 1.50, "m": 1E3,'
        b' "snippet": {"publishedAt": "2026-11-20T10:00:00Z"}},\n "_observed_at": null }'
    )
    items, reasons, problem = decode_batch_encoded(b"[" + item + b" ]")
    assert problem is None and isinstance(reasons[0], PostInfo)
    assert bytes(items[0]) == item
    assert reasons[0].item_id == "v\u00e9"


HOSTILE = [
    b'{"a":"\\ud800"}',  # a lone surrogate escape
    b'{"a":"\\udc00x"}',
    b'{"a":"\xff"}',  # invalid UTF-8
    b'{"a":"\xed\xa0\x80"}',  # a surrogate encoded in UTF-8
    b'{"a":1e400}',  # beyond a double
    b'{"a":-1e400}',
    b'{"a":' + b"1" * 400 + b".0}",
    b'{"a":"tab\tinside"}',  # a raw control character
    b'{"a":01}',
    b'{"a":NaN}',
    b'{"a":1,}',
    b'{"a":"\\x"}',
    b"[" * 300 + b"]" * 300,  # deeper than the encoder's limit
    b"[" * 2000 + b"]" * 2000,  # deeper than the decoder's
    b'{"a":' + b"9" * 30 + b"}",  # an integer beyond 64 bits: valid, kept exact
]


@pytest.mark.parametrize("element", HOSTILE, ids=lambda e: repr(e)[:30])
def test_hostile_elements_are_rejected_alone_as_decoding_rejects_them(element):
    good = [codec.encode_item(item) for item in stream(2)]
    data = b"[" + good[0] + b"," + element + b"," + good[1] + b"]"
    assert_same_as_decoded(data)
    assert_same_as_decoded(b"\xef\xbb\xbf" + data)  # a byte-order mark: refused whole


def test_split_vouches_only_for_what_the_decoder_accepts():
    for element in HOSTILE:
        data = b"[" + element + b"]"
        elements = encoded.split_array(data)
        if elements is not None:
            assert len(elements) == 1 and orjson.loads(data)


def test_a_fuzzed_file_reads_the_same_as_stored_text_as_decoded():
    """3,000 seeded mutations of a real micro-batch (bytes flipped, inserted, deleted,
    cut): every element gets the same identity or rejection on both paths, and every
    damaged file the same diagnosis."""
    shapes = [shape for shape in odd_shapes() if "10000000000" not in repr(shape)]
    items = generate_items(items=12) + shapes
    original = codec.encode_array([codec.encode_item(item) for item in items])
    stored_text = 0
    alphabet = b'"\\{}[],:0123456789e.-+ \xff\xc3\xa9\x00tfn'
    generator = random.Random(20261201)
    for _ in range(3000):
        data = bytearray(original)
        for _ in range(generator.randint(1, 3)):
            position = generator.randrange(len(data))
            action = generator.random()
            if action < 0.4:
                data[position] = generator.choice(alphabet)
            elif action < 0.7:
                data.insert(position, generator.choice(alphabet))
            elif action < 0.95:
                del data[position]
            else:
                del data[position:]
        assert_same_as_decoded(bytes(data))
        stored_text += encoded.split_array(bytes(data)) is not None
    assert stored_text > 300  # both paths were compared, not only the decoding one


def test_every_platform_names_every_key_its_identity_reads():
    """A key missing from `identity_fields` would give stored items another identity:
    the identity of each shape's skeleton is the identity of the whole item."""
    for item in odd_shapes():
        data = b"[" + codec.encode_item(item) + b"]"
        elements = encoded.split_array(data)
        if elements is None:  # (an integer beyond 64 bits: the file is decoded)
            continue
        (info,) = encoded.describe_elements(data, elements)
        if info is not None:
            assert info == describe(item)


def test_an_item_deeper_than_the_encoder_goes_is_copied_as_stored():
    """The one difference, documented in `limits.MAX_DEPTH`: decoded, an item nested
    300 levels cannot be encoded again and a sink dead-letters it; as stored text
    nothing encodes it, so it is kept, byte for byte, like any item the reader accepts."""
    deep = b'{"video":{"id":"v","x":' + b"[" * 300 + b"]" * 300 + b',"snippet":'
    deep += b'{"publishedAt":"2026-11-20T10:00:00Z"}}}'
    items, reasons, _ = decode_batch_encoded(b"[" + deep + b"]")
    assert isinstance(reasons[0], PostInfo) and bytes(items[0]) == deep
    with pytest.raises(codec.Unencodable, match="nested deeper than 254 levels"):
        codec.encode_item(codec.loads(deep))  # what a sink given it decoded does
