"""End to end through the `shoot2top` command, as a user runs it: real processes,
real signals, the real S3 server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fakes.lake_store import FaultyStore
from shoot2top import codec
from shoot2top.lake.reader import Selection
from shoot2top.lake.store import LocalStore, S3Settings, open_store
from shoot2top.runtime.state import Checkpoints
from shoot2top.sources.lake import LakeSource
from terminal import Terminal
from waits import checkpointed_items, visible_files, wait_for

REPO = Path(__file__).parents[1]
CLI = [sys.executable, "-m", "shoot2top.cli"]


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, **kwargs)


def start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def keys(items) -> list[tuple[str, str]]:
    """(type, id, observed) of each item: the identity of one observation."""
    out = []
    for item in items:
        kind = next(k for k in item if not k.startswith("_"))
        payload = item[kind]
        item_id = payload["data"]["id"] if kind == "tweet" else payload["id"]
        out.append((kind, item_id, item["_observed_at"]))
    return out


def replayed(uri: str, **options) -> list[tuple[str, str]]:
    store = open_store(uri, S3Settings(endpoint_url=os.environ.get("AWS_ENDPOINT_URL")))
    return keys(item for item in LakeSource(store, **options) if item is not None)


def pipeline(tmp_path: Path, source: dict, sink: dict, name: str = "t") -> Path:
    config = {
        "name": name,
        "state_dir": str(tmp_path / "state"),
        "checkpoint_interval_s": 0.2,
        "sources": [{"type": "lake", "name": "in", **source}],
        "sinks": [{"type": "lake", "name": "out", **sink}],
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config))
    return path


def delivering(config: Path, process: subprocess.Popen) -> None:
    """Wait until the run has saved a checkpoint past its first items."""
    settings = json.loads(config.read_text())
    checkpoint = Path(settings["state_dir"]) / settings["name"] / "checkpoint.json"
    wait_for(lambda: checkpointed_items(checkpoint), "a checkpoint with progress", process=process)


def unpaced(config: Path) -> Path:
    """The same pipeline (same name, same checkpoint) replaying as fast as possible."""
    settings = json.loads(config.read_text())
    for source in settings["sources"]:
        source["pace"] = 0
    fast = config.with_name(f"fast-{config.name}")
    fast.write_text(json.dumps(settings))
    return fast


@pytest.mark.slow
def test_the_committed_sample_lake_is_what_the_generator_makes(tmp_path):
    result = run_cli("sample", "--out", str(tmp_path / "again"))
    assert result.returncode == 0, result.stderr
    assert "wrote 3,000 sample items" in result.stdout
    committed = REPO / "data" / "sample-lake"
    made = sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*"))
    assert made == sorted(p.relative_to(committed) for p in committed.rglob("*"))
    for relative in made:
        if (committed / relative).is_file():
            assert (committed / relative).read_bytes() == (
                tmp_path / "again" / relative
            ).read_bytes()


@pytest.mark.slow
def test_sample_refuses_a_lake_that_is_not_empty(sample_lake):
    result = run_cli("sample", "--out", str(sample_lake))
    assert result.returncode == 1 and "is not empty" in result.stderr


def test_ingest_stores_lake_batches_in_a_writer_thread(tmp_path, sample_lake, monkeypatch):
    """The in-process runner builds its lake sinks with `background=True` (the Storm
    adapters keep the synchronous default), and every item still arrives."""
    from shoot2top import cli
    from shoot2top.runtime import components

    built = []

    def recording(*args, **kwargs):
        built.append(components.build_sink(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(cli, "build_sink", recording)
    config = pipeline(tmp_path, {"uri": str(sample_lake)}, {"uri": str(tmp_path / "out")})
    cli.main(["ingest", "--config", str(config), "--quiet"], standalone_mode=False)
    assert [sink.background for sink in built] == [True]
    assert Counter(replayed(str(tmp_path / "out"))) == Counter(replayed(str(sample_lake)))


def test_ingest_stops_at_a_lake_store_that_keeps_failing_and_a_rerun_writes_every_item(
    tmp_path, sample_lake, monkeypatch
):
    """The out lake's disk is full from its fourth file on: the run stops with the
    store's own error naming the file, its checkpoint exactly before the unstored items;
    re-run once there is room, every item is in the lake once (counted)."""
    from shoot2top import cli
    from shoot2top.runtime import components
    from shoot2top.runtime import pipeline as runner

    monkeypatch.setattr(runner, "TICK_EVERY_S", 0.0)
    monkeypatch.setattr(runner, "BATCH_ITEMS", 100)
    out = tmp_path / "out"

    def filling(uri, s3=None, **options):  # the sink's store, with its retry policy
        if uri == str(out):
            return FaultyStore(uri, refuse=4, **options)
        return open_store(uri, s3, **options)

    monkeypatch.setattr(components, "open_store", filling)
    config = pipeline(tmp_path, {"uri": str(sample_lake)}, {"uri": str(out), "batch_items": 100})
    settings = json.loads(config.read_text())
    settings["checkpoint_interval_s"] = 1e-9  # a checkpoint after every batch
    config.write_text(json.dumps(settings))
    ingest = ["ingest", "--config", str(config), "--quiet"]
    with pytest.raises(cli.Failure) as failed:
        cli.main(ingest, standalone_mode=False)
    assert re.fullmatch(
        rf"t: sink 'out' failed: cannot write {re.escape(str(out))}/[^/]+/0000003: "
        r"No space left on device; items after the last checkpoint will be replayed on the "
        r"next run",
        failed.value.message,
    )
    expected = replayed(str(sample_lake))
    assert replayed(str(out)) == expected[:300]  # files 0-2
    checkpoint = Checkpoints(tmp_path / "state" / "t" / "checkpoint.json").load()["in"]
    assert replayed(str(sample_lake), resume=checkpoint) == expected[300:]

    monkeypatch.setattr(components, "open_store", open_store)  # room on the disk again
    cli.main(ingest, standalone_mode=False)
    assert Counter(replayed(str(out))) == Counter(expected)
    assert len(expected) == 900 and set(Counter(expected).values()) == {1}


@pytest.mark.slow
def test_ingest_with_limit_then_resume_delivers_every_item_exactly_once(tmp_path, sample_lake):
    config = pipeline(tmp_path, {"uri": str(sample_lake)}, {"uri": str(tmp_path / "out")})
    first = run_cli("ingest", "--config", str(config), "--limit", "250")
    assert first.returncode == 0, first.stderr
    assert "250 items" in first.stdout and "stopped by limit" in first.stdout
    second = run_cli("ingest", "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert "650 items" in second.stdout and "resuming t" in second.stderr
    assert Counter(replayed(str(tmp_path / "out"))) == Counter(replayed(str(sample_lake)))


@pytest.mark.slow
def test_sigterm_flushes_every_sink_and_checkpoints(tmp_path, sample_lake):
    out = tmp_path / "out"
    config = pipeline(
        tmp_path,
        {"uri": str(sample_lake), "pace": 3600},  # three days of items in ~72 s
        {"uri": str(out), "batch_age_s": 3600, "batch_items": 100000},
    )
    process = start_cli("ingest", "--config", str(config), "--quiet")
    delivering(config, process)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "stopped by SIGTERM" in stdout
    delivered = int(stdout.split(":")[1].split()[0].replace(",", ""))
    assert 0 < delivered < 900
    assert len(replayed(str(out))) == delivered  # the open batch was flushed
    rest = run_cli("ingest", "--config", str(unpaced(config)), "--quiet")
    assert rest.returncode == 0, rest.stderr
    assert Counter(replayed(str(out))) == Counter(replayed(str(sample_lake)))


@pytest.mark.slow
def test_sigint_stops_like_sigterm(tmp_path, sample_lake):
    out = tmp_path / "out"
    config = pipeline(tmp_path, {"uri": str(sample_lake), "pace": 3600}, {"uri": str(out)})
    process = start_cli("ingest", "--config", str(config), "--quiet")
    delivering(config, process)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "stopped by SIGINT" in stdout


@pytest.mark.slow
def test_sigkill_leaves_only_complete_files_and_a_rerun_loses_nothing(tmp_path, sample_lake):
    out = tmp_path / "out"
    config = pipeline(
        tmp_path,
        {"uri": str(sample_lake), "pace": 3600},
        {"uri": str(out), "batch_items": 7, "fsync": False},
    )
    process = start_cli("ingest", "--config", str(config), "--quiet")
    wait_for(lambda: visible_files(out) >= 3, "three batch files", process=process)
    process.kill()
    process.wait(timeout=10)
    verify = run_cli("lake", "verify", str(out))
    assert verify.returncode == 0, verify.stdout
    assert len(replayed(str(out))) > 0
    rerun = run_cli("ingest", "--config", str(unpaced(config)), "--quiet")
    assert rerun.returncode == 0, rerun.stderr
    # At least once: every sample item is in the lake; only the tail since the last
    # checkpoint may appear twice.
    assert set(replayed(str(out))) == set(replayed(str(sample_lake)))


@pytest.mark.slow
def test_three_writer_processes_share_a_partition_and_a_glob_replays_it_exactly_once(
    tmp_path, sample_lake, s3_server, s3_uri
):
    """Three ingest processes, no coordination, one S3 lake, day rotation."""
    configs = []
    for index, kind in enumerate(("tweet", "video", "post")):
        source_lake = tmp_path / f"in-{kind}"
        store = LocalStore(source_lake)
        # Each writer gets one platform's items: disjoint inputs, like three ingest boxes.
        items = [i for i in LakeSource(LocalStore(sample_lake)) if i and kind in i]
        store.create(
            "2026-11-20T00:00:00-" + f"{index:08d}-0000-4000-8000-000000000000",
            "0000000",
            codec.dumps(items),
        )
        configs.append(
            pipeline(
                tmp_path,
                {"uri": str(source_lake)},
                {
                    "uri": s3_uri,
                    "rotation": "day",
                    "batch_items": 50,
                    "s3": {"endpoint_url": s3_server.endpoint},
                },
                name=f"writer-{kind}",
            )
        )
    day_before = datetime.now(UTC).strftime("%Y-%m-%d")
    processes = [start_cli("ingest", "--config", str(config), "--quiet") for config in configs]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    store = open_store(s3_uri, S3Settings(endpoint_url=s3_server.endpoint))
    folders = store.list_folders()
    # Day rotation: every writer starts its folder at the day's boundary, so the three
    # share one partition (two, only if the run straddled midnight UTC).
    days = sorted({day_before, today})
    assert len(folders) == 3 and all(f[:10] in days and f[10:20] == "T00:00:00-" for f in folders)
    items = [
        item
        for day in days
        for item in LakeSource(store, selection=Selection(glob=f"{day}T00:00:00-*"))
        if item is not None
    ]
    assert Counter(keys(items)) == Counter(replayed(str(sample_lake)))
    if len(days) == 1:  # one partition: the glob merges the writers by time
        times = [i["_observed_at"] for i in items]
        assert times == sorted(times)


@pytest.mark.slow
def test_an_s3_outage_fails_the_run_clearly_and_a_rerun_loses_nothing(
    tmp_path, sample_lake, s3_credentials
):
    from s3server import start_s3_server

    server = start_s3_server(tmp_path / "weed")
    try:
        server.client().create_bucket(Bucket="outage")
        config = pipeline(
            tmp_path,
            {"uri": str(sample_lake), "pace": 3600},
            {
                "uri": "s3://outage/lake",
                "batch_items": 20,
                "s3": {"endpoint_url": server.endpoint, "max_attempts": 2},
                "max_retry_s": 2,
            },
        )
        process = start_cli("ingest", "--config", str(config), "--quiet")
        bucket = server.client()
        wait_for(
            lambda: bucket.list_objects_v2(Bucket="outage").get("KeyCount", 0) >= 2,
            "two batch files on S3", process=process,
        )  # fmt: skip
        server.stop()
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 1
        assert "S3 put s3://outage/lake/" in stderr and "will be replayed on the next run" in stderr
        server.start()
        rerun = run_cli("ingest", "--config", str(unpaced(config)), "--quiet")
        assert rerun.returncode == 0, rerun.stderr
        lake = open_store("s3://outage/lake", S3Settings(endpoint_url=server.endpoint))
        got = keys(i for i in LakeSource(lake) if i is not None)
        assert set(got) == set(replayed(str(sample_lake)))
    finally:
        server.stop()


@pytest.mark.slow
def test_a_zero_duration_is_refused_not_run_to_the_end():
    """`--duration 0` ran a whole replay when it ended before the first deadline check."""
    from click.testing import CliRunner

    from shoot2top.cli import main

    result = CliRunner().invoke(main, ["ingest", "--config", "x.json", "--duration", "0"])
    assert result.exit_code == 2 and "0.0 is not in the range x>0" in result.output


def test_a_bad_config_exits_non_zero_naming_the_key_and_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "x", "sources": [{"type": "lake"}], "sinks": []}))
    result = run_cli("ingest", "--config", str(path))
    assert result.returncode == 1
    assert f"{path}: sources[0].uri: missing key" in result.stderr
    assert "sinks: List should have at least 1 item" in result.stderr


@pytest.mark.slow
def test_a_socket_sink_whose_port_is_taken_is_one_line_naming_it(tmp_path, sample_lake):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = pipeline(tmp_path, {"uri": str(sample_lake)}, {"uri": str(tmp_path / "o")})
        settings = json.loads(config.read_text())
        settings["sinks"].append({"type": "socket", "name": "feed", "port": port})
        config.write_text(json.dumps(settings))
        result = run_cli("ingest", "--config", str(config))
    assert result.returncode == 1
    assert f"'feed': cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_mistyped_source_lake_is_an_error_naming_it(tmp_path):
    config = pipeline(tmp_path, {"uri": str(tmp_path / "nothing")}, {"uri": str(tmp_path / "o")})
    result = run_cli("ingest", "--config", str(config))
    assert result.returncode == 1
    assert f"source 'in' failed: lake root {tmp_path / 'nothing'} does not exist" in result.stderr
    verify = run_cli("lake", "verify", str(tmp_path / "nothing"))
    assert verify.returncode == 1 and "does not exist" in verify.stderr


@pytest.mark.slow
def test_strict_replay_stops_at_a_damaged_file_with_its_name(tmp_path, sample_lake):
    lake = tmp_path / "damaged"
    store = LocalStore(lake)
    store.create("2026-11-20T00:00:00-00000000-0000-4000-8000-000000000000", "0000000", b"[{")
    config = pipeline(tmp_path, {"uri": str(lake), "strict": True}, {"uri": str(tmp_path / "o")})
    result = run_cli("ingest", "--config", str(config))
    assert result.returncode == 1
    assert "source 'in' failed" in result.stderr and "0000000: malformed JSON" in result.stderr


@pytest.mark.slow
def test_lake_ls_stats_and_verify(sample_lake):
    listing = run_cli("lake", "ls", str(sample_lake), "--json")
    partitions = json.loads(listing.stdout)
    assert [p["writers"] for p in partitions] == [3, 3, 3]
    stats = json.loads(run_cli("lake", "stats", str(sample_lake), "--json").stdout)
    assert stats["items"] == 900 and sum(stats["per_type"].values()) == 900
    assert stats["observed"][0] >= "2026-11-20T00:00:00Z"
    one_day = json.loads(
        run_cli("lake", "stats", str(sample_lake), "--glob", "2026-11-21T*", "--json").stdout
    )
    assert one_day["partitions"] == 1 and 0 < one_day["items"] < 900
    assert run_cli("lake", "verify", str(sample_lake)).returncode == 0


def test_stats_of_an_empty_lake_show_no_time_range(tmp_path):
    from click.testing import CliRunner

    from shoot2top.cli import main

    result = CliRunner().invoke(main, ["lake", "stats", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "0 items: none" in result.output
    assert "observed –" in result.output and "created  –" in result.output
    assert "None" not in result.output


def test_lake_times_are_taken_as_the_lake_prints_them():
    """`lake stats` prints `observed 2026-11-20T00:16:58Z ..`: --since takes that back
    (with Z, an offset, or naive = UTC), as `trends detect` does."""
    from click.testing import CliRunner

    from shoot2top.cli import main

    sample = str(REPO / "data" / "sample-lake")
    counts = []
    for since in ("2026-11-21T00:00:00Z", "2026-11-21T01:00:00+01:00", "2026-11-21"):
        result = CliRunner().invoke(main, ["lake", "stats", sample, "--since", since, "--json"])
        assert result.exit_code == 0, result.output
        counts.append(json.loads(result.output)["items"])
    assert counts[0] == counts[1] == counts[2] and 0 < counts[0] < 3000
    wrong = CliRunner().invoke(main, ["lake", "ls", sample, "--until", "yesterday"])
    assert wrong.exit_code == 2 and "'yesterday' is not an ISO-8601 time" in wrong.output


def test_a_time_range_that_selects_nothing_is_an_error_not_an_empty_answer():
    """`lake ls` lists folders, which a time range does not choose (it was ignored); an
    empty range (since at or after until) was 0 items, as the config refuses it."""
    from click.testing import CliRunner

    from shoot2top.cli import main

    sample = str(REPO / "data" / "sample-lake")
    ls = CliRunner().invoke(main, ["lake", "ls", sample, "--since", "2026-11-22"])
    assert ls.exit_code == 1 and "--since/--until: lake ls lists partition folders" in ls.output
    for command in ("stats", "verify"):
        args = ["lake", command, sample, "--since", "2026-11-22", "--until", "2026-11-21T08:00Z"]
        empty = CliRunner().invoke(main, args)
        assert empty.exit_code == 1, empty.output
        assert (
            "--since 2026-11-22T00:00:00Z must be before --until 2026-11-21T08:00:00Z"
            in empty.output
        )


def test_a_reader_that_leaves_early_is_no_error():
    """`shoot2top lake stats … | head -1`: the pipe breaks after the first line; that is
    the reader's choice, not an "unexpected BrokenPipeError" to report."""
    args = [*CLI, "lake", "stats", str(REPO / "data" / "sample-lake")]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the command writes anything
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 1
    assert stderr == ""


