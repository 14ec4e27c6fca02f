"""The socket sink, read by plain Python socket clients (and the real `shoot2top` CLI)."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from factories import ids, lake_counts, stream
from shoot2top import codec
from shoot2top.config import ConfigError, SocketSinkConfig, load_config, parse_config
from shoot2top.lake.store import LocalStore
from shoot2top.runtime.pipeline import Pipeline, PipelineError, stop_on_signals
from shoot2top.runtime.state import Checkpoints
from shoot2top.sinks.socket import SinkStopped, SocketSink, SocketSinkError
from shoot2top.sources.base import Source
from shoot2top.sources.lake import LakeSource

REPO = Path(__file__).parents[2]


def make_sink(**settings) -> SocketSink:
    return SocketSink(SocketSinkConfig(type="socket", **{"port": 0, **settings}))


@pytest.fixture
def sinks():
    """Sinks built by a test, closed (abandoned) afterwards whatever happened."""
    made: list[SocketSink] = []

    def build(**settings) -> SocketSink:
        made.append(make_sink(**settings))
        return made[-1]

    yield build
    for sink in made:
        sink.abandon()


class Client:
    """A plain TCP client reading the NDJSON stream."""

    def __init__(self, port: int, *, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.lines = self.sock.makefile("rb")

    def read(self, count: int) -> list[dict]:
        return [codec.loads(self.lines.readline()) for _ in range(count)]

    def read_to_end(self) -> list[dict]:
        return [codec.loads(line) for line in self.lines]

    def close(self) -> None:
        self.lines.close()
        self.sock.close()


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def sink_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("socket sink ")]


def test_two_clients_both_receive_every_item_in_order(sinks):
    sink = sinks()
    first, second = Client(sink.port), Client(sink.port)
    wait_for(lambda: sink.server.clients == 2)
    items = stream(500)
    tickets = [sink.write(item) for item in items]
    assert tickets == list(range(1, 501)) and sink.durable_ticket == 500
    assert ids(first.read(500)) == ids(items)
    assert ids(second.read(500)) == ids(items)
    sink.close()
    assert first.read_to_end() == [] and second.read_to_end() == []  # orderly end of stream
    assert sink.report() == "1,000 items sent to 2 client(s) served, 0 dropped"


def test_items_buffered_before_a_client_connects_go_to_it_first(sinks):
    sink = sinks(buffer_items=100)
    items = stream(30)
    for item in items[:20]:
        sink.write(item)
    assert sink.server.buffered == 20 and sink.durable_ticket == 20  # durable = accepted
    client = Client(sink.port)
    wait_for(lambda: sink.server.clients == 1)
    assert sink.server.buffered == 0
    for item in items[20:]:
        sink.write(item)
    assert ids(client.read(30)) == ids(items)


def test_a_client_connecting_later_gets_only_what_is_sent_after(sinks):
    sink = sinks()
    early = Client(sink.port)
    wait_for(lambda: sink.server.clients == 1)
    items = stream(10)
    for item in items[:5]:
        sink.write(item)
    assert ids(early.read(5)) == ids(items[:5])
    late = Client(sink.port)
    wait_for(lambda: sink.server.clients == 2)
    for item in items[5:]:
        sink.write(item)
    assert ids(early.read(5)) == ids(items[5:])
    assert ids(late.read(5)) == ids(items[5:])


def test_drop_oldest_drops_and_counts_exactly_the_overflow(sinks, caplog):
    sink = sinks(buffer_items=5, when_full="drop_oldest")
    items = stream(12)
    with caplog.at_level(logging.WARNING, logger="shoot2top.sinks.socket_server"):
        started = time.monotonic()
        for item in items:
            sink.write(item)  # never waits
        assert time.monotonic() - started < 1
    assert sink.server.dropped == 7 and sink.server.buffered == 5 and sink.durable_ticket == 12
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert warnings == [  # the first drop is logged, the next ones not within 5 s
        "socket sink 'socket': buffer full (5 items, no client connected): "
        "dropped 1 oldest items so far"
    ]
    client = Client(sink.port)
    assert ids(client.read(5)) == ids(items[7:])
    sink.close()
    assert "7 dropped" in sink.report()


def test_block_waits_until_a_client_connects_and_the_buffer_drains(sinks):
    sink = sinks(buffer_items=3)  # when_full defaults to block
    items = stream(6)
    writer = threading.Thread(target=lambda: [sink.write(item) for item in items])
    writer.start()
    time.sleep(0.3)
    assert writer.is_alive() and sink.last_ticket == 3 and sink.server.buffered == 3
    client = Client(sink.port)
    writer.join(timeout=5)
    assert not writer.is_alive() and sink.last_ticket == 6 and sink.server.dropped == 0
    assert ids(client.read(6)) == ids(items)


def test_close_while_a_write_is_blocked_returns_promptly(sinks):
    sink = sinks(buffer_items=2)
    errors: list[Exception] = []

    def write_three() -> None:
        try:
            for item in stream(3):
                sink.write(item)
        except SinkStopped as error:
            errors.append(error)

    writer = threading.Thread(target=write_three)
    writer.start()
    wait_for(lambda: sink.last_ticket == 2)
    time.sleep(0.2)
    started = time.monotonic()
    sink.close()
    writer.join(timeout=2)
    assert time.monotonic() - started < 1.5 and not writer.is_alive()
    assert "closed while buffer full (2 items)" in str(errors[0])
    assert sink.last_ticket == 2  # the refused item got no ticket
    assert sink.server.discarded_at_close == 2 and sink_threads() == []
    with pytest.raises(SinkStopped, match="closed"):
        sink.write(stream(1)[0])


def test_interrupt_ends_a_blocked_write(sinks):
    sink = sinks(buffer_items=1)
    sink.write(stream(1)[0])
    threading.Timer(0.2, sink.interrupt).start()
    started = time.monotonic()
    with pytest.raises(SinkStopped, match="interrupted while buffer full"):
        sink.write(stream(2)[1])
    assert 0.15 < time.monotonic() - started < 1.5


class ListSource(Source):
    """Items from a list, idle (None) after each, as a live source between items; then
    idle for ever if `live`. Snapshot = how many were yielded."""

    def __init__(self, items, *, live: bool = False) -> None:
        super().__init__("list")
        self.items, self.position, self.live = items, 0, live

    def __iter__(self):
        for item in self.items:
            self.position += 1
            yield item
            yield None
        while self.live:
            time.sleep(0.01)
            yield None

    def snapshot(self):
        return {"position": self.position}


@pytest.fixture
def signal_in():
    """Send this process a signal after a delay (from a timer thread, as a user would);
    and the handlers as they were, to check they are restored."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    timers: list[threading.Timer] = []

    def send(seconds: float, signum: signal.Signals) -> None:
        timers.append(threading.Timer(seconds, os.kill, (os.getpid(), signum)))
        timers[-1].start()

    yield send
    for timer in timers:
        timer.cancel()
    assert {signum: signal.getsignal(signum) for signum in before} == before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.timeout(30)  # a wait the signal does not end fails, not hangs
