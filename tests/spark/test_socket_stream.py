"""A real Spark Structured Streaming job (local mode) reads the socket sink while
`shoot2top ingest` replays the sample lake into it: every item arrives, counted per type."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from factories import lake_counts

REPO = Path(__file__).parents[2]
SAMPLE_LAKE = REPO / "data" / "sample-lake"
EXAMPLE = REPO / "examples" / "spark_count_by_type.py"


@pytest.mark.slow
def test_spark_counts_every_replayed_item_per_type(tmp_path):
    expected = lake_counts(SAMPLE_LAKE)
    assert sum(expected.values()) == 3000
    config = {
        "name": "to-spark",
        "state_dir": str(tmp_path / "state"),
        "sources": [{"type": "lake", "name": "sample", "uri": str(SAMPLE_LAKE)}],
        # A buffer smaller than the replay: the first 1,000 items wait for Spark, the
        # replay blocks until it connects, and the rest streams to it live.
        "sinks": [{"type": "socket", "name": "spark", "port": 0, "buffer_items": 1000}],
    }
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(config))
    ingest = subprocess.Popen(
        [sys.executable, "-m", "shoot2top.cli", "ingest", "--config", str(path), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    log: list[str] = []
    try:
        for line in ingest.stderr:
            log.append(line)
            if "no client connected" in line or "waiting for a client" in line:
                break  # the buffer is full (or the replay ended): it waits for Spark
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", "".join(log))[1])
        draining = threading.Thread(target=lambda: log.extend(ingest.stderr))
        draining.start()
        output = tmp_path / "counts.json"
        started = time.monotonic()
        spark = subprocess.run(
            [sys.executable, str(EXAMPLE), "--port", str(port), "--expect", "3000",
             "--timeout", "75", "--output", str(output)],
            capture_output=True, text=True, timeout=100,
        )  # fmt: skip
        print(f"Spark job: {time.monotonic() - started:.1f} s")
        assert spark.returncode == 0, spark.stderr[-3000:]
        ingest.wait(timeout=30)  # stdout holds only the run summary: no pipe can fill
        out = ingest.stdout.read()
        draining.join(timeout=5)
    finally:
        ingest.kill()
    assert ingest.returncode == 0, "".join(log)
    assert json.loads(output.read_text()) == {"counts": dict(sorted(expected.items())),
                                              "total": 3000}  # fmt: skip
    assert "sink spark: 3,000 items sent to 1 client(s) served, 0 dropped" in out
    assert "client 1 connected from 127.0.0.1:" in "".join(log)
    assert "(1,000 buffered items go first)" in "".join(log)
