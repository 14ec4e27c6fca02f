import threading
import time

import pytest

from shoot2top.lake.store import LocalStore
from shoot2top.sinks.base import SinkAbandoned
from shoot2top.sinks.postgres import PostgresSink
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.schema import SchemaError
from waits import wait_for


def count(dsn, table):
    connection = connect(dsn)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        (value,) = cursor.fetchone()
    connection.close()
    return value


def snapshots(items):
    return len({(i["_observed_at"], str(i)) for i in items})


@pytest.fixture(scope="module")
def items(sample_lake):
    return [item for item in LakeSource(LocalStore(sample_lake)) if item is not None][:120]


def test_items_are_durable_only_once_their_batch_committed(pg_dsn, items):
    sink = PostgresSink(WarehouseLoader(pg_dsn), batch_items=50, batch_age_s=3600)
    for item in items[:100]:
        sink.write(item)
    # batch 1 is committed (batch 2's submission waited for it); batch 2 may be in flight
    assert sink.durable_ticket in (50, 100)
    assert count(pg_dsn, "metric_snapshots") >= 50
    for item in items[100:]:
        sink.write(item)
    assert sink.pending >= 20
    sink.flush()
    assert (sink.durable_ticket, sink.pending, sink.loaded) == (120, 0, 120)
    assert count(pg_dsn, "metric_snapshots") == len({(i["_observed_at"], str(i)) for i in items})
    sink.close()
    assert sink.report() == "loaded 120 items, dead-lettered 0"


def test_a_batch_that_ages_out_is_committed_on_tick(pg_dsn, items):
    sink = PostgresSink(WarehouseLoader(pg_dsn), batch_items=1000, batch_age_s=0)
    sink.write(items[0])
    sink.tick()
    assert wait_for(lambda: (sink.tick(), sink.durable_ticket)[1] == 1, "the aged batch durable")
    assert count(pg_dsn, "metric_snapshots") == 1
    sink.close()


def test_a_load_error_in_the_worker_surfaces_in_the_stream(postgres_server, items):
    dsn = postgres_server.new_database(migrated=False)
    sink = PostgresSink(WarehouseLoader(dsn), batch_items=10, batch_age_s=3600)
    with pytest.raises(SchemaError, match="run `shoot2top warehouse init`"):
        for item in items[:30]:
            sink.write(item)
        sink.flush()
    assert sink.durable_ticket == 0


class FailingLoader(WarehouseLoader):
    """The first commit fails (the database went away mid-commit); later ones would work."""

    def __init__(self, dsn):
        super().__init__(dsn)
        self.fails = 1

    def commit(self, batch):
        if self.fails:
            self.fails -= 1
            raise ConnectionError("server closed the connection unexpectedly")
        return super().commit(batch)


def test_a_failed_commit_is_never_called_durable_by_a_later_flush(pg_dsn, items):
    sink = PostgresSink(FailingLoader(pg_dsn), batch_items=10, batch_age_s=3600)
    for item in items[:10]:
        sink.write(item)  # the batch is sent; its commit fails on the worker
    for attempt in range(2):  # the second flush must not find "nothing in flight"
        with pytest.raises(ConnectionError, match="closed the connection"):
            sink.flush()
        assert sink.durable_ticket == 0, f"flush {attempt + 1} called lost items durable"
    with pytest.raises(ConnectionError):
        for item in items[10:20]:
            sink.write(item)  # a full batch settles first: the failure again
    assert sink.durable_ticket == 0
    sink.abandon()


class GatedLoader(WarehouseLoader):
    """Commits wait for `gate`: a batch stays in flight as long as a test needs."""

    def __init__(self, dsn):
        super().__init__(dsn)
        self.gate = threading.Event()
        self.committing = threading.Event()

    def commit(self, batch):
        self.committing.set()
        assert self.gate.wait(30), "the test never opened the gate"
        return super().commit(batch)


