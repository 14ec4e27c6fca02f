import copy
import json
import os
import random
import string
import subprocess
import sys
import time

import pytest

from factories import deliveries
from pgtest import PostgresServer, checksums
from shoot2top.lake.store import LocalStore
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import WarehouseError, connect
from shoot2top.warehouse.loader import WarehouseLoader
from shoot2top.warehouse.schema import SchemaError, migrate
from waits import text_in, wait_for


def lake_items(root):
    return [item for item in LakeSource(LocalStore(root)) if item is not None]


def load(dsn, items, batch=300):
    loader = WarehouseLoader(dsn)
    results = [loader.load(items[i : i + batch]) for i in range(0, len(items), batch)]
    loader.close()
    return results


def scalar(dsn, sql):
    connection = connect(dsn)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        value = cursor.fetchone()[0]
    connection.close()
    return value


def test_loads_are_idempotent_and_order_free(postgres_server, pg_dsn, sample_lake):
    items = lake_items(sample_lake)
    load(pg_dsn, items)
    once = checksums(pg_dsn)
    load(pg_dsn, items, batch=77)  # the same lake again, batched differently
    assert checksums(pg_dsn) == once
    other = postgres_server.new_database(migrated=True)
    load(other, list(reversed(items)), batch=1000)  # redelivered out of order
    assert checksums(other) == once
    distinct = {
        (next(k for k in i if k[0] != "_"), i["_observed_at"], json.dumps(i, sort_keys=True))
        for i in items
    }
    assert scalar(pg_dsn, "SELECT count(*) FROM metric_snapshots") == len(distinct)


def test_the_item_row_holds_the_latest_observation(pg_dsn, sample_lake):
    items = lake_items(sample_lake)
    load(pg_dsn, list(reversed(items)))
    latest = {}
    for item in items:
        if "video" in item:
            latest[item["video"]["id"]] = item
    video_id, item = next(iter(latest.items()))
    connection = connect(pg_dsn)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT raw, first_observed_at, last_observed_at FROM items WHERE item_id = %s",
            (video_id,),
        )
        raw, first, last = cursor.fetchone()
    assert raw == item
    observed = sorted(
        i["_observed_at"] for i in items if "video" in i and i["video"]["id"] == video_id
    )
    assert first.strftime("%Y-%m-%dT%H:%M:%SZ") == observed[0]
    assert last.strftime("%Y-%m-%dT%H:%M:%SZ") == observed[-1]


def test_a_nul_or_a_huge_counter_is_repaired_and_only_a_non_post_dead_lettered(
    pg_dsn, sample_lake, caplog
):
    """A NUL character (PostgreSQL text refuses it) or a counter beyond bigint in a sound
    item: the item loads with the NUL removed or the counter unknown, and it is logged."""
    items = lake_items(sample_lake)[:200]
    nul = copy.deepcopy(next(i for i in items if "tweet" in i))
    nul["tweet"]["data"]["text"] = "bad \x00 byte"
    nul["_observed_at"] = "2026-11-25T00:00:00Z"
    huge = copy.deepcopy(next(i for i in items if "video" in i))
    huge["video"]["statistics"]["viewCount"] = str(10**20)  # beyond bigint
    huge["_observed_at"] = "2026-11-25T00:00:00Z"
    not_a_post = {"reel": {"id": "1"}}
    batch = [*items[:100], nul, *items[100:], huge, not_a_post]
    with caplog.at_level("WARNING", logger="shoot2top.warehouse.rows"):
        (result,) = load(pg_dsn, batch, batch=1000)
    assert (result.loaded, result.dead_lettered) == (202, 1)
    ((reason,),) = _rows(pg_dsn, "SELECT reason FROM dead_letters")
    assert "unknown type key 'reel'" in reason
    nul_id, huge_id = nul["tweet"]["data"]["id"], huge["video"]["id"]
    snapshot = "SELECT {} FROM metric_snapshots WHERE item_id = '{}' AND observed_at = '2026-11-25'"
    assert scalar(pg_dsn, snapshot.format("likes", nul_id)) is not None
    assert scalar(pg_dsn, snapshot.format("views", huge_id)) is None  # unknown, not clamped
    assert scalar(pg_dsn, snapshot.format("likes", huge_id)) is not None  # the rest is kept
    text = f"SELECT text, raw->'tweet'->'data'->>'text' FROM items WHERE item_id = '{nul_id}'"
    assert _rows(pg_dsn, text) == [("bad  byte", "bad  byte")]
    logged = caplog.text
    assert f"x {nul_id}: removed 1 NUL character(s)" in logged
    assert f"youtube {huge_id}: views {10**20} is beyond bigint: stored as unknown" in logged
    before = checksums(pg_dsn)
    load(pg_dsn, batch, batch=1000)
    assert checksums(pg_dsn) == before  # repairs and dead letters are idempotent too


