import threading
import time

import pytest

from shoot2top.lake.store import LocalStore
from shoot2top.sinks.postgres import PostgresSink
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import connect
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.schema import SchemaError


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
    assert sink.durable_ticket == 1
    sink.close()


def test_a_load_error_in_the_worker_surfaces_in_the_stream(postgres_server, items):
    dsn = postgres_server.new_database(migrated=False)
    sink = PostgresSink(WarehouseLoader(dsn), batch_items=10, batch_age_s=3600)
    with pytest.raises(SchemaError, match="run `shoot2top warehouse init`"):
        for item in items[:30]:
            sink.write(item)
        sink.flush()
    assert sink.durable_ticket == 0


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
