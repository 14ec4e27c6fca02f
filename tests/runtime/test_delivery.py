import threading
import time

from factories import ids, lake_arrays, stream
from shoot2top import codec
from shoot2top.lake.store import LakeError, LocalStore
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.delivery import AckingSink, TrackedSource
from shoot2top.runtime.state import Checkpoints
from shoot2top.runtime.topology import items_of, tuple_of_json
from shoot2top.sinks.lake import LakeSink
from shoot2top.sources.base import Source


class ListSource(Source):
    """A source over a list, resumable by index."""

    def __init__(self, items, resume=None):
        super().__init__("list")
        self.items = items
        self.position = (resume or {}).get("next", 0)

    def __iter__(self):
        while self.position < len(self.items):
            item = self.items[self.position]
            self.position += 1
            yield item

    def snapshot(self):
        return {"next": self.position}


def drain(tracked, limit=1000):
    out = []
    for _ in range(limit):
        due = tracked.next()
        if due is None:
            break
        out.append(due)
    return out


def test_pending_is_bounded_and_acks_make_room():
    tracked = TrackedSource(ListSource(stream(10)), max_pending=4)
    first = drain(tracked)
    assert [message_id for message_id, _ in first] == [1, 2, 3, 4]
    tracked.ack(2)
    assert [message_id for message_id, _ in drain(tracked)] == [5]


def test_failed_items_are_re_emitted_after_a_backoff_then_dead_lettered(tmp_path):
    letters = DeadLetters(tmp_path / "dead.jsonl")
    now = [0.0]
    tracked = TrackedSource(
        ListSource(stream(2)), max_fails=2, dead_letters=letters, clock=lambda: now[0]
    )
    drain(tracked)
    for backoff in (0.5, 1.0):
        tracked.fail(1)
        assert drain(tracked) == []  # not before its backoff
        now[0] += backoff
        assert drain(tracked)[0][0] == 1  # re-emitted, same message id
    tracked.fail(1)  # third failure: gives up
    assert drain(tracked) == [] and tracked.dead_lettered == 1 and tracked.replayed == 2
    (entry,) = letters.entries()
    assert entry["reason"] == "failed 3 times downstream" and ids([entry["item"]]) == ["tweet:id0"]
    tracked.ack(2)
    assert tracked.done


def test_an_item_that_cannot_cross_to_the_bolts_is_dead_lettered_alone(tmp_path):
    """A lone surrogate or a nesting deeper than JSON can carry would crash the spout at
    every restart; the spout refuses that item alone and emits the rest."""
    letters = DeadLetters(tmp_path / "dead.jsonl")
    deep: list = []
    for _ in range(300):
        deep = [deep]
    items = stream(4)
    items[1]["video"]["snippet"]["title"] = "\ud800 half a character"
    items[2]["post"]["attachments"] = deep
    checkpoints = Checkpoints(tmp_path / "checkpoint.json")
    tracked = TrackedSource(
        ListSource(items), dead_letters=letters, checkpoints=checkpoints, items_per_message=10
    )
    ((message_id, emitted),) = drain(tracked)
    assert ids(emitted) == ids([items[0], items[3]])
    # the rest crosses, encoded once when taken: the tuple carries exactly those items
    assert items_of(tuple_of_json(tracked.text(message_id), 0.0)[0]) == emitted
    reasons = [entry["reason"] for entry in letters.entries()]
    assert len(reasons) == 2 and all(r.startswith("cannot be emitted:") for r in reasons)
    assert "surrogate" in reasons[0] and "deeper" in reasons[1]
    tracked.ack(message_id)
    assert tracked.done and checkpoints.load() == {"list": {"next": 4}}


def test_checkpoints_never_pass_an_item_still_in_flight(tmp_path):
    checkpoints = Checkpoints(tmp_path / "checkpoint.json")
    tracked = TrackedSource(
        ListSource(stream(10)), checkpoints=checkpoints, checkpoint_every=2, max_pending=10
    )
    drain(tracked)
    for message_id in (2, 3, 4, 5, 6):
        tracked.ack(message_id)
    assert checkpoints.load() == {}  # message 1 is still in flight
    tracked.ack(1)
    assert checkpoints.load() == {"list": {"next": 6}}  # the newest mark fully acked
    for message_id in (7, 8, 9, 10):
        tracked.ack(message_id)
    drain(tracked)  # notices the end of input
    assert tracked.done and checkpoints.load() == {"list": {"next": 10}}
    resumed = TrackedSource(ListSource(stream(10), checkpoints.load()["list"]))
    assert drain(resumed) == []