def _rows(dsn, sql):
    connection = connect(dsn)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    connection.close()
    return rows


def test_a_database_without_schema_gives_a_clear_error(postgres_server, sample_lake):
    dsn = postgres_server.new_database(migrated=False)
    with pytest.raises(SchemaError, match="run `shoot2top warehouse init`"):
        WarehouseLoader(dsn).load(lake_items(sample_lake)[:5])


def test_retries_give_up_with_a_clear_error_when_the_server_stays_down():
    loader = WarehouseLoader("postgresql://nobody@127.0.0.1:9/nothing", max_retry_s=1)
    started = time.monotonic()
    # Never reached in this process: most likely a wrong port, reported at once (see
    # warehouse/test_database.py for a server that was reached and then stays down).
    with pytest.raises(WarehouseError, match=r"Connection refused.*has not answered since"):
        loader.load([])
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_the_server_killed_mid_load_and_restarted_loses_and_doubles_nothing(
    tmp_path, postgres_server, sample_lake
):
    """A real crash: SIGKILL to the postmaster while an ingest process is loading."""
    private = PostgresServer.private(tmp_path / "crash")
    try:
        dsn = private.new_database(migrated=True)
        config = tmp_path / "crash.json"
        config.write_text(json.dumps({
            "name": "crash",
            "state_dir": str(tmp_path / "state"),
            "sources": [{"type": "lake", "uri": str(sample_lake), "pace": 20000}],
            "sinks": [{"type": "postgres", "dsn": "${CRASH_DSN}", "batch_items": 25,
                       "batch_age_s": 0.2, "max_retry_s": 30},
                      {"type": "lake", "name": "deliveries", "uri": str(tmp_path / "out"),
                       "batch_age_s": 0.2}],
        }))  # fmt: skip
        errors = tmp_path / "ingest.err"
        with errors.open("w") as stderr_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "shoot2top.cli", "ingest", "--config", str(config),
                 "--quiet"],
                env={**os.environ, "CRASH_DSN": dsn},
                stdout=subprocess.PIPE, stderr=stderr_file, text=True,
            )  # fmt: skip
        loaded_before = wait_for(
            lambda: scalar(dsn, "SELECT count(*) FROM metric_snapshots"),
            "the first committed batch", process=process,
        )  # fmt: skip
        private.kill()
        # the loader meets the outage and says it retries before the server is back
        wait_for(lambda: text_in(errors, "etrying"), "a retry logged", process=process)
        private.restart()
        process.communicate(timeout=180)
        stderr = errors.read_text()
        assert process.returncode == 0, stderr
        assert 0 < loaded_before < 900
        # The runner retried inside the warehouse sink: no item went out twice (a double
        # would show here; the warehouse's keys would hide it).
        delivered = deliveries(tmp_path / "out")
        assert sum(delivered.values()) == 900 and set(delivered.values()) == {1}
        clean = postgres_server.new_database(migrated=True)
        load(clean, lake_items(sample_lake))
        assert checksums(dsn) == checksums(clean)
    finally:
        private.stop()


@pytest.mark.slow
def test_ties_on_observed_time_resolve_the_same_whatever_the_order_or_batching(
    postgres_server, sample_lake
):
    """Two different copies of one observation (same item, same observed time)."""
    base = next(i for i in lake_items(sample_lake) if "tweet" in i)
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    a["tweet"]["data"]["public_metrics"]["like_count"] = 5
    b["tweet"]["data"]["public_metrics"]["like_count"] = 7
    b["tweet"]["includes"]["users"][0]["public_metrics"]["followers_count"] += 1
    results = set()
    for batches in ([[a, b]], [[b, a]], [[a], [b]], [[b], [a]]):
        dsn = postgres_server.new_database(migrated=True)
        loader = WarehouseLoader(dsn)
        for batch in batches:
            loader.load(batch)
        loader.close()
        results.add(tuple(sorted(checksums(dsn).items())))
    assert len(results) == 1


