"""A lake-to-lake run moves items as their stored JSON text: each test runs one lake
through that mode and the decoding one and finds them doing the same (cases found in
review: items beyond the size limit, unencodable items in files the fast path cannot
vouch for, strict replays, sink subclasses, a source read before the run)."""

from factories import T0, lake_arrays, stream
from shoot2top import codec
from shoot2top.lake.layout import WriterFolder
from shoot2top.lake.store import LocalStore
from shoot2top.limits import MAX_ITEM_BYTES
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.pipeline import Pipeline, PipelineError
from shoot2top.runtime.state import Checkpoints
from shoot2top.sinks.base import Sink
from shoot2top.sinks.lake import LakeSink
from shoot2top.sources.lake import LakeSource

BIG_INTEGER_ITEM = (
    b'{"video":{"id":"b","n":123456789012345678901234567890,'
    b'"snippet":{"publishedAt":"2026-11-20T10:00:00Z"}}}'
)  # a file holding it cannot be vouched for: it is decoded (`_described_decoded`)


class DecodingLakeSink(LakeSink):
    takes_encoded = False


def lake_file(root, *elements):
    LocalStore(root / "lake").create(
        WriterFolder.new(T0).name, "0000000", b"[" + b",".join(elements) + b"]"
    )


def run_both(root, *, strict=False):
    """Per mode: how the run ended, the items stored, and each dead letter's where,
    reason, size of its `item` and of its `raw`."""
    runs = {}
    for name, sink_class in (("text", LakeSink), ("decoded", DecodingLakeSink)):
        letters = DeadLetters(root / f"{name}.jsonl")
        sink = sink_class(LocalStore(root / name), name="out", dead_letters=letters)
        lake = LocalStore(root / "lake")
        source = LakeSource(lake, name="in", dead_letters=letters, strict=strict)
        checkpoints = Checkpoints(root / f"{name}-checkpoint.json")
        try:
            Pipeline([source], [sink], checkpoints=checkpoints, dead_letters=letters).run()
            outcome = "ok"
        except PipelineError as error:
            outcome = f"failed: {error}"
        entries = [
            (e["where"], e["reason"], len(codec.dumps(e.get("item"))), len(e.get("raw", "")))
            for e in letters.entries()
        ]
        runs[name] = (outcome, len(lake_arrays(root / name)), entries)
    return runs


def deep_video(levels=300):
    return (
        b'{"video":{"id":"deep","x":' + b"[" * levels + b"]" * levels
        + b',"snippet":{"publishedAt":"2026-11-20T10:00:00Z"}}}'
    )  # fmt: skip


def test_an_item_above_the_size_limit_is_dead_lettered_whole_in_both_modes(tmp_path):
    """The sink dead-letters the item whole (under `item`) and goes on, in both modes."""
    items = stream(3)
    items[2]["post"]["message"] = "x" * (MAX_ITEM_BYTES + 1)
    lake_file(tmp_path, *[codec.dumps(item) for item in items])
    runs = run_both(tmp_path)
    assert runs["text"] == runs["decoded"]


def test_an_unencodable_item_in_a_file_the_fast_path_cannot_vouch_for(tmp_path):
    """A file the fast path cannot vouch for (an integer beyond 64 bits) comes decoded:
    the sink dead-letters its too-deep item under the same `where` in both modes."""
    good = [codec.encode_item(item) for item in stream(2)]
    lake_file(tmp_path, good[0], deep_video(), BIG_INTEGER_ITEM, good[1])
    runs = run_both(tmp_path)
    assert runs["text"] == runs["decoded"]


def test_an_unencodable_item_does_not_stop_a_strict_replay(tmp_path):
    lake_file(tmp_path, deep_video(), BIG_INTEGER_ITEM)
    runs = run_both(tmp_path, strict=True)
    assert runs["text"][0] == runs["decoded"][0] == "ok"


def test_the_size_limit_is_on_compact_json_not_on_the_stored_spelling(tmp_path):
    """`MAX_ITEM_BYTES` is the size as compact JSON: an item stored with escapes and
    spaces (as Python's json.dumps writes them) above it, but not compact, is stored
    (compact) in both modes."""
    item = (
        b'{"video": {"id": "v", "title": "'
        + b"\\u00e9" * 700_000
        + b'", "snippet": {"publishedAt": "2026-11-20T10:00:00Z"}}}'
    )  # fmt: skip  (4.2 MB stored, 1.4 MB compact)
    assert len(item) > MAX_ITEM_BYTES > len(codec.encode_item(codec.loads(item)))
    lake_file(tmp_path, item)
    runs = run_both(tmp_path)
    assert runs["text"] == runs["decoded"]


def test_a_lake_sink_subclass_overriding_write_batch_still_sees_the_items(tmp_path):
    """A subclass hooking `write_batch` is not bypassed: its run decodes the items."""
    seen = []

    class Counting(LakeSink):
        def write_batch(self, items):
            seen.append(len(items))
            return super().write_batch(items)

    lake_file(tmp_path, *[codec.encode_item(item) for item in stream(3)])
    sink = Counting(LocalStore(tmp_path / "out"), name="out")
    Pipeline([LakeSource(LocalStore(tmp_path / "lake"), name="in")], [sink]).run()
    assert seen == [3]


def test_a_source_read_before_the_run_still_feeds_a_lake_sink(tmp_path):
    """`hand_out_encoded` switches from the next file on: the loaded file's items come
    decoded, and the lake sink takes those too."""
    lake_file(tmp_path, *[codec.encode_item(item) for item in stream(3)])
    source = LakeSource(LocalStore(tmp_path / "lake"), name="in")
    assert source.next_batch(1)
    sink = LakeSink(LocalStore(tmp_path / "out"), name="out")
    Pipeline([source], [sink]).run()
    assert len(lake_arrays(tmp_path / "out")) == 2


def test_a_sink_that_stores_no_text_gets_decoded_items_from_write_encoded(tmp_path):
    """`Sink.write_encoded` by default decodes the text (exactly: integers beyond 64 bits
    too) and hands the sink's `write_batch` what a decoding run would."""
    items = stream(2)
    items[1]["video"]["views"] = 10**30
    text = [codec.dumps(items[0]), codec.encode_item(items[1])]

    kept = []

    class Keeping(Sink):
        def _write(self, item):
            kept.append(item)

        def _store(self):
            pass

    sink = Keeping("keeping")
    assert not sink.takes_encoded
    assert sink.write_encoded([memoryview(text[0]), text[1], items[0]]) == 3
    assert kept == [items[0], items[1], items[0]]
