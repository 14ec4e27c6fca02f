import gzip
import time
from concurrent.futures import wait
from datetime import timedelta

import pytest

from factories import T0, at, deliveries, ids, observations, stream
from fakes.lake_store import FaultyStore
from shoot2top import codec
from shoot2top.lake.layout import WriterFolder
from shoot2top.lake.store import LakeError, LocalStore, S3Settings, open_store
from shoot2top.limits import MAX_BATCH_BYTES, MAX_ITEM_BYTES, MAX_SINK_BATCH_BYTES
from shoot2top.runtime.progress import human_bytes
from shoot2top.sinks.base import SinkAbandoned
from shoot2top.sinks.lake import LakeSink
from shoot2top.sources.lake import LakeSource
from waits import wait_for


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now.timestamp()


def files_of(store):
    return {folder: [f.name for f in store.list_files(folder)] for folder in store.list_folders()}


def items_of(store):
    return [
        item
        for folder in store.list_folders()
        for stored in store.list_files(folder)
        for item in codec.loads(store.read(folder, stored.name))
    ]


def test_batches_close_by_count_and_files_are_numbered(tmp_path):
    store = LocalStore(tmp_path)
    sink = LakeSink(store, batch_items=4, clock=Clock())
    for item in stream(10):
        sink.write(item)
    assert sink.durable_ticket == 8 and sink.pending == 2
    sink.close()
    (folder,) = files_of(store)
    assert files_of(store)[folder] == ["0000000", "0000001", "0000002"]
    assert WriterFolder.parse(folder).start == T0  # 10:00, an hour boundary
    assert ids(items_of(store)) == ids(stream(10))


def test_batches_close_by_bytes(tmp_path):
    store = LocalStore(tmp_path)
    sink = LakeSink(store, batch_bytes=600, clock=Clock())
    for item in stream(10):
        sink.write(item)
    sink.close()
    sizes = [f.size for folder in store.list_folders() for f in store.list_files(folder)]
    assert len(sizes) > 2 and all(size < 600 + 400 for size in sizes)


def test_batches_close_by_age_on_tick(tmp_path):
    store = LocalStore(tmp_path)
    sink = LakeSink(store, batch_age_s=0.05, clock=Clock())
    sink.write(stream(1)[0])
    sink.tick()
    assert sink.durable_ticket == 0
    time.sleep(0.06)
    sink.tick()
    assert sink.durable_ticket == 1 and len(items_of(store)) == 1


def test_partitions_rotate_at_the_boundary_into_a_new_writer_folder(tmp_path):
    store = LocalStore(tmp_path)
    clock = Clock(at(55))  # 10:55
    sink = LakeSink(store, rotation="hour", clock=clock)
    sink.write(stream(1)[0])
    clock.now = at(65)  # 11:05: the open batch belongs to the 10:00 partition
    sink.write(stream(2)[1])
    sink.close()
    folders = [WriterFolder.parse(name) for name in store.list_folders()]
    assert [f.start.hour for f in folders] == [10, 11]
    assert folders[0].writer_id != folders[1].writer_id
    assert [len(names) for names in files_of(store).values()] == [1, 1]


def test_day_rotation_shares_the_midnight_timestamp(tmp_path):
    store = LocalStore(tmp_path)
    LakeSink(store, rotation="day", clock=Clock(T0 + timedelta(hours=5))).write(stream(1)[0])
    sink = LakeSink(store, rotation="day", clock=Clock(T0 + timedelta(hours=9)))
    sink.write(stream(1)[0])
    sink.close()
    assert [name[:19] for name in store.list_folders()] == ["2026-11-20T00:00:00"]


def test_gzip_batches_are_still_named_by_number(tmp_path):
    store = LocalStore(tmp_path)
    sink = LakeSink(store, compress=True, clock=Clock())
    for item in stream(3):
        sink.write(item)
    sink.close()
    (folder,) = store.list_folders()
    data = store.read(folder, "0000000")
    assert data[:2] == b"\x1f\x8b"
    assert ids(codec.loads(gzip.decompress(data))) == ids(stream(3))