def test_a_message_carries_the_items_ready_at_once_and_pending_counts_items(tmp_path):
    letters = DeadLetters(tmp_path / "dead.jsonl")
    tracked = TrackedSource(
        ListSource(stream(10)), items_per_message=4, max_pending=6, max_fails=0,
        dead_letters=letters,
    )  # fmt: skip
    first = drain(tracked)
    assert [(message_id, len(items)) for message_id, items in first] == [(1, 4), (2, 2)]
    tracked.ack(1)
    assert [(message_id, len(items)) for message_id, items in drain(tracked)] == [(3, 4)]
    tracked.fail(2)  # max_fails=0: both of its items are dead-lettered, one entry each
    assert [entry["item"] for entry in letters.entries()] == first[1][1]
    assert tracked.pending_items == 4 and tracked.dead_lettered == 2


def test_a_batch_message_is_acked_when_its_last_item_is_durable(tmp_path):
    sink = AckingSink(lambda: LakeSink(LocalStore(tmp_path), batch_items=3, batch_age_s=3600))
    assert sink.write("a", stream(2)) == ([], [])
    assert sink.write("b", stream(4)[2:]) == (["a"], [])  # items 1-3 stored, item 4 not
    sink.sink.flush()
    assert sink.tick() == (["b"], [])
    assert sink.write("empty", []) == (["empty"], [])


def test_a_slow_source_is_checkpointed_by_time_too(tmp_path):
    """A live source may emit a few items a minute: marks come every interval as well."""
    now = [0.0]
    checkpoints = Checkpoints(tmp_path / "checkpoint.json")
    tracked = TrackedSource(
        ListSource(stream(10)),
        checkpoints=checkpoints,
        checkpoint_every=1000,
        checkpoint_interval_s=5.0,
        clock=lambda: now[0],
    )
    first, _ = tracked.next()
    now[0] = 6.0
    second, _ = tracked.next()
    tracked.ack(first)
    tracked.ack(second)
    assert checkpoints.load() == {"list": {"next": 2}}


def test_acking_sink_acks_only_durable_items(tmp_path):
    sink = AckingSink(lambda: LakeSink(LocalStore(tmp_path), batch_items=3, batch_age_s=3600))
    answers = [sink.write(f"t{i}", [item]) for i, item in enumerate(stream(4))]
    assert answers == [([], []), ([], []), (["t0", "t1", "t2"], []), ([], [])]
    sink.sink.flush()
    assert sink.tick() == (["t3"], [])


def test_a_batch_that_aged_out_is_stored_by_the_next_write_without_waiting_for_a_tick(tmp_path):
    sink = AckingSink(lambda: LakeSink(LocalStore(tmp_path), batch_items=100, batch_age_s=0))
    assert sink.write("a", stream(1)) == (["a"], [])


def test_a_tick_stores_what_waits_whatever_its_age(tmp_path):
    """When items stop coming, the last ones wait for a tick tuple (once a second), not
    for the tick after their batch aged out: the tick stores them at once."""
    sink = AckingSink(lambda: LakeSink(LocalStore(tmp_path), batch_items=100, batch_age_s=3600))
    assert sink.write("a", stream(2)) == ([], [])
    assert sink.tick() == (["a"], [])
    assert len(lake_arrays(tmp_path)) == 2


def test_a_warehouse_batch_is_sent_at_a_tick_whatever_its_age(pg_dsn):
    from shoot2top.sinks.postgres import PostgresSink
    from shoot2top.warehouse.loader import WarehouseLoader

    sink = PostgresSink(WarehouseLoader(pg_dsn), batch_items=100, batch_age_s=3600)
    gate, commit = threading.Event(), sink._commit
    sink._commit = lambda prepared: (gate.wait(10), commit(prepared))[1]  # held
    sink.write_batch(stream(3))
    sink.tick()  # an ordinary tick: too young to send
    assert sink._batch and sink._in_flight is None
    sink.tick(age_s=0.0)
    assert not sink._batch and sink._in_flight is not None
    sink.write_batch(stream(5)[3:])
    started = time.monotonic()
    sink.tick(age_s=0.0)  # a commit in flight: not sent early, and no wait for it
    assert sink._batch and time.monotonic() - started < 1
    gate.set()
    sink.close()
    assert sink.loaded == 5


class BrokenStore(LocalStore):
    def create(self, folder, name, data):
        raise LakeError("disk full")


def test_a_failed_write_fails_everything_not_yet_durable_and_starts_afresh(tmp_path):
    made = []

    def make():
        made.append(LakeSink(BrokenStore(tmp_path), batch_items=3, batch_age_s=3600))
        return made[-1]

    sink = AckingSink(make)
    sink.write("a", stream(1))
    sink.write("b", stream(2)[1:])
    assert sink.write("c", stream(3)[2:]) == ([], ["a", "b", "c"])
    assert len(made) == 2 and sink.sink is made[1] and made[1].pending == 0


class FailsSecondTime(LocalStore):
    created = 0

    def create(self, folder, name, data):
        FailsSecondTime.created += 1
        if FailsSecondTime.created > 1:
            raise LakeError("disk full")
        return super().create(folder, name, data)