def test_a_newer_observation_without_the_profile_does_not_blank_the_publisher(
    postgres_server, sample_lake
):
    """An X tweet delivered without its author in `includes` knows only the author id:
    the publisher keeps the newest profile seen, whatever the order or batching."""
    base = next(i for i in lake_items(sample_lake) if "tweet" in i)
    profiled = copy.deepcopy(base)
    bare = copy.deepcopy(base)
    del bare["tweet"]["includes"]["users"]
    bare["_observed_at"] = "2030-01-01T00:00:00Z"  # newer than the profiled one
    user = profiled["tweet"]["includes"]["users"][0]
    for batches in (
        [[profiled, bare]],
        [[bare, profiled]],
        [[profiled], [bare]],
        [[bare], [profiled]],
    ):
        dsn = postgres_server.new_database(migrated=True)
        loader = WarehouseLoader(dsn)
        for batch in batches:
            loader.load(batch)
        loader.close()
        ((name, handle, followers, profiled_flag),) = _rows(
            dsn, "SELECT name, handle, followers, profiled FROM publishers"
        )
        assert (name, handle) == (user["name"], user["username"]), batches
        assert followers == user["public_metrics"]["followers_count"] and profiled_flag
        assert scalar(dsn, "SELECT count(*) FROM metric_snapshots") == 2


def test_a_poison_item_is_dead_lettered_alone_whatever_its_batch(pg_dsn, sample_lake):
    items = lake_items(sample_lake)[:20]
    odd_count = copy.deepcopy(next(i for i in items if "video" in i))
    odd_count["video"]["statistics"]["viewCount"] = "²"  # isdigit() but not a number
    odd_count["_observed_at"] = "2026-11-26T00:00:00Z"
    far_date = copy.deepcopy(items[0])
    far_date["_observed_at"] = "9999-12-31T23:59:59-01:00"
    surrogate = copy.deepcopy(next(i for i in items if "post" in i))
    surrogate["post"]["message"] = "\ud800 lone surrogate"
    surrogate["_observed_at"] = "2026-11-26T00:00:01Z"
    (result,) = load(pg_dsn, [*items, odd_count, far_date, surrogate], batch=1000)
    assert result.loaded == 21 and result.dead_lettered == 2  # the odd count loads as NULL
    reasons = [r for (r,) in _rows(pg_dsn, "SELECT reason FROM dead_letters ORDER BY reason")]
    assert any("9999-12-31" in r for r in reasons) and any("JSON" in r for r in reasons)


def test_an_out_of_range_counter_becomes_unknown_however_it_is_batched(
    postgres_server, sample_lake
):
    items = [i for i in lake_items(sample_lake) if "tweet" in i][:2]
    bad = copy.deepcopy(items[0])
    bad["tweet"]["includes"]["users"][0]["public_metrics"]["followers_count"] = 2**63
    bad["_observed_at"] = "2030-01-01T00:00:00Z"  # newer than the good observations
    results = set()
    for batches in ([[bad, *items]], [[bad], items], [items, [bad]]):
        dsn = postgres_server.new_database(migrated=True)
        loaded = [WarehouseLoader(dsn).load(batch) for batch in batches]
        assert sum(r.dead_lettered for r in loaded) == 0
        assert sum(r.loaded for r in loaded) == 3
        ((followers,),) = _rows(dsn, "SELECT followers FROM publishers")
        assert followers is None  # the newest observation's, which is unknown
        results.add(tuple(sorted(checksums(dsn).items())))
    assert len(results) == 1


def test_key_order_does_not_change_what_is_stored(postgres_server, sample_lake):
    """Storm's multilang JSON does not keep key order: the digest must not depend on it."""
    items = lake_items(sample_lake)[:30]
    shuffled = [json.loads(json.dumps(dict(reversed(list(i.items()))))) for i in items]
    for item in shuffled:
        kind = next(k for k in item if not k.startswith("_"))
        item[kind] = dict(reversed(list(item[kind].items())))
    first, second = (postgres_server.new_database(migrated=True) for _ in range(2))
    load(first, items)
    load(second, shuffled)
    assert checksums(first) == checksums(second)


def test_feature_sets_the_loader_committed_are_not_staged_again(pg_dsn, sample_lake):
    items = lake_items(sample_lake)[:200]
    loader = WarehouseLoader(pg_dsn)
    loader.load(items)
    before = checksums(pg_dsn)
    again = loader.prepare(items)
    fresh = WarehouseLoader(pg_dsn).prepare(items)
    set_tables = {"item_hashtags", "item_mentions", "item_urls", "item_keywords"}
    assert set_tables & set(fresh.buffers) == set_tables
    assert not set_tables & set(again.buffers)  # all known: committed by this loader
    assert {"items", "metric_snapshots"} <= set(again.buffers)  # observations still load
    loader.commit(again)
    assert checksums(pg_dsn) == before
    loader.close()


