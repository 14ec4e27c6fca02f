import gzip
from datetime import timedelta

import pytest

from factories import T0, at, ids, stream, tweet, video
from shoot2top import codec
from shoot2top.lake.layout import WriterFolder
from shoot2top.lake.reader import Selection
from shoot2top.lake.store import LakeError, LocalStore, S3Settings, open_store
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sources.lake import LakeSource

W1 = WriterFolder.new(T0).name
W2 = WriterFolder.new(T0).name
W3 = WriterFolder.new(T0 + timedelta(hours=1)).name


def put(store, folder, number, items):
    store.create(folder, f"{number:07d}", codec.dumps(items))


def replay(store, **options):
    source = LakeSource(store, **options)
    return [item for item in source if item is not None], source


@pytest.fixture
def two_writers(tmp_path):
    """Two writers of the 10:00 partition interleaved in time, and one of 11:00."""
    store = LocalStore(tmp_path / "lake")
    evens = [tweet(f"e{m}", at(m)) for m in range(0, 60, 2)]
    odds = [video(f"o{m}", at(m)) for m in range(1, 60, 2)]
    put(store, W1, 0, evens[:15])
    put(store, W1, 1, evens[15:])
    put(store, W2, 0, odds[:10])
    put(store, W2, 1, odds[10:])
    put(store, W3, 0, [tweet(f"late{m}", at(60 + m)) for m in range(5)])
    return store


def test_writers_are_merged_by_observed_time(two_writers):
    items, source = replay(two_writers)
    assert len(items) == 65
    times = [item["_observed_at"] for item in items]
    assert times == sorted(times)
    assert ids(items)[:3] == ["tweet:e0", "video:o1", "tweet:e2"]
    assert source.files_read == 5


def test_a_glob_selects_one_partition_across_writers(two_writers):
    items, _ = replay(two_writers, selection=Selection(glob="2026-11-20T10:00:00-*"))
    assert len(items) == 60 and not any("late" in i for i in ids(items))


def test_a_time_range_selects_observed_times(two_writers):
    selection = Selection(since=at(10), until=at(62))
    items, _ = replay(two_writers, selection=selection)
    assert ids(items)[0] == "tweet:e10"
    times = [item["_observed_at"] for item in items]
    assert times[0] == "2026-11-20T10:10:00Z" and times[-1] == "2026-11-20T11:01:00Z"
    assert len(items) == 52


def test_resume_continues_without_re_emitting(two_writers):
    source = LakeSource(two_writers)
    first = []
    for item in source:
        first.append(item)
        if len(first) == 23:
            break
    rest, _ = replay(two_writers, resume=codec.loads(codec.dumps(source.snapshot())))
    everything, _ = replay(two_writers)
    assert ids(first) + ids(rest) == ids(everything)


def test_pace_replays_at_a_multiple_of_real_time(tmp_path):
    store = LocalStore(tmp_path)
    put(store, W1, 0, [tweet(f"t{s}", T0 + timedelta(seconds=s)) for s in (0, 10, 20)])
    import time

    started = time.monotonic()
    items, _ = replay(store, pace=50)  # 20 s of items at 50x: 0.4 s
    elapsed = time.monotonic() - started
    assert len(items) == 3 and 0.35 <= elapsed < 1.5


@pytest.mark.parametrize(
    ("content", "reason", "recovered"),
    [
        (b"", "empty file (0 bytes)", 0),
        (b'{"tweet": {}}', "not a JSON array but a JSON dict", 0),
        (b"\x00\xffgarbage", "malformed JSON", 0),
        (None, "malformed JSON", 2),  # truncated: two complete items survive
        ("gzip-truncated", "truncated gzip stream", 2),
    ],
)
def test_damaged_files_are_dead_lettered_and_the_replay_goes_on(
    tmp_path, content, reason, recovered
):
    store = LocalStore(tmp_path / "lake")
    good = stream(4)
    put(store, W1, 0, good[:2])
    whole = codec.dumps(stream(3, start_minute=2))
    if content is None:
        content = whole[: whole.rindex(b"{")]  # cut inside the third item
    elif content == "gzip-truncated":
        content = gzip.compress(whole[: whole.rindex(b"{")] + b"")[:-8]
    store.create(W1, "0000001", content)
    put(store, W1, 2, good[2:])
    letters = DeadLetters(tmp_path / "dead.jsonl")
    items, source = replay(store, dead_letters=letters)
    assert len(items) == 4 + recovered
    (entry,) = letters.entries()
    assert entry["where"].endswith(f"{W1}/0000001")
    assert reason in entry["reason"] and source.damaged_files == 1