def test_a_signal_ends_a_blocked_write_and_the_checkpoint_stays_before_its_item(
    sinks, tmp_path, signal_in, signum
):
    """The runner owns the signals: its handler interrupts the sink, whose write (in the
    main thread, waiting for a client) gives up at once with SinkStopped; the run fails
    naming the signal, its checkpoint before the item the sink did not accept."""
    sink = sinks(buffer_items=2)
    checkpoints = Checkpoints(tmp_path / "checkpoint.json")
    pipeline = Pipeline(
        [ListSource(stream(10))], [sink], checkpoints=checkpoints, checkpoint_interval_s=0
    )
    signal_in(0.3, signum)
    started = time.monotonic()
    with stop_on_signals(pipeline), pytest.raises(PipelineError) as caught:
        pipeline.run()
    assert 0.25 < time.monotonic() - started < 2
    assert f"stopped by {signum.name} while buffer full (2 items)" in str(caught.value)
    assert isinstance(caught.value.__cause__, SinkStopped)
    assert pipeline._stop_reason == signum.name  # the runner saw its stop request
    assert sink.last_ticket == 2  # items 1 and 2 accepted; item 3 not, and no ticket
    assert checkpoints.load() == {"list": {"position": 2}}  # a rerun starts at item 3
    assert sink_threads() == []


