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


@pytest.fixture(autouse=True, params=["decoded", "encoded"])
def hand_out(request, monkeypatch):
    """Every test here runs twice: items handed out decoded, and as their stored JSON
    text (`hand_out_encoded`, decoded again here for the assertions): the same items,
    order, positions and dead letters either way."""
    if request.param == "encoded":
        built, batches = LakeSource.__init__, LakeSource.next_batch

        def build(self, *args, **kwargs):
            built(self, *args, **kwargs)
            self.hand_out_encoded()

        def next_batch(self, max_items):
            batch = batches(self, max_items)
            if batch:  # (a file the fast path cannot vouch for comes decoded)
                batch = [i if isinstance(i, dict) else codec.loads_exact(i) for i in batch]
            return batch

        monkeypatch.setattr(LakeSource, "__init__", build)
        monkeypatch.setattr(LakeSource, "next_batch", next_batch)
    return request.param


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


def reference_merge(writers):
    """The merge the replay promises, item by item: each writer's items in file order,
    the writer whose next item was observed first goes first (ties: the earlier folder)."""
    import heapq

    streams = [
        [(item["_observed_at"], index, item) for batch in files for item in batch]
        for index, files in enumerate(writers)
    ]
    return [entry[2] for entry in heapq.merge(*streams, key=lambda entry: entry[:2])]


@pytest.fixture
def tangled(tmp_path):
    """Four writers of one partition: interleaved, equal times across writers, a late
    item in a later file of one writer, a file out of order in another, files of
    different sizes."""
    import random

    rng = random.Random(16)
    store = LocalStore(tmp_path / "lake")
    folders = sorted(WriterFolder.new(T0).name for _ in range(4))
    writers = []
    for index, folder in enumerate(folders):
        minutes = sorted(rng.choice(range(0, 240, 3)) for _ in range(rng.randint(40, 90)))
        if index == 2:
            minutes[5], minutes[30] = minutes[30], minutes[5]  # out of order
        items = [tweet(f"w{index}-{n}", at(m)) for n, m in enumerate(minutes)]
        files, start = [], 0
        while start < len(items):
            size = rng.randint(2, 25)
            files.append(items[start : start + size])
            start += size
        if index == 3:
            files[1].reverse()  # a file out of order in itself
        writers.append(files)
        for number, batch in enumerate(files):
            put(store, folder, number, batch)
    return store, writers


def test_batches_merge_writers_exactly_like_the_item_by_item_merge(tangled):
    store, writers = tangled
    expected = ids(reference_merge(writers))
    assert ids(replay(store)[0]) == expected
    for size in (1, 2, 7, 64, 1000):
        source, out = LakeSource(store), []
        while (batch := source.next_batch(size)) is not None:
            assert len(batch) <= size
            out += batch
        assert ids(out) == expected, size


def test_a_resume_after_any_batch_continues_exactly_after_it(tangled):
    store, writers = tangled
    expected = ids(reference_merge(writers))
    source, handed_out = LakeSource(store), []
    while (batch := source.next_batch(13)) is not None:
        handed_out += batch
        resumed = LakeSource(store, resume=codec.loads(codec.dumps(source.snapshot())))
        assert ids(handed_out) + ids(replay(store, resume=resumed.snapshot())[0]) == expected


def test_a_batch_with_one_bad_item_dead_letters_that_item_alone(tmp_path):
    store = LocalStore(tmp_path)
    good = stream(6)
    put(store, W1, 0, [*good[:3], {"video": {"snippet": {}}}, *good[3:]])
    letters = DeadLetters(tmp_path / "dead.jsonl")
    source = LakeSource(store, dead_letters=letters)
    assert ids(source.next_batch(100)) == ids(good)
    (entry,) = letters.entries()
    assert entry["where"].endswith(f"{W1}/0000000 item 3") and "no id" in entry["reason"]
    assert source.next_batch(100) is None and source.per_type == {"tweet": 2, "video": 2, "post": 2}


def test_a_bad_item_is_reported_when_the_replay_passes_it_and_never_again(tmp_path):
    store = LocalStore(tmp_path)
    good = stream(4)
    put(store, W1, 0, [good[0], {"video": {"snippet": {}}}, *good[1:]])
    letters = DeadLetters(tmp_path / "dead.jsonl")
    source = LakeSource(store, dead_letters=letters)
    assert ids(source.next_batch(1)) == ids(good[:1]) and letters.count == 1
    assert source.snapshot()["positions"][W1] == [0, 2]  # past the bad item it reported
    rest, _ = replay(store, dead_letters=letters, resume=source.snapshot())
    assert ids(rest) == ids(good[1:]) and letters.count == 1


def test_an_unreadable_file_mid_batch_hands_out_what_precedes_it_then_stops(tmp_path):
    store = FlakyStore(tmp_path)
    for number in range(3):
        put(store, W1, number, stream(2, start_minute=number * 2))
    source = LakeSource(store)
    assert ids(source.next_batch(100)) == ids(stream(2))
    assert source.snapshot()["positions"][W1] == [1, 0]
    for _ in range(2):  # it stays stopped: nothing after the file is handed out
        with pytest.raises(LakeError, match="0000001: Input/output error"):
            source.next_batch(100)
    assert source.snapshot()["positions"][W1] == [1, 0]


def test_pace_hands_out_nothing_before_an_item_is_due(tmp_path):
    store = LocalStore(tmp_path)
    put(store, W1, 0, [tweet(f"t{s}", T0 + timedelta(seconds=s)) for s in (0, 0, 30)])
    naps = []
    source = LakeSource(store, pace=1.0, sleep=naps.append)
    assert ids(source.next_batch(100)) == ["tweet:t0", "tweet:t0"]  # both due at once
    assert source.next_batch(100) == [] and naps == [0.25]  # a slice, then back
    assert source.snapshot()["positions"][W1] == [0, 2]


@pytest.mark.parametrize("glob", [None, "1999-*"])
def test_a_lake_with_nothing_to_replay_says_so(tmp_path, two_writers, caplog, glob):
    """An empty folder or S3 prefix (a mistyped one, often), or a glob that selects no
    partition: zero items, and a warning naming where and why, not a silent success."""
    store = two_writers if glob else LocalStore(tmp_path / "empty")
    (tmp_path / "empty").mkdir(exist_ok=True)
    assert replay(store, selection=Selection(glob=glob))[0] == []
    expected = f"no partition folder matches glob {glob!r}" if glob else "no partitions"
    assert f"{store.location('')}: {expected}: nothing to replay" in caplog.text
    caplog.clear()
    assert replay(two_writers)[0]
    assert "nothing to replay" not in caplog.text