def test_non_conforming_items_are_dead_lettered_with_the_item(tmp_path):
    store = LocalStore(tmp_path)
    put(store, W1, 0, [tweet("a", at(0)), {"reel": {"id": 1}}, [1], video("b", at(1))])
    letters = DeadLetters(tmp_path / "dead.jsonl")
    items, _ = replay(store, dead_letters=letters)
    assert ids(items) == ["tweet:a", "video:b"]
    entries = letters.entries()
    assert [e["where"].rsplit(" ", 1)[-1] for e in entries] == ["1", "2"]
    assert entries[0]["item"] == {"reel": {"id": 1}}
    assert "unknown type key 'reel'" in entries[0]["reason"]


def test_strict_fails_naming_the_file(tmp_path):
    store = LocalStore(tmp_path)
    put(store, W1, 0, stream(2))
    store.create(W1, "0000001", b"[{")
    source = LakeSource(store, strict=True)
    seen = []
    with pytest.raises(LakeError, match=f"{W1}/0000001: malformed JSON"):
        for item in source:
            seen.append(item)
    assert len(seen) == 2 and source.snapshot()["positions"][W1] == [1, 0]  # file 0 done


def test_stray_names_are_ignored(tmp_path):
    store = LocalStore(tmp_path)
    put(store, W1, 0, stream(2))
    store.create("not-a-partition", "0000000", b"[]")
    store.create(W1, "README", b"hello")
    items, _ = replay(store)
    assert len(items) == 2


def test_s3_replay_is_the_same_as_local(tmp_path, s3_server, s3_uri, two_writers):
    s3 = open_store(s3_uri, S3Settings(endpoint_url=s3_server.endpoint))
    for folder in two_writers.list_folders():
        for stored in two_writers.list_files(folder):
            s3.create(folder, stored.name, two_writers.read(folder, stored.name))
    assert ids(replay(s3)[0]) == ids(replay(two_writers)[0])


def test_negative_pace_is_refused(tmp_path):
    with pytest.raises(ValueError, match="pace must be >= 0"):
        LakeSource(LocalStore(tmp_path), pace=-1)


def test_a_resume_neither_re_reads_nor_re_reports_what_it_skipped(tmp_path):
    store = LocalStore(tmp_path / "lake")
    put(store, W1, 0, [tweet("a", at(0)), {"video": {"snippet": {}}}])  # bad item last
    letters = DeadLetters(tmp_path / "dead.jsonl")
    items, source = replay(store, dead_letters=letters)
    assert ids(items) == ["tweet:a"] and len(letters.entries()) == 1
    again, second = replay(store, dead_letters=letters, resume=source.snapshot())
    assert again == [] and len(letters.entries()) == 1 and second.files_read == 0


def test_items_with_a_type_but_no_identity_are_dead_lettered(tmp_path):
    store = LocalStore(tmp_path)
    no_id = {"video": {"snippet": {"publishedAt": "2026-11-20T10:00:00Z"}}}
    bad_time = {"post": {"id": "p", "created_time": "yesterday"}}
    put(store, W1, 0, [no_id, tweet("ok", at(1)), bad_time])
    letters = DeadLetters(tmp_path / "dead.jsonl")
    items, _ = replay(store, dead_letters=letters)
    assert ids(items) == ["tweet:ok"]
    assert [
        "video has no id" in e["reason"] or "yesterday" in e["reason"] for e in letters.entries()
    ] == [True, True]


def test_corrupt_gzip_is_dead_lettered(tmp_path):
    store = LocalStore(tmp_path)
    store.create(W1, "0000000", b"\x1f\x8b" + b"\x00" * 40)
    put(store, W1, 1, stream(2))
    letters = DeadLetters(tmp_path / "dead.jsonl")
    items, _ = replay(store, dead_letters=letters)
    assert len(items) == 2 and "gzip" in letters.entries()[0]["reason"]


class FlakyStore(LocalStore):
    """A local lake in which one file cannot be read (a disk or S3 error)."""

    def read(self, folder, name, limit=None):
        if name == "0000001":
            raise LakeError(f"cannot read {self.location(folder, name)}: Input/output error")
        return super().read(folder, name, limit)


def test_an_unreadable_file_stops_the_replay_before_it_and_is_not_dead_lettered(tmp_path):
    """Not being able to read a file is a fault, not damage (more in lake/test_faults.py)."""
    store = FlakyStore(tmp_path)
    for number in range(3):
        put(store, W1, number, stream(2, start_minute=number * 2))
    letters = DeadLetters(tmp_path / "dead.jsonl")
    source = LakeSource(store, dead_letters=letters)
    with pytest.raises(LakeError, match="Input/output error"):
        list(source)
    assert letters.entries() == [] and source.snapshot()["positions"][W1] == [1, 0]


def test_shards_split_the_writers_between_them(two_writers):
    everything = ids(replay(two_writers)[0])
    shares = [ids(replay(two_writers, shard=(i, 3))[0]) for i in range(3)]
    assert sorted(i for share in shares for i in share) == sorted(everything)
    with pytest.raises(ValueError, match="shard 3 of 3 does not exist"):
        LakeSource(two_writers, shard=(3, 3))
