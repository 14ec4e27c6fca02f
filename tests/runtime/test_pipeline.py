"""The in-process runner on its batched path: every item once, in the merged order,
checkpoints exactly at batch boundaries, dead letters item by item."""

from __future__ import annotations

from collections import Counter

import pytest

from factories import T0, deliveries, ids, lake_arrays, observations, stream
from shoot2top import codec
from shoot2top.lake.store import LocalStore
from shoot2top.runtime import pipeline as runner
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.pipeline import Pipeline, PipelineError
from shoot2top.runtime.state import Checkpoints
from shoot2top.sinks.lake import LakeSink
from shoot2top.sources.base import Source
from shoot2top.sources.lake import LakeSource


def replayed(lake):
    """The sample lake item by item, as the replay merges it."""
    return [item for item in LakeSource(LocalStore(lake)) if item is not None]


def copy(lake, out, home, *, sink=None, resume=True, **options):
    checkpoints = Checkpoints(home / "checkpoint.json")
    source = LakeSource(LocalStore(lake), name="in", resume=checkpoints.load().get("in"))
    sink = sink or LakeSink(LocalStore(out), name="out", batch_age_s=3600)
    return Pipeline([source], [sink], checkpoints=checkpoints, **options)


def test_a_replay_moves_every_item_once_in_the_merged_order(tmp_path, sample_lake):
    summary = copy(sample_lake, tmp_path / "out", tmp_path).run()
    expected = replayed(sample_lake)
    assert ids(lake_arrays(tmp_path / "out")) == ids(expected)
    assert summary.items == len(expected) == sum(summary.per_type.values()) == 900
    assert summary.per_type == Counter(ident.split(":")[0] for ident in ids(expected))


class CrashingSink(LakeSink):
    """Dies on its `crash_at`-th batch, before storing any of it (a killed process)."""

    def __init__(self, store, crash_at):
        super().__init__(store, name="out", batch_items=1000, batch_age_s=3600)
        self.batches, self.crash_at = 0, crash_at

    def write_batch(self, items):
        self.batches += 1
        if self.batches == self.crash_at:
            raise OSError("killed")
        return super().write_batch(items)


def test_a_killed_run_resumes_exactly_after_the_last_durable_batch(
    tmp_path, sample_lake, monkeypatch
):
    monkeypatch.setattr(runner, "TICK_EVERY_S", 0.0)  # a checkpoint after every batch
    monkeypatch.setattr(runner, "BATCH_ITEMS", 100)
    out = tmp_path / "out"
    crashing = CrashingSink(LocalStore(out), crash_at=4)
    with pytest.raises(PipelineError, match="sink 'out' failed: killed"):
        copy(sample_lake, out, tmp_path, sink=crashing, checkpoint_interval_s=0).run()
    expected = replayed(sample_lake)
    assert ids(lake_arrays(out)) == ids(expected[:300])  # three batches, durable
    position = Checkpoints(tmp_path / "checkpoint.json").load()["in"]
    assert ids(replayed_from(sample_lake, position)) == ids(expected[300:])
    copy(sample_lake, out, tmp_path).run()
    assert deliveries(out) == observations(expected)  # every item exactly once


def replayed_from(lake, position):
    return [item for item in LakeSource(LocalStore(lake), resume=position) if item is not None]


def test_a_limit_inside_a_batch_stops_there_and_a_resume_goes_on(tmp_path, sample_lake):
    out = tmp_path / "out"
    first = copy(sample_lake, out, tmp_path).run(limit=150)
    assert (first.items, first.stopped_by) == (150, "limit")
    expected = replayed(sample_lake)
    assert ids(lake_arrays(out)) == ids(expected[:150])
    rest = copy(sample_lake, out / "rest", tmp_path).run()
    assert rest.items == 750
    assert ids(lake_arrays(out / "rest")) == ids(expected[150:])


class Recorder:
    """An analytics stage that keeps what it is fed."""

    name = "recorder"
    checkpoint_key = "analytics:recorder"

    def __init__(self) -> None:
        self.items: list = []
        self.finished = self.closed = False

    def write(self, item):
        self.items.append(item)

    def snapshot(self):
        return {"seen": len(self.items)}

    def finish(self):
        self.finished = True

    def close(self):
        self.closed = True

    def report(self):
        return f"{len(self.items)} items"


def test_an_analytics_stage_is_fed_every_item_in_order_and_checkpointed(tmp_path, sample_lake):
    stage = Recorder()
    summary = copy(sample_lake, tmp_path / "out", tmp_path, analytics=[stage]).run()
    assert ids(stage.items) == ids(replayed(sample_lake)) and stage.finished and stage.closed
    saved = Checkpoints(tmp_path / "checkpoint.json").load()
    assert saved["analytics:recorder"] == {"seen": 900}
    assert summary.sink_reports["analytics recorder"] == "900 items"


class Batches(Source):
    """A source that holds its items in given batches (like a lake file)."""

    def __init__(self, batches):
        super().__init__("batches")
        self.batches, self.handed_out = batches, 0

    def __iter__(self):
        raise AssertionError("the runner takes batches")

    def next_batch(self, max_items):
        if self.handed_out == len(self.batches):
            return None
        self.handed_out += 1
        return self.batches[self.handed_out - 1]

    def snapshot(self):
        return {"batches": self.handed_out}