@pytest.mark.slow
def test_a_failed_commit_does_not_hide_feature_rows(postgres_server, sample_lake):
    items = lake_items(sample_lake)[:100]
    dsn = postgres_server.new_database(migrated=False)
    loader = WarehouseLoader(dsn)
    with pytest.raises(SchemaError):
        loader.commit(loader.prepare(items))  # nothing committed
    connection = connect(dsn)
    migrate(connection)
    connection.close()
    loader.load(items)
    loader.close()
    reference = postgres_server.new_database(migrated=True)
    load(reference, items)
    assert checksums(dsn) == checksums(reference)
    assert scalar(dsn, "SELECT count(*) FROM item_keywords") > 0


def test_an_item_the_database_refuses_leaves_its_feature_rows_unknown(pg_dsn, sample_lake):
    """The rare row only the database refuses: bisection dead-letters it, and its feature
    sets are not remembered, so a later good copy of them is staged and stored."""
    items = [i for i in lake_items(sample_lake) if "post" in i][:20]
    bad = copy.deepcopy(items[0])
    bad["post"]["message"] = "zebracorn stampede"
    bad["_observed_at"] = "2026-11-27T00:00:00Z"
    connection = connect(pg_dsn)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE item_keywords ADD CONSTRAINT no_zebra CHECK (keyword <> 'zebracorn')"
        )
    loader = WarehouseLoader(pg_dsn)
    result = loader.load([*items, bad])
    assert (result.loaded, result.dead_lettered) == (20, 1)
    assert scalar(pg_dsn, "SELECT count(*) FROM item_keywords WHERE keyword = 'stampede'") == 0
    with connection, connection.cursor() as cursor:
        cursor.execute("ALTER TABLE item_keywords DROP CONSTRAINT no_zebra")
    connection.close()
    assert loader.load([bad]).loaded == 1  # redelivered once the database takes it
    loader.close()
    keywords = {k for (k,) in _rows(pg_dsn, "SELECT keyword FROM item_keywords")}
    assert {"zebracorn", "stampede"} <= keywords


def test_text_with_tabs_newlines_and_backslashes_is_stored_exactly(pg_dsn, sample_lake):
    """COPY text escaping, of the features and of the raw JSON (rendered from bytes)."""
    item = copy.deepcopy(next(i for i in lake_items(sample_lake) if "video" in i))
    tricky = 'tab\there\nnew line\r\\ back\\slash \\n not a newline "quoted" 🎉 \\\\N'
    item["video"]["snippet"]["description"] = tricky
    item["video"]["snippet"]["title"] = "\\N"  # COPY's NULL marker, as text
    load(pg_dsn, [item])
    ((raw, description, title),) = _rows(
        pg_dsn, f"SELECT raw, description, title FROM items WHERE item_id = '{item['video']['id']}'"
    )
    assert (raw, description, title) == (item, tricky, "\\N")


def test_a_new_connection_forgets_the_feature_sets_of_the_old_one(postgres_server, sample_lake):
    """The connection is lost and the one after it reaches another database (a failover, a
    restored backup): rows the loader saw committed on the old one are staged again, also
    for a batch prepared before the loss."""
    items = lake_items(sample_lake)[:200]
    first, second, reference = (postgres_server.new_database(migrated=True) for _ in range(3))
    target = [first]
    loader = WarehouseLoader(first, connect_fn=lambda _: connect(target[0]))
    loader.load(items)
    prepared = loader.prepare(items)  # its feature sets are known: left out
    pid = loader._connection.get_backend_pid()
    with connect(first) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    admin.close()
    target[0] = second
    loader.commit(prepared)  # a lost connection, retried on the new one
    load(reference, items)
    assert checksums(second) == checksums(reference)
    loader.close()


