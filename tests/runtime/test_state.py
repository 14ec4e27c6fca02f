"""The pipeline's state directory: one run at a time, checkpoints replaced atomically and
leaving no temp files, dead letters that survive a torn write, names that stay inside."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from shoot2top.config import ConfigError, parse_config
from shoot2top.runtime.deadletter import DeadLetterError, DeadLetters
from shoot2top.runtime.state import Checkpoints, StateError, StateLock, pipeline_dir


def test_a_second_holder_of_the_lock_is_refused_naming_the_first(tmp_path):
    first = StateLock(tmp_path / "p")
    first.acquire()
    holder = subprocess.run(
        [sys.executable, "-c",
         "import sys; from shoot2top.runtime.state import StateLock\n"
         f"StateLock({str(tmp_path / 'p')!r}).acquire()"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert holder.returncode == 1
    assert f"in use by process {os.getpid()}" in holder.stderr
    first.release()
    again = StateLock(tmp_path / "p")
    again.acquire()  # released: free again
    again.release()


def test_the_lock_dies_with_its_process(tmp_path):
    """SIGKILL leaves the lock file behind but not the lock: the next run goes ahead."""
    script = (
        "import os, signal; from shoot2top.runtime.state import StateLock\n"
        f"StateLock({str(tmp_path)!r}).acquire(); os.kill(os.getpid(), signal.SIGKILL)"
    )
    subprocess.run([sys.executable, "-c", script], timeout=60)
    lock = StateLock(tmp_path)
    lock.acquire()
    lock.release()


class ShortWrites:
    """Makes `os.write` write only the first `partial` bytes, as a disk that fills up
    mid-write does (the real full disk is in test_drills.py)."""

    def __init__(self, monkeypatch, partial: int) -> None:
        self.real_write = os.write
        self.partial = partial
        monkeypatch.setattr(os, "write", self.write)

    def write(self, fd, data):
        return self.real_write(fd, bytes(data)[: self.partial])


def test_a_torn_dead_letter_is_rolled_back_and_the_error_names_the_file(tmp_path, monkeypatch):
    letters = DeadLetters(tmp_path / "deadletter.jsonl")
    letters.record("in", "f1", "first")
    with monkeypatch.context() as patch:
        ShortWrites(patch, 7)
        with pytest.raises(DeadLetterError, match=r"deadletter.jsonl: cannot append a record from"):
            letters.record("in", "f2", "second")
    letters.record("in", "f3", "third")
    assert [e["where"] for e in DeadLetters(letters.path).entries()] == ["f1", "f3"]


def test_a_torn_line_left_by_a_crash_is_skipped_and_never_glued_onto(tmp_path):
    path = tmp_path / "deadletter.jsonl"
    DeadLetters(path).record("in", "f1", "first")
    with open(path, "ab") as handle:
        handle.write(b'{"at": "2026-11-20T10:00:00Z", "compo')  # the crash
    letters = DeadLetters(path)
    letters.record("in", "f2", "second")
    assert [e["where"] for e in letters.entries()] == ["f1", "f2"] and letters.torn == 1


def test_a_failed_checkpoint_save_leaves_no_temp_file_and_names_the_file(tmp_path, monkeypatch):
    checkpoints = Checkpoints(tmp_path / "checkpoint.json")
    checkpoints.save({"in": {"positions": {}}})
    before = checkpoints.path.read_bytes()

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StateError, match=r"cannot save checkpoint .*checkpoint.json: No space"):
        checkpoints.save({"in": {"positions": {"w": [1, 0]}}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json"]
    assert checkpoints.path.read_bytes() == before


def test_stale_temp_files_of_killed_runs_are_removed(tmp_path):
    (tmp_path / ".checkpoint.json.1234.tmp").write_bytes(b"")
    (tmp_path / "keep.txt").write_bytes(b"x")
    Checkpoints(tmp_path / "checkpoint.json").remove_stale_temp_files()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", ""])
def test_pipeline_names_that_would_leave_the_state_dir_are_refused(name):
    raw = {
        "name": name,
        "sources": [{"type": "lake", "uri": "/x"}],
        "sinks": [{"type": "lake", "uri": "/y"}],
    }
    with pytest.raises(ConfigError, match="name"):
        parse_config(raw, "p.json")
    with pytest.raises(StateError, match="pipeline name"):
        pipeline_dir("/state", name)


def test_a_good_name_stays_inside(tmp_path):
    assert pipeline_dir(tmp_path, "replay-2026.v1") == tmp_path / "replay-2026.v1"