def test_the_largest_batch_a_sink_may_write_is_one_a_reader_accepts(tmp_path):
    """Items that fill a batch to one byte short of `batch_bytes`, then the largest item
    there may be: the file is as large as a sink can make it, and it must replay."""

    def item(number: int, size: int) -> dict:
        made = {"video": {"id": f"v{number}", "snippet": {"publishedAt": "2024-01-01T00:00:00Z",
                "description": ""}}, "_observed_at": "2024-01-01T01:00:00Z"}  # fmt: skip
        made["video"]["snippet"]["description"] = "x" * (size - len(codec.dumps(made)))
        return made

    sizes = [MAX_ITEM_BYTES - 1] * 6  # then one that ends the count at batch_bytes - 1
    sizes.append(MAX_SINK_BATCH_BYTES - 1 - sum(size + 1 for size in sizes) - 1)
    items = [item(n, size) for n, size in enumerate(sizes)] + [item(99, MAX_ITEM_BYTES)]
    sink = LakeSink(LocalStore(tmp_path, fsync=False), batch_bytes=MAX_SINK_BATCH_BYTES,
                    batch_items=1000, batch_age_s=3600)  # fmt: skip
    for one in items:
        sink.write(one)
    sink.close()
    (written,) = [path for path in tmp_path.glob("*/*")]
    assert MAX_BATCH_BYTES - 2 <= written.stat().st_size <= MAX_BATCH_BYTES
    assert ids(list(LakeSource(LocalStore(tmp_path)))) == ids(items)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="batch_items and batch_bytes must be >= 1"):
        LakeSink(LocalStore("/nonexistent"), batch_items=0)


def test_s3_round_trip(s3_server, s3_uri):
    store = open_store(s3_uri, S3Settings(endpoint_url=s3_server.endpoint))
    sink = LakeSink(store, batch_items=7, clock=Clock())
    for item in stream(20):
        sink.write(item)
    sink.close()
    (folder,) = store.list_folders()
    assert [f.name for f in store.list_files(folder)] == ["0000000", "0000001", "0000002"]
    assert ids(items_of(store)) == ids(stream(20))
    assert sink.report() == "wrote 3 files, " + human_bytes(sink.bytes_written)


@pytest.mark.slow
def test_an_s3_outage_fails_the_flush_and_keeps_the_batch(tmp_path, s3_credentials):
    """With the server down the sink raises a clear error and keeps every item pending;
    when it is back, the same batch is written: nothing lost."""
    from s3server import start_s3_server

    server = start_s3_server(tmp_path / "weed")
    try:
        server.client().create_bucket(Bucket="outage")
        settings = S3Settings(endpoint_url=server.endpoint, max_attempts=2, connect_timeout_s=1)
        sink = LakeSink(open_store("s3://outage/lake", settings), batch_items=5, clock=Clock())
        for item in stream(4):
            sink.write(item)
        server.stop()
        with pytest.raises(LakeError, match=r"S3 put s3://outage/lake/.*/0000000 failed"):
            sink.write(stream(5)[4])
        assert sink.durable_ticket == 0 and sink.pending == 5
        server.start()
        sink.flush()
        assert sink.durable_ticket == 5
        assert ids(items_of(open_store("s3://outage/lake", settings))) == ids(stream(5))
    finally:
        server.stop()


def test_a_rotation_flush_does_not_count_the_next_item_as_durable(tmp_path):
    clock = Clock(at(55))
    sink = LakeSink(LocalStore(tmp_path), rotation="hour", clock=clock)
    sink.write(stream(1)[0])
    clock.now = at(65)
    ticket = sink.write(stream(2)[1])  # closes the 10:00 batch, opens 11:00
    assert (sink.durable_ticket, ticket, sink.pending) == (1, 2, 1)