@pytest.mark.timeout(30)  # a wait the signal does not end fails, not hangs
def test_one_ctrl_c_ends_closes_wait_for_a_client(sinks, tmp_path, signal_in):
    """The input ended before any client connected: close waits for one to take the
    buffer; one SIGINT ends that wait, the rest is discarded and counted, the run ends in
    order with its checkpoint."""
    sink = sinks()
    checkpoints = Checkpoints(tmp_path / "checkpoint.json")
    pipeline = Pipeline([ListSource(stream(5))], [sink], checkpoints=checkpoints)
    signal_in(0.5, signal.SIGINT)
    started = time.monotonic()
    with stop_on_signals(pipeline):
        summary = pipeline.run()
    assert 0.45 < time.monotonic() - started < 2.5
    assert summary.items == 5 and summary.stopped_by == "end of input"
    assert summary.sink_reports["socket"] == (
        "0 items sent to 0 client(s) served, 0 dropped, 5 discarded at close (no client)"
    )
    assert checkpoints.load() == {"list": {"position": 5}}
    assert sink_threads() == []


@pytest.mark.timeout(30)  # a wait the signal does not end fails, not hangs
def test_a_signal_that_stops_the_run_leaves_close_waiting_for_no_client(sinks, signal_in):
    """SIGTERM from a supervisor stops a live run at once: close does not then wait for a
    client (which may never come) to take the buffer."""
    sink = sinks()
    pipeline = Pipeline([ListSource(stream(5), live=True)], [sink])
    signal_in(0.3, signal.SIGTERM)
    started = time.monotonic()
    with stop_on_signals(pipeline):
        summary = pipeline.run()
    assert time.monotonic() - started < 2
    assert summary.items == 5 and summary.stopped_by == "SIGTERM"
    assert sink.server.discarded_at_close == 5 and sink_threads() == []