def test_an_item_a_sink_cannot_encode_is_dead_lettered_alone_from_its_batch(tmp_path):
    items = stream(5)
    items[2]["post"]["message"] = "\ud800 half a character"
    letters = DeadLetters(tmp_path / "dead.jsonl")
    sink = LakeSink(LocalStore(tmp_path / "out"), name="out", dead_letters=letters)
    summary = Pipeline([Batches([items[:3], items[3:]])], [sink], dead_letters=letters).run()
    assert ids(lake_arrays(tmp_path / "out")) == ids(items[:2] + items[3:])
    (entry,) = letters.entries()
    assert entry["where"] == "sink 'out' item post 'id2' observed 2026-11-20T10:02:00Z"
    assert "surrogate" in entry["reason"] and summary.items == 5
    assert sink.durable_ticket == 5  # the dead-lettered item counts as handled


class Watched(LakeSink):
    """Records whether the runner closed or abandoned it; fails its writes if asked."""

    def __init__(self, store, fails=False):
        super().__init__(store, name="fails" if fails else "out", batch_age_s=3600)
        self.fails, self.calls = fails, []

    def write_batch(self, items):
        if self.fails:
            raise OSError("disk full")
        return super().write_batch(items)

    def close(self):
        self.calls.append("close")
        super().close()

    def abandon(self):
        self.calls.append("abandon")
        super().abandon()


def test_after_a_sink_failure_every_sink_is_abandoned_not_closed(tmp_path):
    """A close would store the open batch (replayed anyway: the checkpoint stays before
    it) or wait again for the store that just failed."""
    works, fails = Watched(LocalStore(tmp_path / "out")), Watched(LocalStore(tmp_path), True)
    with pytest.raises(PipelineError, match="sink 'fails' failed: disk full"):
        Pipeline([Batches([stream(5)])], [works, fails]).run()
    assert works.calls == fails.calls == ["abandon"]
    assert not (tmp_path / "out").exists()  # the open batch was dropped, not stored


def test_threads_get_the_gil_back_promptly_while_the_runner_pumps(tmp_path):
    """A lake sink's writer thread waits for the GIL after each blocking call: the
    runner shortens Python's switch interval while it pumps, and restores it after."""
    import sys

    seen = []

    class Watching(Batches):
        def next_batch(self, max_items):
            seen.append(sys.getswitchinterval())
            return super().next_batch(max_items)

    before = sys.getswitchinterval()
    sink = LakeSink(LocalStore(tmp_path), name="out", background=True)
    Pipeline([Watching([stream(3)])], [sink]).run()
    assert seen and max(seen) <= runner.SWITCH_INTERVAL_S < before == sys.getswitchinterval()


class DecodingLakeSink(LakeSink):
    """A lake sink that takes decoded items only, as the warehouse sink does."""

    takes_encoded = False

    def write_batch(self, items):
        assert all(isinstance(item, dict) for item in items)
        return super().write_batch(items)


def hand_made_lake(root):
    """Items stored with spaces and escapes no encoder of ours writes, a non-conforming
    item, an item with a lone surrogate, and a file cut short."""
    from shoot2top.lake.layout import WriterFolder

    store, folder = LocalStore(root), WriterFolder.new(T0).name
    items = [codec.encode_item(item) for item in stream(6)]
    spaced = items[1].replace(b'":', b'" : ').replace(b"id1", b"\\u0069d1")
    store.create(folder, "0000000", b"[ " + items[0] + b" ,\n" + spaced + b"]")
    store.create(folder, "0000001", b'[{"reel": {"id": 1}}, ' + items[2] + b"]")
    store.create(folder, "0000002", b'[{"tweet": {"text": "\\ud800"}},' + items[3] + b"]")
    store.create(folder, "0000003", b"[" + items[4] + b"," + items[5][:30])
    return spaced


def test_a_lake_to_lake_run_moves_items_as_stored_and_rejects_what_decoding_rejects(tmp_path):
    """Every sink a lake sink, no stage: the items are never decoded, so each lands
    byte for byte as stored; the items, positions and dead letters are those of a run
    that decodes them."""
    spaced = hand_made_lake(tmp_path / "lake")
    runs = {}
    for name, sink_class in (("stored", LakeSink), ("decoded", DecodingLakeSink)):
        letters = DeadLetters(tmp_path / f"{name}.jsonl")
        sink = sink_class(LocalStore(tmp_path / name), name="out", dead_letters=letters)
        source = LakeSource(LocalStore(tmp_path / "lake"), name="in", dead_letters=letters)
        checkpoints = Checkpoints(tmp_path / f"{name}-checkpoint.json")
        Pipeline([source], [sink], checkpoints=checkpoints, dead_letters=letters).run()
        entries = [(e["where"], e["reason"], e.get("item")) for e in letters.entries()]
        runs[name] = (lake_arrays(tmp_path / name), entries, checkpoints.load())
    assert runs["stored"] == runs["decoded"]
    assert ids(runs["stored"][0]) == ids(stream(6)[:5])
    assert len(runs["stored"][1]) == 3  # the reel, the surrogate, the cut file
    (stored_file,) = (tmp_path / "stored").glob("*/0000000")
    assert spaced in stored_file.read_bytes()  # as stored, not encoded again


def test_an_item_above_the_size_limit_is_dead_lettered_alone_when_moved_as_text(tmp_path):
    from shoot2top.limits import MAX_ITEM_BYTES

    items = stream(3)
    items[2]["post"]["message"] = "x" * MAX_ITEM_BYTES
    letters = DeadLetters(tmp_path / "dead.jsonl")
    sink = LakeSink(LocalStore(tmp_path / "out"), name="out", dead_letters=letters)
    assert sink.write_encoded([codec.dumps(item) for item in items]) == 3
    sink.close()
    assert ids(lake_arrays(tmp_path / "out")) == ids(items[:2])
    (entry,) = letters.entries()
    assert entry["where"] == "sink 'out' item post 'id2' observed 2026-11-20T10:02:00Z"
    assert "more than the 4 MiB limit" in entry["reason"] and sink.durable_ticket == 3