def test_a_batch_is_written_exactly_as_its_items_one_by_one(tmp_path):
    """Same files, same bytes, same tickets: the runner's batches change nothing on disk."""
    items = stream(23)

    def sink(root):
        return LakeSink(LocalStore(root), batch_items=4, batch_bytes=900, clock=Clock(),
                        new_writer_id=lambda: "00000000-0000-4000-8000-000000000000")  # fmt: skip

    one_by_one, at_once = sink(tmp_path / "a"), sink(tmp_path / "b")
    tickets = [one_by_one.write(item) for item in items]
    assert [at_once.write_batch(items[:10]), at_once.write_batch(items[10:])] == [10, 23]
    assert tickets[-1] == 23 and at_once.durable_ticket == one_by_one.durable_ticket
    one_by_one.close()
    at_once.close()
    files = {
        path.relative_to(tmp_path / "a"): path.read_bytes() for path in (tmp_path / "a").glob("*/*")
    }
    assert len(files) > 5 and files == {
        path.relative_to(tmp_path / "b"): path.read_bytes() for path in (tmp_path / "b").glob("*/*")
    }


def test_a_batch_lands_in_the_partition_of_the_time_it_is_written(tmp_path):
    store = LocalStore(tmp_path)
    clock = Clock(at(55))
    sink = LakeSink(store, rotation="hour", clock=clock)
    sink.write_batch(stream(3))
    clock.now = at(65)
    sink.write_batch(stream(5)[3:])  # closes the 10:00 batch, opens 11:00
    assert (sink.durable_ticket, sink.pending) == (3, 2)
    sink.close()
    assert [len(names) for names in files_of(store).values()] == [1, 1]


def test_one_item_of_a_batch_that_cannot_be_encoded_is_dead_lettered_alone(tmp_path):
    from shoot2top.runtime.deadletter import DeadLetters

    items = stream(4)
    items[1]["video"]["snippet"]["title"] = "\ud800 half a character"
    letters = DeadLetters(tmp_path / "dead.jsonl")
    sink = LakeSink(
        LocalStore(tmp_path / "lake"), batch_items=2, clock=Clock(), dead_letters=letters
    )
    assert sink.write_batch(items) == 4
    assert sink.durable_ticket == 3 and sink.pending == 1  # items 1 and 3 (of 1, 3, 4) stored
    sink.close()
    assert ids(items_of(LocalStore(tmp_path / "lake"))) == ids([items[0], items[2], items[3]])
    (entry,) = letters.entries()
    assert "surrogate" in entry["reason"] and "video 'id1'" in entry["where"]


def test_a_background_sink_writes_the_same_files_and_flush_waits_for_them(tmp_path):
    """Full batches go to the writer thread; `flush` (the runner's, before a checkpoint)
    returns only once every one of them is stored; the files are the synchronous sink's."""
    items = stream(23)

    def sink(root, background):
        return LakeSink(LocalStore(root), batch_items=4, batch_bytes=900, clock=Clock(),
                        new_writer_id=lambda: "00000000-0000-4000-8000-000000000000",
                        background=background)  # fmt: skip

    synchronous, background = sink(tmp_path / "a", False), sink(tmp_path / "b", True)
    assert synchronous.write_batch(items) == background.write_batch(items) == 23
    assert background.durable_ticket <= synchronous.durable_ticket  # stored or in flight
    synchronous.flush()
    background.flush()
    assert background.durable_ticket == synchronous.durable_ticket == 23
    assert background._in_flight is None and background.pending == 0
    synchronous.close()
    background.close()
    written = contents(tmp_path / "a")
    assert len(written) > 5 and written == contents(tmp_path / "b")


def contents(root):
    return {path.relative_to(root): path.read_bytes() for path in root.glob("*/*")}


def test_a_background_store_failure_is_raised_at_the_next_flush_and_the_batch_kept(tmp_path):
    store = FaultyStore(tmp_path, refuse=2)
    sink = LakeSink(store, batch_items=3, batch_age_s=3600, clock=Clock(), background=True)
    sink.write_batch(stream(7))  # files 0 and 1 sealed; file 1 is refused in the thread
    with pytest.raises(LakeError, match=r"cannot write .*/0000001: No space left"):
        sink.flush()
    assert sink.durable_ticket == 3 and sink.pending == 4
    store.refuse = 99  # the disk has room again
    sink.flush()  # file 1 first, then the open batch as file 2
    assert sink.durable_ticket == 7
    assert files_of(store)[store.list_folders()[0]] == ["0000000", "0000001", "0000002"]
    assert ids(items_of(store)) == ids(stream(7))
    sink.close()


