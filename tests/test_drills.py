"""The drills a user would run, end to end through ``shoot2top``: a real SeaweedFS killed,
stalled and restarted mid-replay, poison files, a gzip bomb with a memory bound, two runs
on one state, a full disk on a small tmpfs. docs/failure-modes.md describes each fault."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import pytest

from drills import deep_item, gzip_bomb, nested
from factories import T0, ids, stream
from s3server import S3Server
from shoot2top import codec
from shoot2top.lake.layout import WriterFolder
from shoot2top.lake.store import LocalStore, S3Settings, open_store
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.state import Checkpoints
from shoot2top.sources.lake import LakeSource

CLI = [sys.executable, "-m", "shoot2top.cli"]
S3_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
WRITER = WriterFolder.new(T0).name


class Run:
    """``shoot2top …`` in a child process whose stderr is watched line by line, so a
    test can wait for what the program says (a condition, not a sleep)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **S3_ENV, **(env or {})},
        )  # fmt: skip
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """The first stderr line containing `text`; fails if the run ends without one."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: (
                    next((line for line in self.lines if text in line), None)
                    or self.process.poll() is not None
                ),
                timeout,
            )
            line = next((line for line in self.lines if text in line), None)
        assert line, f"{text!r} never came (exit {self.process.poll()}):\n{self.stderr}"
        assert found
        return line

    def finish(self, timeout: float = 180) -> int:
        self.process.wait(timeout)
        self._reader.join(10)
        return self.process.returncode

    @property
    def stderr(self) -> str:
        return "".join(self.lines)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, **S3_ENV, **(env or {})},
    )  # fmt: skip


def config_file(tmp_path: Path, source: dict, sinks: list[dict], name: str = "drill") -> Path:
    config = {
        "name": name,
        "state_dir": str(tmp_path / "state"),
        "checkpoint_interval_s": 0.2,
        "sources": [{"type": "lake", "name": "in", **source}],
        "sinks": sinks,
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config))
    return path


def keys(items) -> Counter[tuple[str, str]]:
    return Counter(zip(ids(items), (item["_observed_at"] for item in items), strict=True))


def lake_items(uri: str, endpoint: str | None = None) -> list[dict]:
    settings = S3Settings(endpoint_url=endpoint, access_key_id="test", secret_access_key="test")
    return [i for i in LakeSource(open_store(uri, settings)) if i is not None]


# -- S3 down mid-replay --------------------------------------------------------------------


def paced_lake(store, items: int = 1200, per_file: int = 40) -> list[dict]:
    """Items one second apart in observed time, `per_file` to a file."""
    everything = stream(items, step_minutes=1 / 60)
    for number, start in enumerate(range(0, items, per_file)):
        store.create(WRITER, f"{number:07d}", codec.dumps(everything[start : start + per_file]))
    return everything


def s3_store(server: S3Server):
    settings = S3Settings(
        endpoint_url=server.endpoint, access_key_id="test", secret_access_key="test"
    )
    return open_store("s3://lake/social", settings)


def s3_source(server: S3Server, **options) -> dict:
    return {"uri": "s3://lake/social", "s3": {"endpoint_url": server.endpoint}, **options}


def replaying(tmp_path: Path, server: S3Server, *, pace: float, items: int):
    """A paced replay of an S3 lake into a local one, running and past its first
    checkpoint: the moment to break the server. (all items, output lake, the run)"""
    everything = paced_lake(s3_store(server), items=items)
    out = tmp_path / "out"
    config = config_file(
        tmp_path, s3_source(server, pace=pace), [{"type": "lake", "name": "out", "uri": str(out)}]
    )
    checkpoints = Checkpoints(tmp_path / "state" / "drill" / "checkpoint.json")
    ingest = Run("ingest", "--config", str(config), "--quiet")
    _wait_until(lambda: checkpoints.path.exists() and ingest.process.poll() is None)
    return everything, out, ingest


@pytest.mark.slow
def test_s3_killed_mid_replay_and_restarted_loses_nothing(tmp_path, private_s3):
    weed = private_s3
    everything, out, ingest = replaying(tmp_path, weed, pace=300, items=1200)
    weed.kill()  # SIGKILL, mid-replay
    line = ingest.wait_for("retrying in")
    assert line.startswith("WARNING shoot2top.runtime.retry: source 'in': S3 ")
    weed.start()
    assert ingest.finish() == 0, ingest.stderr
    assert keys(lake_items(str(out))) == keys(everything)  # all of it, once
    assert not (tmp_path / "state" / "drill" / "deadletter.jsonl").exists()


@pytest.mark.slow
def test_s3_down_for_good_stops_before_the_unread_file_and_a_rerun_loses_nothing(
    tmp_path, private_s3
):
    weed = private_s3
    everything = paced_lake(s3_store(weed))
    out = tmp_path / "out"
    config = config_file(
        tmp_path,
        s3_source(weed, pace=300, max_retry_s=2),
        [{"type": "lake", "name": "out", "uri": str(out)}],
    )
    checkpoints = Checkpoints(tmp_path / "state" / "drill" / "checkpoint.json")
    ingest = Run("ingest", "--config", str(config), "--quiet")
    _wait_until(lambda: checkpoints.path.exists() and ingest.process.poll() is None)
    weed.kill()
    assert ingest.finish() == 1
    assert "drill: source 'in' failed: S3 get s3://lake/social/" in ingest.stderr
    assert re.search(r"gave up after \d+ s of retries \(max_retry_s 2\)", ingest.stderr)
    assert "dead-letter" not in ingest.stderr
    (position,) = checkpoints.load()["in"]["positions"].values()
    delivered = lake_items(str(out))
    assert len(delivered) >= position[0] * 40 + position[1]  # nothing checkpointed unsent
    weed.start()
    fast = json.loads(config.read_text())
    fast["sources"][0]["pace"] = 0
    config.write_text(json.dumps(fast))
    assert run("ingest", "--config", str(config), "--quiet").returncode == 0
    assert set(keys(lake_items(str(out)))) == set(keys(everything))
    assert not (tmp_path / "state" / "drill" / "deadletter.jsonl").exists()


@pytest.mark.slow
def test_an_s3_stall_is_logged_and_waited_out(tmp_path, private_s3):
    weed = private_s3
    everything, out, ingest = replaying(tmp_path, weed, pace=100, items=400)
    assert weed.process is not None
    os.killpg(weed.process.pid, signal.SIGSTOP)  # the server hangs: no answer, no error
    try:
        line = ingest.wait_for("stalled?", timeout=60)
    finally:
        os.killpg(weed.process.pid, signal.SIGCONT)
    assert "source 'in': S3 " in line and "still waiting after 10 s" in line
    assert ingest.finish() == 0, ingest.stderr
    assert keys(lake_items(str(out))) == keys(everything)


def _wait_until(condition, timeout: float = 60) -> None:
    """Poll `condition` (a file appearing, a process state) until it holds."""
    event = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        event.wait(0.05)
    raise AssertionError("condition never held")


# -- poison pills ------------------------------------------------------------------------


def poison_lake(root: Path) -> tuple[list[dict], list[str]]:
    """A local lake with a poison in almost every file; the good items and the reasons
    the dead letters must give, in file order."""
    store = LocalStore(root)
    good = stream(14)
    surrogate = b'{"tweet": {"data": {"id": "s", "text": "\\ud800"}}}'
    invalid = codec.dumps(good[5])[:-2] + b'\xff"}'
    files: list[tuple[bytes, list[str]]] = [
        (codec.dumps(good[0:2]), []),
        (nested(100_000), ["nested deeper than 254 levels"]),
        (
            b"["
            + codec.dumps(good[2])
            + b","
            + nested(100_000)
            + b","
            + codec.dumps(good[3])
            + b"]",
            ["nested deeper than 254 levels"],
        ),
        (
            b"[" + codec.dumps(good[4]) + b"," + invalid + b"," + codec.dumps(good[6]) + b"]",
            ["invalid UTF-8: byte 0xff"],
        ),
        (b"[" + codec.dumps(good[7]) + b"," + surrogate + b"]", ["lone UTF-16 surrogate"]),
        (b"[" + codec.dumps(good[8]) + b',{"tweet": {"v": 1e400}}]', ["number out of range"]),
        (b"\x8f\x03\xa1\x00 garbage", ["binary data, not JSON text"]),
        (codec.dumps(good[9:11]) + b"\x00", ["stray bytes after the array"]),
        (codec.dumps(good[11:14])[:-30], ["truncated inside item 2"]),
    ]
    exact = copy.deepcopy(good[12])  # travels whole: an integer beyond 64 bits, kept exactly
    exact["_n"] = 10**30
    files.append((codec.encode_item(exact).join([b"[", b"]"]), []))
    reasons = []
    for number, (data, expected) in enumerate(files):
        store.create(WRITER, f"{number:07d}", data)
        reasons += expected
    deep = codec.dumps([good[1]])  # a file whose item is too deep to *encode* (not decode)
    deep = deep[:-1] + b"," + json.dumps(deep_item(300)).encode() + b"]"
    store.create(WRITER, f"{len(files):07d}", deep)
    kept = [item for index, item in enumerate(good) if index not in (5, 13)]
    return [*kept, good[1], exact], reasons


@pytest.mark.slow
def test_poison_files_are_dead_lettered_alone_on_every_run(tmp_path, pg_dsn):
    good, reasons = poison_lake(tmp_path / "lake")
    for attempt in range(2):
        out = tmp_path / f"out{attempt}"
        config = config_file(
            tmp_path,
            {"uri": str(tmp_path / "lake")},
            [{"type": "lake", "name": "archive", "uri": str(out)},
             {"type": "postgres", "name": "warehouse", "dsn": "${DRILL_DSN}"}],
            name=f"poison{attempt}",
        )  # fmt: skip
        result = run("ingest", "--config", str(config), "--quiet", env={"DRILL_DSN": pg_dsn})
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        delivered = lake_items(str(out))
        assert keys(delivered) == keys(good)  # all but the poisons
        assert b"1000000000000000000000000000000" in b"".join(
            path.read_bytes() for path in out.glob("*/*")
        )
        letters = DeadLetters(tmp_path / "state" / f"poison{attempt}" / "deadletter.jsonl")
        entries = letters.entries()
        source = [e["reason"] for e in entries if e["component"] == "in"]
        assert len(source) == len(reasons)
        for reason, expected in zip(source, reasons, strict=True):
            assert expected in reason
        (refused,) = [e for e in entries if e["component"] == "archive"]
        assert "nested deeper than 254 levels" in refused["reason"]
        assert letters.torn == 0


@pytest.mark.slow
def test_lake_verify_reports_every_poison_without_a_traceback(tmp_path):
    _, reasons = poison_lake(tmp_path / "lake")
    result = run("lake", "verify", str(tmp_path / "lake"), "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    problems = json.loads(result.stdout)["problems"]
    details = " | ".join(problem["detail"] for problem in problems)
    for reason in reasons:
        assert reason in details


# -- memory ------------------------------------------------------------------------------


MEASURED = """
import atexit, runpy, sys
def report(path=sys.argv[1]):
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            open(path, "w").write(line.split()[1])
atexit.register(report)
sys.argv = ["shoot2top", *sys.argv[2:]]
runpy.run_module("shoot2top.cli", run_name="__main__")
"""


def peak_rss(args: list[str], env: dict[str, str] | None = None) -> tuple[int, int, str]:
    """Run ``shoot2top ARGS``; its exit code, peak RSS in bytes and output. The peak is
    the process's own high-water mark (VmHWM, which starts afresh at exec), read as it
    exits: the rusage of a child forked from this big test process would include ours."""
    with tempfile.NamedTemporaryFile() as peak:
        result = subprocess.run(
            [sys.executable, "-c", MEASURED, peak.name, *args],
            capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
        )  # fmt: skip
        return (
            result.returncode,
            int(Path(peak.name).read_text()) * 1024,
            (result.stdout + result.stderr),
        )


@pytest.mark.slow
def test_a_gzip_bomb_and_huge_items_cost_bounded_memory(tmp_path, pg_dsn):
    """The issue's 1 GiB-inflating bomb took 3.2 GB; a 50 MB item 910 MB. Now: a 10 MB bomb
    (10 GiB inflated) and a 50 MB file are refused, a 3.9 MB item loads, and the peak RSS
    of `ingest` and `lake verify` stays within a fixed bound over the bare interpreter."""
    store = LocalStore(tmp_path / "lake")
    good = stream(6)
    big = stream(1, start_minute=30)[0]
    big["tweet"]["data"]["text"] = "word " * (780 * 1024)  # 3.9 MiB
    store.create(WRITER, "0000000", codec.dumps(good[:3]))
    store.create(WRITER, "0000001", gzip_bomb())
    store.create(WRITER, "0000002", codec.dumps([big]))
    store.create(WRITER, "0000003", b"[" + b" " * (50 * 1024 * 1024) + b"]")
    store.create(WRITER, "0000004", codec.dumps(good[3:]))
    config = config_file(
        tmp_path,
        {"uri": str(tmp_path / "lake")},
        [{"type": "lake", "name": "archive", "uri": str(tmp_path / "out")},
         {"type": "postgres", "name": "warehouse", "dsn": "${DRILL_DSN}"}],
    )  # fmt: skip
    code, baseline, output = peak_rss(["--help"])  # the interpreter and the CLI's imports
    assert code == 0, output
    code, ingest_rss, output = peak_rss(
        ["ingest", "--config", str(config), "--quiet"], env={"DRILL_DSN": pg_dsn}
    )
    assert code == 0, output
    assert keys(lake_items(str(tmp_path / "out"))) == keys([*good[:3], big, *good[3:]])
    assert "decompression bomb" in output and "the file is 52,428,802 bytes" in output
    code, verify_rss, output = peak_rss(["lake", "verify", str(tmp_path / "lake")])
    assert code == 1 and "decompression bomb" in output
    print(f"peak RSS: baseline {baseline >> 20} MB, ingest {ingest_rss >> 20} MB, "
          f"verify {verify_rss >> 20} MB")  # fmt: skip
    assert ingest_rss - baseline < 200 * 1024 * 1024
    assert verify_rss - baseline < 150 * 1024 * 1024


# -- one run per state -------------------------------------------------------------------


@pytest.mark.slow
def test_a_second_ingest_on_the_same_state_exits_naming_the_first(tmp_path):
    everything = paced_lake(LocalStore(tmp_path / "lake"), items=600)
    out = tmp_path / "out"
    config = config_file(
        tmp_path, {"uri": str(tmp_path / "lake"), "pace": 60},
        [{"type": "lake", "name": "out", "uri": str(out)}],
    )  # fmt: skip
    lock = tmp_path / "state" / "drill" / "lock"
    first = Run("ingest", "--config", str(config), "--quiet")
    _wait_until(lambda: lock.exists() and lock.read_text().strip() == str(first.process.pid))
    second = run("ingest", "--config", str(config), "--quiet")
    assert second.returncode == 1
    assert f"is in use by process {first.process.pid}" in second.stderr
    first.process.send_signal(signal.SIGTERM)
    assert first.finish() == 0
    delivered = keys(lake_items(str(out)))
    assert max(delivered.values()) == 1 and set(delivered) <= set(keys(everything))


# -- a full disk ---------------------------------------------------------------------------


def can_mount_tmpfs() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d && rmdir $d"],
        capture_output=True, timeout=30,
    )  # fmt: skip
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(
    not can_mount_tmpfs(), reason="needs root and `unshare --mount` to mount a small tmpfs"
)


def in_small_tmpfs(mount: Path, size: str, script: str) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a private mount namespace where `mount` is a tmpfs of
    `size`: the full disk exists only for the script and vanishes with it."""
    mount.mkdir(parents=True, exist_ok=True)
    wrapped = f"mount -t tmpfs -o size={size} tmpfs {mount} && {script}"
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "bash", "-c", wrapped],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CLI": " ".join(CLI)},
    )  # fmt: skip


