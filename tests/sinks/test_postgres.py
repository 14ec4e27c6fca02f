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