def test_a_background_store_failure_stops_later_batches_until_it_is_stored(tmp_path):
    store = FaultyStore(tmp_path, refuse=1)
    sink = LakeSink(store, batch_items=2, batch_age_s=3600, clock=Clock(), background=True)
    with pytest.raises(LakeError, match=r"cannot write .*/0000000: No space left"):
        sink.write_batch(stream(4))  # file 0 refused in the thread: file 1 waits for it
    assert sink.durable_ticket == 0 and store.calls == 1
    sink.abandon()  # the runner's way out: nothing more is stored
    assert store.list_folders() == []


def test_an_interrupt_while_waiting_for_a_background_store_leaves_it_in_flight(tmp_path):
    # Ctrl-C in a notebook while flush waits: the store goes on in its thread; it must not
    # be taken for a failure and stored a second time beside it.
    store = FaultyStore(tmp_path, held=True)
    sink = LakeSink(store, batch_items=2, batch_age_s=3600, clock=Clock(), background=True)
    sink.write_batch(stream(2))  # file 0 sealed and handed to the thread, which waits
    future = sink._in_flight[0]
    real_result = future.result

    def interrupted():
        raise KeyboardInterrupt

    future.result = interrupted
    with pytest.raises(KeyboardInterrupt):
        sink.flush()
    future.result = real_result
    assert sink.durable_ticket == 0 and sink._failed is None
    store.gate.set()
    sink.flush()
    assert sink.durable_ticket == 2 and store.calls == 1
    assert ids(items_of(store)) == ids(stream(2))
    sink.close()


def settled(sink):
    """Wait until the batch in flight has been stored or refused by the writer thread."""
    wait([sink._in_flight[0]], timeout=30)


def test_a_background_store_failure_is_raised_by_tick_and_the_batch_stored_first_later(tmp_path):
    """A sink that is only ticked (the runner while its sources are idle) learns of the
    failure at once, with the store's own error; the refused batch keeps its place:
    stored once, before every later one."""
    items = stream(12)
    store = FaultyStore(tmp_path, refuse=2)
    sink = LakeSink(store, batch_items=3, batch_age_s=3600, clock=Clock(), background=True)
    sink.write_batch(items[:7])  # files 0 and 1 sealed; file 1 is refused in the thread
    settled(sink)
    with pytest.raises(LakeError, match=r"cannot write .*/0000001: No space left on device"):
        sink.tick()
    assert (sink.durable_ticket, sink.pending) == (3, 4)
    store.refuse = 99  # the disk has room again
    sink.write_batch(items[7:])  # file 1 first, then files 2 and 3
    assert sink.durable_ticket >= 7
    sink.close()
    assert files_of(store)[store.list_folders()[0]] == [f"000000{n}" for n in range(4)]
    assert ids(items_of(store)) == ids(items)  # in order, as the file numbers go
    assert deliveries(tmp_path) == observations(items)  # each item once
    assert store.calls == 5  # files 0, 1 (refused), 1, 2, 3


def test_a_background_store_failure_is_raised_by_close_which_can_be_retried(tmp_path):
    items = stream(7)
    store = FaultyStore(tmp_path, refuse=2)
    sink = LakeSink(store, batch_items=3, batch_age_s=3600, clock=Clock(), background=True)
    sink.write_batch(items)  # file 1 is refused in the thread
    with pytest.raises(LakeError, match=r"cannot write .*/0000001: No space left on device"):
        sink.close()
    with pytest.raises(LakeError, match=r"cannot write .*/0000001: No space left on device"):
        sink.close()  # tried again, refused again: still kept
    assert (sink.durable_ticket, sink.pending) == (3, 4)
    store.refuse = 99
    sink.close()
    assert (sink.durable_ticket, sink.pending) == (7, 0)
    assert files_of(store)[store.list_folders()[0]] == ["0000000", "0000001", "0000002"]
    assert ids(items_of(store)) == ids(items) and deliveries(tmp_path) == observations(items)
    assert store.calls == 5  # files 0, 1 (refused), 1 (refused), 1, 2