def test_stdout_closed_only_when_its_reader_has_gone(monkeypatch):
    from shoot2top.cli import stdout_closed

    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        assert not stdout_closed()  # a broken pipe elsewhere (a socket) is still an error
        os.close(read_end)
        assert stdout_closed()


@pytest.mark.slow
def test_verify_reports_gaps_damage_invalid_items_and_strays(tmp_path):
    store = LocalStore(tmp_path / "lake")
    folder = "2026-11-20T00:00:00-00000000-0000-4000-8000-000000000000"
    store.create(folder, "0000000", b"[]")
    store.create(folder, "0000002", b'[{"reel": {}}]')
    store.create(folder, "0000003", b"[{")
    store.create("junk", "0000000", b"[]")
    result = run_cli("lake", "verify", str(tmp_path / "lake"), "--json")
    assert result.returncode == 1
    problems = {
        (p["problem"], p["where"].rsplit("/", 1)[-1]) for p in json.loads(result.stdout)["problems"]
    }
    assert problems == {
        ("stray", "junk"),
        ("gap", folder),
        ("invalid item", "0000002 item 0"),
        ("damaged", "0000003"),
    }


@pytest.mark.slow
def test_lake_tools_work_on_s3(s3_server, s3_uri, sample_lake):
    src, dst = (
        LocalStore(sample_lake),
        open_store(s3_uri, S3Settings(endpoint_url=s3_server.endpoint)),
    )
    for folder in src.list_folders():
        for stored in src.list_files(folder):
            dst.create(folder, stored.name, src.read(folder, stored.name))
    env = {**os.environ, "AWS_ENDPOINT_URL": s3_server.endpoint}
    stats = run_cli("lake", "stats", s3_uri, "--json", env=env)
    assert json.loads(stats.stdout)["items"] == 900
    assert run_cli("lake", "verify", s3_uri, env=env).returncode == 0