def test_a_client_disconnecting_mid_stream_breaks_neither_the_sink_nor_the_other(sinks, caplog):
    sink = sinks()
    leaving, staying = Client(sink.port), Client(sink.port)
    wait_for(lambda: sink.server.clients == 2)
    items = stream(2000)
    for item in items[:100]:
        sink.write(item)
    assert ids(leaving.read(100)) == ids(items[:100])
    leaving.close()
    for item in items[100:]:
        sink.write(item)
    wait_for(lambda: sink.server.clients == 1)
    assert ids(staying.read(2000)) == ids(items)
    assert any("client 1" in r.getMessage() and "disconnected" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    sink.close()
    assert sink.server.clients_served == 2


def test_a_stalled_client_is_dropped_without_holding_up_the_others(sinks, caplog):
    sink = sinks(buffer_items=4)
    sink.server.stall_timeout_s = 0.5
    stalled = Client(sink.port, rcvbuf=4096)  # connects and never reads
    reader = Client(sink.port)
    wait_for(lambda: sink.server.clients == 2)
    items = [{"video": {"id": str(n), "blob": "x" * 100_000}} for n in range(200)]  # 20 MB
    received: list[dict] = []
    reading = threading.Thread(target=lambda: received.extend(reader.read(200)))
    reading.start()
    writing = threading.Thread(target=lambda: [sink.write(item) for item in items])
    writing.start()
    writing.join(timeout=10)
    reading.join(timeout=10)
    assert not writing.is_alive(), "the stalled client held up the writes"
    assert [item["video"]["id"] for item in received] == [str(n) for n in range(200)]
    assert sink.server.clients == 1 and sink.server.lost_with_clients > 0
    assert any("client 1" in r.getMessage() and "too slow" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    stalled.close()


def test_clients_coming_and_going_for_hours_leave_no_thread_behind(sinks):
    """Spark reconnects after each restart of its query: the sink must not keep one
    finished sender thread per client it ever served."""
    sink = sinks()
    for n in range(5):
        client = Client(sink.port)
        wait_for(lambda: sink.server.clients == 1)
        sink.write({"post": {"id": str(n)}})
        assert ids(client.read(1)) == [f"post:{n}"]
        client.close()
        wait_for(lambda: sink.server.clients == 0 and len(sink_threads()) == 1)
    last = Client(sink.port)
    wait_for(lambda: sink.server.clients == 1)
    assert len(sink.server._senders) == 1  # the finished ones were let go
    assert sink.server.clients_served == 6
    last.close()


def test_binds_loopback_by_default_and_port_0_picks_a_free_port(sinks, caplog):
    assert SocketSinkConfig(type="socket").host == "127.0.0.1"
    with caplog.at_level(logging.INFO, logger="shoot2top.sinks.socket_server"):
        first, second = sinks(), sinks()
    assert first.server._listener.getsockname()[0] == "127.0.0.1"
    assert first.port != 0 and second.port != 0 and first.port != second.port
    assert f"listening on 127.0.0.1:{first.port}" in caplog.text


def test_a_port_in_use_is_a_clear_error_and_a_closed_sink_frees_its_port(sinks):
    taken = sinks()
    with pytest.raises(SocketSinkError, match=rf"'again': cannot listen on 127.0.0.1:{taken.port}"):
        make_sink(name="again", port=taken.port)
    taken.abandon()  # as the Storm bolt does before it builds the sink afresh
    again = sinks(port=taken.port)
    assert again.port == taken.port


def config_error(**sink) -> str:
    raw = {
        "name": "t",
        "sources": [{"type": "lake", "uri": "in"}],
        "sinks": [{"type": "socket", **sink}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "p.json")
    return str(caught.value)


@pytest.mark.parametrize(
    ("sink", "message"),
    [
        ({"port": 70000}, "sinks[0].port: Input should be less than or equal to 65535 (got 70000)"),
        ({"port": -1}, "sinks[0].port: Input should be greater than or equal to 0 (got -1)"),
        ({"port": "9999"}, "sinks[0].port: Input should be a valid integer (got '9999')"),
        ({"when_full": "wait"}, "sinks[0].when_full: Input should be 'block' or 'drop_oldest'"),
        ({"buffer_items": 0}, "sinks[0].buffer_items: Input should be greater than or equal to 1"),
        ({"parallelism": 2}, "sinks[0].parallelism: Input should be 1"),
        ({"hots": "x"}, "sinks[0].hots: unknown key"),
    ],
)
def test_bad_config_is_a_clear_error(sink, message):
    text = config_error(**sink)
    assert text.startswith("p.json: ") and message in text


def test_close_waits_for_a_client_to_take_the_buffer_when_blocking(sinks):
    sink = sinks()
    items = stream(50)
    for item in items:
        sink.write(item)
    closing = threading.Thread(target=sink.close)
    closing.start()
    time.sleep(0.3)
    assert closing.is_alive()  # a replay that ends before Spark connects is kept
    client = Client(sink.port)
    closing.join(timeout=5)
    assert not closing.is_alive()
    assert ids(client.read_to_end()) == ids(items)
    assert sink.report() == "50 items sent to 1 client(s) served, 0 dropped"
    assert sink_threads() == []


def test_interrupt_ends_closes_wait_and_counts_the_discarded(sinks):
    sink = sinks()
    for item in stream(5):
        sink.write(item)
    threading.Timer(0.2, sink.interrupt).start()
    started = time.monotonic()
    sink.close()
    assert 0.15 < time.monotonic() - started < 1.5
    assert sink.report() == (
        "0 items sent to 0 client(s) served, 0 dropped, 5 discarded at close (no client)"
    )


def test_drop_oldest_close_does_not_wait_for_a_client(sinks):
    sink = sinks(when_full="drop_oldest")
    for item in stream(5):
        sink.write(item)
    started = time.monotonic()
    sink.close()
    assert time.monotonic() - started < 1 and sink.server.discarded_at_close == 5


def test_close_sends_what_is_queued_and_leaves_no_thread(sinks):
    sink = sinks()
    clients = [Client(sink.port) for _ in range(3)]
    wait_for(lambda: sink.server.clients == 3)
    assert len(sink_threads()) == 4  # the accept thread and one sender per client
    items = stream(3000)
    for item in items:
        sink.write(item)
    sink.close()  # nobody has read anything yet: the queues are still sent
    for client in clients:
        assert ids(client.read_to_end()) == ids(items)
    assert sink_threads() == []
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sink.port), timeout=1)
    sink.close()  # idempotent


def test_abandon_stops_at_once(sinks):
    sink = sinks()
    client = Client(sink.port, rcvbuf=4096)
    wait_for(lambda: sink.server.clients == 1)
    for n in range(300):
        sink.write({"post": {"id": str(n), "blob": "x" * 10_000}})
    started = time.monotonic()
    sink.abandon()
    assert time.monotonic() - started < 1.5 and sink_threads() == []
    client.close()


def test_the_pipeline_runner_feeds_a_reading_client(sinks, sample_lake, tmp_path):
    sink = sinks(name="spark")
    client = Client(sink.port)
    wait_for(lambda: sink.server.clients == 1)
    source = LakeSource(LocalStore(sample_lake))
    received: list[dict] = []
    reading = threading.Thread(target=lambda: received.extend(client.read_to_end()))
    reading.start()
    summary = Pipeline(
        [source], [sink], checkpoints=Checkpoints(tmp_path / "checkpoint.json")
    ).run()
    reading.join(timeout=10)
    assert summary.items == len(received) == 900
    assert Counter(next(iter(item)) for item in received) == summary.per_type
    assert summary.sink_reports["spark"] == "900 items sent to 1 client(s) served, 0 dropped"


@pytest.mark.slow
def test_shoot2top_ingest_replays_the_lake_to_a_client_connecting_later(tmp_path):
    """The CLI as a user runs it: port 0, the port read from the log, the client
    connecting after the replay ended (the buffer keeps it), counts per type exact."""
    lake = REPO / "data" / "sample-lake"
    config = {
        "name": "to-socket",
        "state_dir": str(tmp_path / "state"),
        "sources": [{"type": "lake", "name": "sample", "uri": str(lake)}],
        "sinks": [{"type": "socket", "name": "spark", "port": 0}],
    }
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(config))
    ingest = subprocess.Popen(
        [sys.executable, "-m", "shoot2top.cli", "ingest", "--config", str(path), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        log_lines = []
        for line in ingest.stderr:
            log_lines.append(line)
            if "waiting for a client" in line:
                break
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", "".join(log_lines))[1])
        client = Client(port)
        received = client.read_to_end()
        out, err = ingest.communicate(timeout=30)
    finally:
        ingest.kill()
    assert ingest.returncode == 0, err
    assert Counter(next(iter(item)) for item in received) == lake_counts(lake)
    assert "3,000 items (post 752, tweet 1,345, video 903)" in out
    assert "sink spark: 3,000 items sent to 1 client(s) served, 0 dropped" in out


def test_the_sample_pipeline_serves_the_sample_lake_on_port_9999():
    config = load_config(REPO / "pipelines" / "sample-to-socket.json")
    (source,), (sink,) = config.sources, config.sinks
    assert (source.type, source.uri) == ("lake", "data/sample-lake")
    assert (sink.type, sink.host, sink.port, sink.when_full) == (
        "socket",
        "127.0.0.1",
        9999,
        "block",
    )
    assert sink.buffer_items >= sum(lake_counts(REPO / "data" / "sample-lake").values())