def test_a_partition_change_while_a_batch_is_in_flight_keeps_it_in_the_old_folder(tmp_path):
    """The clock crosses 11:00 while file 0 of the 10:00 partition is still being stored:
    it, and the open batch, land in the 10:00 folder; the new items in the 11:00 one."""
    items = stream(5)
    store = FaultyStore(tmp_path, held=True)
    clock = Clock(at(55))
    sink = LakeSink(store, batch_items=2, batch_age_s=3600, clock=clock, background=True)
    sink.write_batch(items[:3])  # file 0 (items 0, 1) in flight, held; item 2 open
    assert sink._in_flight is not None and sink.durable_ticket == 0

    def eleven_oclock():  # the sink reads it after seeing file 0 unfinished
        store.gate.set()
        return at(65).timestamp()

    sink.clock = eleven_oclock
    assert sink.write_batch(items[3:]) == 5
    assert (sink.durable_ticket, sink.pending) == (3, 2)  # items 3 and 4: in flight or open
    sink.flush()
    assert sink.durable_ticket == 5
    sink.close()
    old, new = store.list_folders()
    assert [WriterFolder.parse(name).start.hour for name in (old, new)] == [10, 11]
    assert files_of(store) == {old: ["0000000", "0000001"], new: ["0000000"]}
    assert ids(codec.loads(store.read(old, "0000000"))) == ids(items[:2])
    assert ids(codec.loads(store.read(old, "0000001"))) == ids(items[2:3])
    assert ids(codec.loads(store.read(new, "0000000"))) == ids(items[3:])


def test_a_store_refused_at_a_partition_change_is_stored_in_its_own_partition_later(tmp_path):
    items = stream(5)
    store = FaultyStore(tmp_path, refuse=1)
    clock = Clock(at(55))
    sink = LakeSink(store, batch_items=2, batch_age_s=3600, clock=clock, background=True)
    sink.write_batch(items[:3])  # file 0 of 10:00 refused in the thread; item 2 open
    settled(sink)
    clock.now = at(65)
    with pytest.raises(LakeError, match=r"cannot write .*/0000000: No space left on device"):
        sink.write_batch(items[3:])  # not accepted: the caller sends them again
    assert (sink.last_ticket, sink.durable_ticket) == (3, 0)
    store.refuse = 99
    assert sink.write_batch(items[3:]) == 5
    sink.close()
    old, new = store.list_folders()
    assert files_of(store) == {old: ["0000000", "0000001"], new: ["0000000"]}
    assert [WriterFolder.parse(name).start.hour for name in (old, new)] == [10, 11]
    assert ids(items_of(store)) == ids(items) and deliveries(tmp_path) == observations(items)


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("lands", [True, False], ids=["store-lands", "store-fails"])
def test_abandon_during_a_store_drops_nothing_durable_and_a_resume_loses_nothing(tmp_path, lands):
    """The runner abandons a sink after another one failed, while this one's writer
    thread is storing file 1: abandon neither waits nor raises, the file ends complete
    or absent, and a new sink writing everything after the checkpoint loses nothing
    (file 1's items twice at worst)."""
    items = stream(7)
    store = FaultyStore(tmp_path, refuse=2 if not lands else float("inf"), held=True)
    store.gate.set()
    sink = LakeSink(store, batch_items=2, batch_age_s=3600, clock=Clock(), background=True)
    sink.write_batch(items[:2])
    sink.flush()  # file 0 stored
    checkpoint = sink.durable_ticket  # what the runner saves
    store.gate.clear()
    sink.write_batch(items[2:5])  # file 1 (items 2, 3) handed to the thread, held; 4 open
    wait_for(lambda: store.calls == 2, "the writer thread inside the store")
    in_progress = sink._in_flight[0]
    sink.abandon()
    assert not in_progress.done()  # abandon did not wait for it
    (folder,) = store.list_folders()
    assert [path.name for path in (tmp_path / folder).iterdir()] == ["0000000"]
    store.gate.set()
    wait([in_progress], timeout=30)
    assert (in_progress.exception() is None) == lands  # a failure is not raised anywhere
    assert sorted(path.name for path in (tmp_path / folder).iterdir()) == (
        ["0000000", "0000001"] if lands else ["0000000"]
    )  # complete or absent: no temp file, nothing partial
    if lands:
        assert ids(codec.loads(store.read(folder, "0000001"))) == ids(items[2:4])

    resumed = LakeSink(LocalStore(tmp_path), batch_items=2, clock=Clock(), background=True)
    resumed.write_batch(items[checkpoint:])
    resumed.close()
    twice = observations(items[2:4]) if lands else observations([])
    assert deliveries(tmp_path) == observations(items) + twice