def test_a_write_failing_midway_through_a_message_acks_what_an_earlier_item_stored(tmp_path):
    """Message b's second item completes a batch (a's item and b's first two are stored);
    a later item of b fails: a is durable and acked, only b is failed back."""
    sink = AckingSink(lambda: LakeSink(FailsSecondTime(tmp_path), batch_items=3))
    assert sink.write("a", stream(1)) == ([], [])
    assert sink.write("b", stream(6)[1:]) == (["a"], ["b"])


def test_emit_to_durable_latencies_are_logged(tmp_path):
    now = [100.0]
    log = tmp_path / "latency.txt"
    sink = AckingSink(
        lambda: LakeSink(LocalStore(tmp_path / "lake"), batch_items=2, batch_age_s=3600),
        latency_log=log,
        clock=lambda: now[0],
    )
    sink.write("a", stream(1), emitted_at=99.5)
    now[0] = 100.25
    assert sink.write("b", stream(2)[1:], emitted_at=100.0) == (["a", "b"], [])
    assert log.read_text().split() == ["750.0", "250.0"]


def test_latencies_run_to_when_the_sink_made_items_durable_not_when_it_was_asked(tmp_path):
    # A warehouse commit that finished in the background is seen at the next write or
    # tick (a Storm tick tuple: up to a second later); the latency ends at the commit.
    log = tmp_path / "latency.txt"
    lake = LakeSink(LocalStore(tmp_path / "lake"), batch_items=1, batch_age_s=3600)
    sink = AckingSink(lambda: lake, latency_log=log, clock=lambda: 101.0)
    lake.durable_at = 100.5
    assert sink.write("a", stream(1), emitted_at=100.0) == (["a"], [])
    assert log.read_text().split() == ["500.0"]


def test_a_message_is_encoded_once_and_a_retry_sends_the_same_text():
    tracked = TrackedSource(ListSource(stream(5)), items_per_message=5, max_fails=3)
    ((message_id, items),) = drain(tracked)
    text = tracked.text(message_id)
    assert codec.loads(text) == items
    tracked.fail(message_id)
    tracked.clock = lambda: float("inf")  # the retry's backoff is over
    ((again, _),) = drain(tracked)
    assert again == message_id and tracked.text(again) is text


def test_a_lake_replay_crosses_as_its_stored_text_and_dead_letters_decoded(tmp_path):
    """`as_text`: a lake source hands out its items as stored (nothing decoded and encoded
    again in the spout); the tuple carries that text byte for byte, and a message that
    keeps failing is dead-lettered with its items decoded."""
    from factories import T0
    from shoot2top.lake.layout import WriterFolder
    from shoot2top.sources.lake import LakeSource

    items = stream(3)
    stored = [codec.dumps(item).replace(b'":', b'": ') for item in items]  # not ours
    LocalStore(tmp_path / "lake").create(
        WriterFolder.new(T0).name, "0000000", b"[" + b",".join(stored) + b"]"
    )
    letters = DeadLetters(tmp_path / "dead.jsonl")
    source = LakeSource(LocalStore(tmp_path / "lake"), name="lake")
    tracked = TrackedSource(
        source, dead_letters=letters, items_per_message=10, max_fails=0, as_text=True
    )
    ((message_id, emitted),) = drain(tracked)
    assert emitted == stored and tracked.text(message_id) == b"[" + b",".join(stored) + b"]"
    assert items_of(tuple_of_json(tracked.text(message_id), 0.0)[0]) == items
    tracked.fail(message_id)
    assert [entry["item"] for entry in letters.entries()] == items


def test_an_item_too_large_as_stored_text_is_judged_as_decoded(tmp_path):
    """The size limit is on compact JSON: stored with spaces above it but compact below,
    an item crosses compact; above it either way, it is dead-lettered alone."""
    from factories import T0
    from shoot2top.lake.layout import WriterFolder
    from shoot2top.limits import MAX_ITEM_BYTES
    from shoot2top.sources.lake import LakeSource

    items = stream(3)
    items[0]["tweet"]["data"]["text"] = "a" * (MAX_ITEM_BYTES - 1000)
    items[2]["post"]["message"] = "b" * (MAX_ITEM_BYTES + 1)
    spaced = codec.dumps(items[0]).replace(b'"a', b" " * 2000 + b'"a', 1)
    stored = [spaced, codec.dumps(items[1]), codec.dumps(items[2])]
    LocalStore(tmp_path / "lake").create(
        WriterFolder.new(T0).name, "0000000", b"[" + b",".join(stored) + b"]"
    )
    letters = DeadLetters(tmp_path / "dead.jsonl")
    source = LakeSource(LocalStore(tmp_path / "lake"), name="lake")
    tracked = TrackedSource(source, dead_letters=letters, items_per_message=10, as_text=True)
    ((message_id, _),) = drain(tracked)
    assert items_of(tuple_of_json(tracked.text(message_id), 0.0)[0]) == items[:2]
    (entry,) = letters.entries()
    assert entry["reason"].startswith("cannot be emitted: item is") and entry["item"] == items[2]
