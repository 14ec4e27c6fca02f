"""Faults are not damage: a store that fails to give a file's bytes is retried, and if it
stays down the replay stops before that file — nothing is dead-lettered, nothing skipped.
Real disks and a real S3 server (SeaweedFS) stopped and started again."""

import errno
import logging
import os
import threading
import time

import pytest

from factories import T0, ids, stream
from shoot2top import codec
from shoot2top.lake.layout import WriterFolder
from shoot2top.lake.store import (
    LakeError,
    LakeUnavailable,
    LocalStore,
    S3Settings,
    open_store,
)
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.retry import RetryPolicy
from shoot2top.sinks.lake import LakeSink
from shoot2top.sources.lake import LakeSource

W1 = WriterFolder.new(T0).name
QUICK = RetryPolicy(max_s=1.0, first_wait_s=0.05, max_wait_s=0.2)


class Watch(logging.Handler):
    """Sets an event when a log line containing `text` is emitted (a condition to wait on)."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.seen = threading.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        self.lines.append(line)
        if self.text in line:
            self.seen.set()


@pytest.fixture
def watch():
    handlers = []

    def make(text: str) -> Watch:
        handler = Watch(text)
        logging.getLogger("shoot2top").addHandler(handler)
        logging.getLogger("shoot2top").setLevel(logging.DEBUG)
        handlers.append(handler)
        return handler

    yield make
    for handler in handlers:
        logging.getLogger("shoot2top").removeHandler(handler)


class FailingDisk(LocalStore):
    """A local lake whose reads of one file fail with an OS error `failures` times (an
    I/O error on a real disk cannot be produced on demand), through the real retry path."""

    def __init__(self, root, *, code: int, failures: int, **options) -> None:
        super().__init__(root, **options)
        self.code, self.failures, self.attempts = code, failures, 0

    def read(self, folder, name, limit=None):
        if name != "0000001":
            return super().read(folder, name, limit)

        def attempt() -> bytes:
            self.attempts += 1
            if self.attempts <= self.failures:
                raise OSError(self.code, os.strerror(self.code), str(self.root / folder / name))
            with open(self.root / folder / name, "rb") as handle:
                return handle.read()

        return self._retrying(f"read {self.root / folder / name}", attempt)


FILES = [stream(2, start_minute=number * 2) for number in range(3)]
ALL = ids(FILES[0] + FILES[1] + FILES[2])


def three_files(store):
    for number, items in enumerate(FILES):
        store.create(W1, f"{number:07d}", codec.dumps(items))


def test_an_io_error_that_clears_is_retried_and_nothing_is_lost(tmp_path, watch):
    seen = watch("retrying")
    store = FailingDisk(tmp_path, code=errno.EIO, failures=2, retry=QUICK.named("source 'in'"))
    three_files(store)
    letters = DeadLetters(tmp_path / "dead.jsonl")
    items = [i for i in LakeSource(store, dead_letters=letters) if i is not None]
    assert ids(items) == ALL and letters.entries() == [] and store.attempts == 3
    assert seen.seen.is_set()
    assert any(line.startswith("source 'in': read ") and "Input/output error" in line
               for line in seen.lines)  # fmt: skip


def test_an_io_error_that_lasts_stops_the_replay_before_the_file(tmp_path):
    store = FailingDisk(tmp_path, code=errno.EIO, failures=10**6, retry=QUICK)
    three_files(store)
    letters = DeadLetters(tmp_path / "dead.jsonl")
    source = LakeSource(store, dead_letters=letters)
    seen = []
    started = time.monotonic()
    with pytest.raises(LakeUnavailable, match=r"0000001: gave up after 1 s of retries"):
        seen.extend(source)
    assert 0.9 < time.monotonic() - started < 10
    assert ids(seen) == ALL[:2]
    assert source.snapshot()["positions"][W1] == [1, 0]  # the unread file comes next
    assert letters.entries() == [] and source.damaged_files == 0
    resumed = LakeSource(LocalStore(tmp_path), resume=source.snapshot())
    assert ids([i for i in resumed if i is not None]) == ALL[2:]


def test_a_permanent_error_stops_at_once_without_retries(tmp_path):
    store = FailingDisk(tmp_path, code=errno.EACCES, failures=10**6, retry=QUICK)
    three_files(store)
    with pytest.raises(LakeError, match="Permission denied") as raised:
        list(LakeSource(store))
    assert not isinstance(raised.value, LakeUnavailable) and store.attempts == 1


def test_a_lake_whose_folder_vanishes_and_comes_back_loses_nothing(tmp_path, watch):
    """A real vanished path (a lost mount): ENOENT is retried until it is back."""
    seen = watch("retrying")
    root = tmp_path / "lake"
    store = LocalStore(root, retry=RetryPolicy(max_s=30, first_wait_s=0.05, max_wait_s=0.2))
    three_files(store)
    source = iter(LakeSource(store))
    first = [next(source), next(source)]  # file 0 is read; file 1 is read next
    root.rename(tmp_path / "away")

    def put_back() -> None:
        seen.seen.wait(20)
        (tmp_path / "away").rename(root)

    helper = threading.Thread(target=put_back)
    helper.start()
    rest = [item for item in source if item is not None]
    helper.join()
    assert ids(first + rest) == ALL


def test_a_write_onto_an_existing_name_fails_at_once_and_leaves_no_temp(tmp_path):
    store = LocalStore(tmp_path, retry=QUICK)
    directory = tmp_path / "w"
    directory.mkdir()
    (directory / "0000000").mkdir()  # the link target exists as a directory: EEXIST
    with pytest.raises(LakeError, match=r"w/0000000 already exists"):
        store.create("w", "0000000", b"[]")
    assert [p.name for p in directory.iterdir()] == ["0000000"]


def s3(server, retry):
    settings = S3Settings(
        endpoint_url=server.endpoint, region="us-east-1", access_key_id="test",
        secret_access_key="test", max_attempts=2, connect_timeout_s=1,
    )  # fmt: skip
    return open_store("s3://lake/social", settings, retry=retry)


@pytest.mark.slow
def test_an_s3_outage_mid_replay_is_waited_out_and_nothing_is_lost(private_s3, watch):
    seen = watch("retrying")
    store = s3(private_s3, RetryPolicy(max_s=60, first_wait_s=0.1, max_wait_s=1))
    three_files(store)
    letters = DeadLetters(None)
    source = iter(LakeSource(store, dead_letters=letters))
    first = [next(source), next(source)]
    private_s3.kill()  # SIGKILL: the server vanishes mid-replay

    def restart() -> None:
        seen.seen.wait(30)
        private_s3.start()

    helper = threading.Thread(target=restart)
    helper.start()
    rest = [item for item in source if item is not None]
    helper.join()
    assert ids(first + rest) == ALL and letters.count == 0


@pytest.mark.slow
def test_an_s3_outage_that_lasts_stops_before_the_unread_file(private_s3):
    store = s3(private_s3, QUICK)
    three_files(store)
    letters = DeadLetters(None)
    source = LakeSource(store, dead_letters=letters)
    iterator = iter(source)
    first = [next(iterator), next(iterator)]
    private_s3.kill()
    with pytest.raises(LakeUnavailable, match=r"S3 get s3://lake/social/.*/0000001 failed: gave"):
        list(iterator)
    assert ids(first) == ALL[:2] and letters.count == 0
    assert source.snapshot()["positions"][W1] == [1, 0]


def test_an_s3_endpoint_never_reached_fails_fast_with_a_hint():
    store = open_store(
        "s3://bucket/p",
        S3Settings(endpoint_url="http://127.0.0.1:9", access_key_id="k", secret_access_key="s"),
        retry=RetryPolicy(max_s=60),
    )
    started = time.monotonic()
    with pytest.raises(LakeError, match="is endpoint_url right") as raised:
        store.list_folders()
    assert not isinstance(raised.value, LakeUnavailable)
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_an_unattended_worker_waits_for_an_s3_endpoint_down_since_it_started(
    private_s3, monkeypatch
):
    """A Storm worker (re)started during an S3 outage must wait it out, not fail fast."""
    from shoot2top.runtime import retry

    monkeypatch.setattr(retry, "_long_running", False)
    retry.expect_outages_from_the_start()
    private_s3.stop()
    store = s3(private_s3, RetryPolicy(max_s=120, first_wait_s=0.1, max_wait_s=1))
    restarter = threading.Timer(2, private_s3.start)
    restarter.start()
    try:
        assert store.list_folders() == []  # waited until the server was back
    finally:
        restarter.join()


def test_a_missing_bucket_is_permanent(s3_server):
    store = open_store(
        "s3://no-such-bucket-here/p",
        S3Settings(endpoint_url=s3_server.endpoint),
        retry=RetryPolicy(max_s=60),
    )
    started = time.monotonic()
    with pytest.raises(LakeError, match="NoSuchBucket"):
        store.list_folders()
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_the_lake_sink_retries_a_put_through_an_outage(private_s3, watch):
    seen = watch("retrying")
    sink = LakeSink(s3(private_s3, RetryPolicy(max_s=60, first_wait_s=0.1, max_wait_s=1)))
    for item in stream(6)[:3]:
        sink.write(item)
    sink.flush()  # the server has answered this process: an outage is worth waiting for
    private_s3.kill()
    for item in stream(6)[3:]:
        sink.write(item)

    def restart() -> None:
        seen.seen.wait(30)
        private_s3.start()

    helper = threading.Thread(target=restart)
    helper.start()
    sink.flush()
    helper.join()
    store = s3(private_s3, QUICK)
    items = [i for i in LakeSource(store) if i is not None]
    assert ids(items) == ids(stream(6))
    assert any("S3 put s3://lake/social/" in line and "retrying in" in line for line in seen.lines)