@pytest.mark.slow
def test_every_missing_credential_is_named_at_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_TOKEN", "_API_KEY"))}
    env["SHOOT2TOP_STATE"] = str(tmp_path / "state")
    result = run_cli("ingest", "--config", "pipelines/ingest.json", cwd=REPO, env=env)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert (
        "environment variables not set for secrets: X_BEARER_TOKEN (source 'x'.bearer_token), "
        "YOUTUBE_API_KEY (source 'youtube'.api_key), "
        "FACEBOOK_ACCESS_TOKEN (source 'facebook'.access_token)"
    ) in result.stderr
    one_set = run_cli("ingest", "--config", "pipelines/ingest.json", cwd=REPO,
                      env={**env, "X_BEARER_TOKEN": "t", "FACEBOOK_ACCESS_TOKEN": "t"})  # fmt: skip
    assert "source 'youtube'.api_key: environment variable YOUTUBE_API_KEY" in one_set.stderr
    assert "X_BEARER_TOKEN" not in one_set.stderr
    assert not (tmp_path / "state").exists()  # refused before anything was touched


@pytest.mark.slow
def test_an_unreachable_api_is_one_warning_not_one_per_retry(tmp_path):
    """The X API refusing connections for 6 s means about seven retries: the log shows
    the first and, at the end, the last with how many there were."""
    config = tmp_path / "x.json"
    config.write_text(json.dumps({
        "name": "xdown", "state_dir": str(tmp_path / "state"),
        "sources": [{"type": "x", "bearer_token": "${X_BEARER_TOKEN}",
                     "api_url": "http://127.0.0.1:9", "topics": {"football": "football"}}],
        "sinks": [{"type": "lake", "uri": str(tmp_path / "lake")}],
    }))  # fmt: skip
    result = run_cli("ingest", "--config", str(config), "--duration", "6",
                     env={**os.environ, "X_BEARER_TOKEN": "secret-token"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert "retry waits" in result.stdout
    retries = int(result.stdout.split(" retry waits")[0].rsplit(" ", 1)[1])
    assert retries >= 4 and len(warnings) == 2
    assert f"[{retries - 1} similar message(s) in the last" in warnings[-1]


@pytest.mark.slow
def test_finite_work_shows_its_percentage_and_eta_on_a_terminal(tmp_path, sample_lake):
    terminal = Terminal([*CLI, "sample", "--out", str(tmp_path / "big"), "--items", "30000"])
    assert terminal.wait() == 0, terminal.text
    assert "of 30,000 items written" in terminal.text and "ETA" in terminal.text
    assert "%" in terminal.text
    config = pipeline(
        tmp_path, {"uri": str(sample_lake), "pace": 20000}, {"uri": str(tmp_path / "o")}
    )
    replay = Terminal([*CLI, "ingest", "--config", str(config), "--duration", "3"])
    assert replay.wait() == 0, replay.text
    assert re.search(r"B of [\d.]+ [KM]B read \(\d+ %\), ETA \d+:\d\d:\d\d", replay.text)


@pytest.mark.slow
def test_the_wrapper_runs_shoot2top_in_a_new_shell(tmp_path):
    """Without activating the virtualenv, from any directory."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([str(REPO / "scripts" / "shoot2top"), "--help"], cwd=tmp_path,
                            capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert result.returncode == 0 and "SHOOT2TOP_STATE" in result.stdout
