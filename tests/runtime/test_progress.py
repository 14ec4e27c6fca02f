"""Progress of finite work: a percentage and an ETA; of open-ended work: counts and rates."""

from __future__ import annotations

import time

from shoot2top.lake.store import LocalStore
from shoot2top.runtime.progress import ProgressReporter, eta
from shoot2top.sources.lake import LakeSource


def test_finite_work_shows_a_percentage_and_an_eta():
    progress = ProgressReporter("replay", enabled=False)
    progress.started = time.monotonic() - 10  # 10 s in, a quarter done: 30 s to go
    text = progress.status(1000, 25 * 1024 * 1024, 100 * 1024 * 1024)
    assert "25.0 MB of 100.0 MB read (25 %)" in text and "ETA 0:00:30" in text
    assert "%" not in progress.status(1000, 1024)  # a live source: no total, no percentage


def test_eta_before_any_progress_is_unknown():
    assert eta(0, 100, 5.0) == "?" and eta(50, 100, 10.0) == "0:00:10"


def test_a_lake_replay_knows_how_many_bytes_it_will_read(sample_lake):
    files = sorted(path for path in sample_lake.rglob("[0-9]*") if path.is_file())
    source = LakeSource(LocalStore(sample_lake))
    assert source.bytes_total is None  # not listed yet
    stream = iter(source)
    next(stream)
    assert source.bytes_total == sum(path.stat().st_size for path in files)
    for _ in stream:
        pass
    assert source.bytes_read == source.bytes_total
    # resumed after the first file of every writer: those are not read again
    resumed = LakeSource(LocalStore(sample_lake), resume={
        "positions": {folder: [1, 0] for folder in source.positions}
    })  # fmt: skip
    next(iter(resumed))
    first_files = [path for path in files if path.name == "0000000"]
    assert resumed.bytes_total == source.bytes_total - sum(p.stat().st_size for p in first_files)
