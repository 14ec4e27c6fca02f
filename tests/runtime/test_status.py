"""A pipeline's status file: items and items/s per source and sink, lag, dead letters."""

from __future__ import annotations

from shoot2top import codec
from shoot2top.lake.store import LocalStore
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.pipeline import Pipeline
from shoot2top.runtime.state import Checkpoints
from shoot2top.runtime.status import StatusFile, read_statuses
from shoot2top.sinks.lake import LakeSink
from shoot2top.sources.lake import LakeSource


def test_a_run_reports_what_each_source_and_sink_did(tmp_path, sample_lake):
    home = tmp_path / "state" / "copy"
    source = LakeSource(LocalStore(sample_lake), name="sample")
    sink = LakeSink(LocalStore(tmp_path / "out"), name="archive")
    status = StatusFile(home, "copy", 0.01)
    pipeline = Pipeline([source], [sink], checkpoints=Checkpoints(home / "checkpoint.json"),
                        checkpoint_interval_s=0.01, dead_letters=DeadLetters(None),
                        status=status)  # fmt: skip
    summary = pipeline.run()
    (written,) = read_statuses(tmp_path / "state")
    assert written == codec.loads((home / "status.json").read_bytes())
    assert written["pipeline"] == "copy" and written["running"] is False
    assert written["stopped_by"] == "end of input"
    assert written["sources"]["sample"]["items"] == summary.items == 900
    assert written["sources"]["sample"]["bytes_read"] == written["sources"]["sample"]["bytes_total"]
    assert written["sources"]["sample"]["newest_observed_at"].startswith("2026-11-22")
    assert written["sources"]["sample"]["lag_s"] > 0
    assert written["sinks"]["archive"] == {"stored": 900, "items_per_s": 0.0, "pending": 0}
    assert written["dead_letters"] == 0