def test_an_item_with_a_big_integer_id_loads_when_its_batch_is_bisected_or_reconnected(
    postgres_server, sample_lake
):
    """Integers beyond 64 bits are valid ids and kept exactly; a batch read again from its
    prepared JSON (to find a refused row, or after a reconnect) must read them exactly."""
    base = next(i for i in lake_items(sample_lake) if "tweet" in i)
    big = copy.deepcopy(base)
    big["tweet"]["data"]["id"] = 10**25
    refused = copy.deepcopy(base)
    refused["tweet"]["data"]["id"] = "7"
    del refused["tweet"]["data"]["entities"]
    rng = random.Random(1)
    tag = "".join(rng.choice(string.ascii_letters) for _ in range(9000))
    refused["tweet"]["data"]["text"] = f"#{tag}"  # a hashtag too large for its index: refused
    dsn = postgres_server.new_database(migrated=True)
    result = WarehouseLoader(dsn).load([big, refused])  # bisected to find the refused row
    assert (result.loaded, result.dead_lettered) == (1, 1)
    assert scalar(dsn, "SELECT item_id FROM items") == str(10**25)
    other = postgres_server.new_database(migrated=True)
    loader = WarehouseLoader(other)
    loader.load([base])
    prepared = loader.prepare([big])
    loader._connection.close()  # the server went away between prepare and commit
    assert loader.commit(prepared).loaded == 1
    assert scalar(other, f"SELECT count(*) FROM items WHERE item_id = '{10**25}'") == 1


def test_a_malformed_item_is_dead_lettered_and_the_rest_of_its_batch_loads(pg_dsn, sample_lake):
    items = lake_items(sample_lake)[:20]
    no_id = copy.deepcopy(next(i for i in items if "video" in i))
    del no_id["video"]["id"]
    bad_time = copy.deepcopy(items[0])
    bad_time["_observed_at"] = "yesterday"
    (result,) = load(pg_dsn, [no_id, *items, bad_time], batch=1000)
    assert result.loaded == 20 and result.dead_lettered == 2
    reasons = [r for (r,) in _rows(pg_dsn, "SELECT reason FROM dead_letters ORDER BY reason")]
    assert len(reasons) == 2 and all(r.startswith("not storable: ") for r in reasons)


def test_a_facebook_attachment_whose_type_is_not_a_string_is_bad_input(pg_dsn, sample_lake):
    post = copy.deepcopy(next(i for i in lake_items(sample_lake) if "post" in i))
    post["post"]["attachments"] = {"data": [{"media_type": "video", "type": ["video_inline"]}]}
    (result,) = load(pg_dsn, [post])
    assert result.loaded + result.dead_lettered == 1


@pytest.mark.slow
def test_a_bug_in_extraction_stops_the_run_and_a_rerun_after_the_fix_loses_nothing(
    postgres_server, pg_dsn, sample_lake, tmp_path, monkeypatch
):
    """A programming error is not bad input: the run stops with exit 1 naming it, nothing
    is dead-lettered, and the checkpoint is before the failed batch, so once the bug is
    fixed a rerun stores exactly what one load of the whole lake does."""
    from click.testing import CliRunner

    from shoot2top import cli
    from shoot2top.warehouse import features

    monkeypatch.setenv("LOADER_TEST_DSN", pg_dsn)
    config = tmp_path / "pipeline.json"
    config.write_text(json.dumps({
        "name": "t",
        "state_dir": str(tmp_path / "state"),
        "checkpoint_interval_s": 0.01,
        "sources": [{"type": "lake", "name": "lake", "uri": str(sample_lake)}],
        "sinks": [{"type": "postgres", "dsn": "${LOADER_TEST_DSN}", "batch_items": 100}],
    }))  # fmt: skip
    extract_video, calls = features._EXTRACTORS["video"], []

    def buggy(*args):  # works for a while, then meets the bug
        calls.append(1)
        if len(calls) > 150:
            raise AttributeError("'NoneType' object has no attribute 'get'")
        return extract_video(*args)

    monkeypatch.setitem(features._EXTRACTORS, "video", buggy)
    ingest = ["ingest", "--config", str(config), "--quiet"]
    failed = CliRunner().invoke(cli.main, ingest)
    assert failed.exit_code == 1, failed.output
    assert "sink 'warehouse' failed: 'NoneType' object has no attribute 'get'" in failed.output
    loaded = scalar(pg_dsn, "SELECT count(*) FROM metric_snapshots")
    assert 0 < loaded < 900  # the batches before the bug are stored
    assert scalar(pg_dsn, "SELECT count(*) FROM dead_letters") == 0
    monkeypatch.setitem(features._EXTRACTORS, "video", extract_video)  # the fix
    rerun = CliRunner().invoke(cli.main, ingest)
    assert rerun.exit_code == 0, rerun.output
    whole = postgres_server.new_database(migrated=True)
    load(whole, lake_items(sample_lake))
    assert checksums(pg_dsn) == checksums(whole)