@pytest.mark.slow
@needs_tmpfs
def test_a_full_disk_under_the_state_dir(tmp_path):
    """Dead letters fill the disk: the run stops naming the file and the component, the
    report stays readable, no temp file is left; with room again, the rerun completes."""
    store = LocalStore(tmp_path / "lake")
    bad = [{"reel": {"id": f"r{n}", "pad": "x" * 400}} for n in range(300)]
    good = stream(30)
    for number in range(10):
        store.create(
            WRITER, f"{number:07d}", codec.dumps([*good[number * 3 : number * 3 + 3],
                                                  *bad[number * 30 : number * 30 + 30]])
        )  # fmt: skip
    state = tmp_path / "state"
    config = config_file(
        tmp_path, {"uri": str(tmp_path / "lake")},
        [{"type": "lake", "name": "out", "uri": str(tmp_path / "out")}],
    )  # fmt: skip
    saved = tmp_path / "saved"
    result = in_small_tmpfs(
        state, "64k",
        f"$CLI ingest --config {config} --quiet; echo rc1=$?; "
        f"cp -a {state} {saved}1; "
        f"mount -o remount,size=4m {state}; "  # room again
        f"$CLI ingest --config {config} --quiet; echo rc2=$?; "
        f"cp -a {state} {saved}2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "rc1=1" in result.stdout and "rc2=0" in result.stdout, result.stderr
    assert "drill: source 'in' failed: dead-letter report" in result.stderr
    assert "deadletter.jsonl: cannot append a record from 'in': No space left on device" in (
        result.stderr
    )
    after = saved.with_name("saved1") / "drill"
    assert not [p for p in after.iterdir() if p.name.endswith(".tmp")]
    letters = DeadLetters(after / "deadletter.jsonl")
    entries = letters.entries()
    assert entries and letters.torn == 0
    final = DeadLetters(saved.with_name("saved2") / "drill" / "deadletter.jsonl").entries()
    assert {e["item"]["reel"]["id"] for e in final} == {item["reel"]["id"] for item in bad}
    assert set(keys(lake_items(str(tmp_path / "out")))) == set(keys(good))  # at least once


@pytest.mark.slow
@needs_tmpfs
def test_a_full_disk_under_the_output_lake_names_the_sink_and_the_file(tmp_path):
    store = LocalStore(tmp_path / "lake")
    items = stream(400)
    for item in items:
        item["tweet" if "tweet" in item else "video" if "video" in item else "post"]["pad"] = (
            "y" * 2000
        )
    store.create(WRITER, "0000000", codec.dumps(items))
    out = tmp_path / "out"
    config = config_file(
        tmp_path, {"uri": str(tmp_path / "lake")},
        [{"type": "lake", "name": "archive", "uri": str(out), "batch_items": 50}],
    )  # fmt: skip
    result = in_small_tmpfs(
        out, "256k", f"$CLI ingest --config {config} --quiet; echo rc=$?; ls -laR {out}"
    )
    assert "rc=1" in result.stdout, result.stderr
    assert "drill: sink 'archive' failed: cannot write " in result.stderr
    assert "No space left on device" in result.stderr
    assert ".tmp" not in result.stdout  # the listing of the full lake: no temp file left
    checkpoint = Checkpoints(tmp_path / "state" / "drill" / "checkpoint.json").load()
    positions = checkpoint.get("in", {}).get("positions", {})
    assert all(file == 0 and item in (0, 50, 100) for file, item in positions.values())
