"""Count streamed items per type (tweet, video, post) with Spark Structured Streaming.

Reads the socket sink (newline-delimited JSON, one item per line) through Spark's
``socket`` source, takes each item's type key (its one top-level key not starting with
``_``) and keeps a running count per type::

    shoot2top ingest --config pipelines/sample-to-socket.json --no-resume   # port 9999
    python examples/spark_count_by_type.py --port 9999                       # then this

Start the sink first: Spark's socket source connects when the query starts and fails if
nothing listens; it reads only what is sent after it connected (the sink buffers until
then). The counts are printed whenever they change. With ``--expect N`` the job stops
once N items are counted; ``--output F`` writes the final counts as JSON to F. Exit
status 0 when the expected count was reached (or none was given and the stream ended by
Ctrl-C), 1 on a timeout or a failed query.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

TYPE_KEY = "try_element_at(filter(json_object_keys(value), k -> left(k, 1) != '_'), 1)"
"""The item's type key; NULL for a line that is not a JSON object (counted as invalid)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="the socket sink's host")
    parser.add_argument("--port", type=int, default=9999, help="the socket sink's port")
    parser.add_argument("--expect", type=int, help="stop once this many items are counted")
    parser.add_argument("--timeout", type=float, help="give up after this many seconds")
    parser.add_argument("--output", type=Path, help="write the final counts here (JSON)")
    parser.add_argument("--master", default="local[2]", help="Spark master URL")
    return parser.parse_args(argv)


def spark_session(master: str) -> SparkSession:
    """A small local session, bound to loopback, without the web UI."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master(master)
        .appName("shoot2top-count-by-type")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    spark = spark_session(args.master)
    lines = (
        spark.readStream.format("socket").option("host", args.host).option("port", args.port).load()
    )
    counts = (
        lines.select(F.coalesce(F.expr(TYPE_KEY), F.lit("invalid")).alias("type"))
        .groupBy("type")
        .count()
    )
    query = (
        counts.writeStream.outputMode("complete")
        .format("memory")
        .queryName("counts_by_type")
        .start()
    )
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    latest: dict[str, int] = {}
    status = 0
    try:
        while True:
            query.awaitTermination(0.5)
            if query.exception() is not None:
                print(f"the streaming query failed: {query.exception()}", file=sys.stderr)
                status = 1
                break
            rows = spark.sql("SELECT type, count FROM counts_by_type").collect()
            counts_now = {row["type"]: row["count"] for row in rows}
            if counts_now != latest:
                latest = counts_now
                print(json.dumps(dict(sorted(latest.items()))), flush=True)
            if args.expect is not None and sum(latest.values()) >= args.expect:
                break
            if deadline is not None and time.monotonic() >= deadline:
                print(
                    f"timed out after {args.timeout:g} s with {sum(latest.values())} items",
                    file=sys.stderr,
                )
                status = 1
                break
    except KeyboardInterrupt:
        pass
    finally:
        query.stop()
        if args.output is not None:
            result = {"counts": dict(sorted(latest.items())), "total": sum(latest.values())}
            args.output.write_text(json.dumps(result))
        spark.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