def test_an_aged_batch_is_sent_without_waiting_for_its_commit(pg_dsn, items):
    # A stream slower than batch_items per batch_age_s (a Storm bolt) must not stop at
    # every aged batch while the database works: the tick sends it and returns.
    loader = GatedLoader(pg_dsn)
    sink = PostgresSink(loader, batch_items=1000, batch_age_s=0.05)
    for item in items[:10]:
        sink.write(item)
    time.sleep(0.06)  # the batch's age, not synchronisation
    started = time.monotonic()
    sink.tick()
    assert loader.committing.wait(10)
    assert time.monotonic() - started < 5 and sink.durable_ticket == 0
    for item in items[10:20]:  # the next batch fills while the first one commits
        sink.write(item)
    loader.gate.set()
    assert wait_for(lambda: sink._in_flight.done(), "the aged batch committed")
    time.sleep(0.2)  # the commit is seen later than it happened: durable_at says when
    sink.tick()
    assert (sink.durable_ticket, sink.pending) == (10, 10)
    assert time.time() - sink.durable_at >= 0.2
    sink.close()
    assert (sink.durable_ticket, sink.loaded) == (20, 20)


def test_the_age_of_a_batch_counts_from_its_own_first_item(pg_dsn, items):
    # Not from the first item not yet durable: a batch sent by size and still committing
    # must not make the next one age out at once (a string of tiny batches).
    loader = GatedLoader(pg_dsn)
    sink = PostgresSink(loader, batch_items=10, batch_age_s=3600)
    for item in items[:10]:
        sink.write(item)
    assert loader.committing.wait(10)
    sink.write(items[10])
    sink.tick()
    assert sink._batch == [items[10]]  # still open: it is young
    loader.gate.set()
    sink.close()
    assert (sink.durable_ticket, sink.loaded) == (11, 11)


def test_close_waits_for_the_batch_in_flight(pg_dsn, items):
    loader = GatedLoader(pg_dsn)
    sink = PostgresSink(loader, batch_items=50, batch_age_s=3600)
    for item in items[:50]:
        sink.write(item)
    assert loader.committing.wait(10) and sink.durable_ticket == 0
    threading.Timer(0.3, loader.gate.set).start()
    sink.close()  # flushes: waits for the batch in flight
    assert (sink.durable_ticket, sink.loaded) == (50, 50)
    assert loader._connection is None
    assert count(pg_dsn, "metric_snapshots") == snapshots(items[:50])


def test_abandon_with_a_batch_in_flight_acks_nothing_more_and_closes_after_it(pg_dsn, items):
    loader = GatedLoader(pg_dsn)
    loader.gate.set()
    sink = PostgresSink(loader, batch_items=50, batch_age_s=3600)
    for item in items[:50]:
        sink.write(item)
    sink.flush()
    loader.gate.clear()
    loader.committing.clear()
    for item in items[50:100]:
        sink.write(item)
    assert loader.committing.wait(10)  # batch 2 is in flight, held at the gate
    started = time.monotonic()
    sink.abandon()  # does not wait for the database
    assert time.monotonic() - started < 1
    loader.gate.set()
    deadline = time.monotonic() + 10
    while loader._connection is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    # The commit in progress finished on the worker, then the connection was closed there
    # (closing it from the caller would race with the commit, which would reconnect).
    assert loader._connection is None
    assert count(pg_dsn, "metric_snapshots") == snapshots(items[:100])
    assert sink.durable_ticket == 50  # batch 2 is never acked: its items come again


def test_an_abandoned_warehouse_sink_never_calls_what_it_dropped_durable(pg_dsn, items):
    sink = PostgresSink(WarehouseLoader(pg_dsn), batch_items=1000, batch_age_s=3600)
    for item in items[:5]:
        sink.write(item)
    sink.abandon()
    with pytest.raises(SinkAbandoned, match="sink 'warehouse' was abandoned"):
        sink.flush()
    assert (sink.durable_ticket, sink.loaded) == (0, 0)
    assert count(pg_dsn, "metric_snapshots") == 0