def sized_sink(store, background):
    """Batches close by size (three of `stream`'s items reach 585 bytes); one folder name."""
    return LakeSink(store, batch_items=100, batch_bytes=585, batch_age_s=3600, clock=Clock(),
                    background=background,
                    new_writer_id=lambda: "00000000-0000-4000-8000-000000000000")  # fmt: skip


def without_a_failure(root, items):
    """The files of a sink that writes `items` and closes, and nothing fails."""
    sink = sized_sink(LocalStore(root), background=False)
    sink.write_batch(items)
    sink.close()
    return contents(root)


def test_a_batch_that_filled_while_the_store_before_it_failed_is_stored_as_it_was(tmp_path):
    """File 1's store fails while the next batch fills up (by size): that batch stays
    full, and the next write stores it before adding anything to it. The files are the
    ones a sink without the failure writes: none larger than its rules allow (a batch
    at `MAX_SINK_BATCH_BYTES` with one item more would be too large for a reader)."""
    items = stream(12)
    store = FaultyStore(tmp_path / "b", refuse=2)
    sink = sized_sink(store, background=True)
    sink.write_batch(items[:3])  # file 0
    settled(sink)
    store.gate.clear()
    sink.write_batch(items[3:6])  # file 1 in flight, held, to be refused

    def opening():  # read after the sink saw file 1 unfinished
        store.gate.set()
        return Clock()()

    sink.clock = opening
    with pytest.raises(LakeError, match=r"cannot write .*/0000001: No space left on device"):
        sink.write_batch(items[6:9])  # fills the next batch, then waits for file 1
    store.refuse = 99
    sink.write_batch(items[sink.last_ticket :])  # from the first item it did not take
    sink.close()
    assert contents(tmp_path / "b") == without_a_failure(tmp_path / "a", items)
    assert len(contents(tmp_path / "b")) == 4


def test_a_synchronous_sink_stores_a_batch_refused_when_full_as_it_was(tmp_path):
    items = stream(12)
    store = FaultyStore(tmp_path / "b", refuse=2)
    sink = sized_sink(store, background=False)
    with pytest.raises(LakeError, match=r"cannot write .*/0000001: No space left on device"):
        sink.write_batch(items[:6])  # file 1 refused: its batch stays open, full
    store.refuse = 99
    for item in items[sink.last_ticket :]:  # one by one: `write` adds to the batch too
        sink.write(item)
    sink.close()
    assert contents(tmp_path / "b") == without_a_failure(tmp_path / "a", items)


def test_an_abandoned_sink_never_calls_what_it_dropped_durable(tmp_path):
    """A flush or close after `abandon` raises: it would mark the dropped items durable
    (acked, checkpointed past) with nothing stored."""
    sink = LakeSink(LocalStore(tmp_path), batch_items=100, batch_age_s=3600)
    sink.write_batch(stream(5))
    sink.abandon()
    with pytest.raises(SinkAbandoned, match="sink 'lake' was abandoned"):
        sink.flush()
    with pytest.raises(SinkAbandoned):
        sink.close()
    assert (sink.durable_ticket, sink.pending) == (0, 5)
    assert not list(tmp_path.iterdir())  # nothing was stored
