"""The ``shoot2top`` command line: ingest, lake tools and sample data.

Results go to stdout, progress and diagnostics to stderr. Every failure exits non-zero
with one line saying what went wrong and where.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from shoot2top import codec
from shoot2top.components import build_sink, build_source
from shoot2top.config import ConfigError, PipelineConfig, load_config
from shoot2top.deadletter import DeadLetters
from shoot2top.lake.inspect import list_partitions, scan
from shoot2top.lake.reader import Selection
from shoot2top.lake.store import LakeError, S3Settings, open_store
from shoot2top.pipeline import Pipeline, PipelineError, RunSummary, stop_on_signals
from shoot2top.progress import ProgressReporter, human_bytes
from shoot2top.state import Checkpoints, StateError, StateLock, pipeline_dir
from shoot2top.warehouse.database import (
    WarehouseError,
    connect,
    embedded_dsn,
    resolve_dsn,
    stop_embedded,
)
from shoot2top.warehouse.render import FORMATS, chart, render
from shoot2top.warehouse.reports import (
    latest_observation,
    live_report,
    load_series,
    publisher_report,
    video_report,
)
from shoot2top.warehouse.schema import latest_version, migrate, require_current

log = logging.getLogger("shoot2top")


class Failure(click.ClickException):
    """A user-facing error: printed as one line, exit status 1."""


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING…")
def main(log_level: str) -> None:
    """Shoot2Top: ingest social video posts, archive them in a lake, replay them."""
    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    for chatty in ("botocore", "boto3", "urllib3", "s3transfer"):
        # Their DEBUG output carries request headers, credentials included.
        logging.getLogger(chatty).setLevel(max(logging.INFO, logging.getLogger().level))


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--limit", type=click.IntRange(min=1), help="Stop after N items.")
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after S seconds.")
@click.option("--no-resume", is_flag=True, help="Ignore the checkpoint and start over.")
@click.option("--quiet", is_flag=True, help="No progress display.")
def ingest(
    config_path: str, limit: int | None, duration: float | None, no_resume: bool, quiet: bool
) -> None:
    """Run a pipeline config in-process: every source into every sink."""
    try:
        config = load_config(config_path)
        home = pipeline_dir(config.state_dir, config.name)
    except (ConfigError, StateError) as error:
        raise Failure(str(error)) from None
    lock = StateLock(home)
    dead_letters = DeadLetters(home / "deadletter.jsonl")
    try:
        lock.acquire()
        _ingest(config, config_path, home, dead_letters, limit, duration, no_resume, quiet)
    except StateError as error:
        raise Failure(str(error)) from None
    finally:
        dead_letters.close()
        lock.release()


def _ingest(
    config: PipelineConfig,
    config_path: str,
    home: Path,
    dead_letters: DeadLetters,
    limit: int | None,
    duration: float | None,
    no_resume: bool,
    quiet: bool,
) -> None:
    """The run itself, while this process holds the pipeline's state lock."""
    checkpoints = Checkpoints(home / "checkpoint.json")
    checkpoints.remove_stale_temp_files()
    resume = {} if no_resume else checkpoints.load()
    if resume:
        log.info("resuming %s from %s", config.name, checkpoints.path)
    log.debug("config: %s", config.redacted())
    try:
        sources = [build_source(s, resume.get(s.name), dead_letters) for s in config.sources]
        sinks = [build_sink(sink, config.state_dir, dead_letters) for sink in config.sinks]
    except ConfigError as error:  # a secret not set: say in which file it is referenced
        raise Failure(f"{config_path}: {error}") from None
    except (LakeError, WarehouseError, ValueError) as error:
        raise Failure(str(error)) from None
    pipeline = Pipeline(
        sources,
        sinks,
        checkpoints=checkpoints,
        checkpoint_interval_s=config.checkpoint_interval_s,
        progress=ProgressReporter(config.name, enabled=not quiet),
        dead_letters=dead_letters,
    )
    try:
        with stop_on_signals(pipeline):
            summary = pipeline.run(limit=limit, duration_s=duration)
    except PipelineError as error:
        raise Failure(f"{config.name}: {error}") from None
    _print_summary(config.name, summary, dead_letters)


def _print_summary(name: str, summary: RunSummary, dead_letters: DeadLetters) -> None:
    types = ", ".join(f"{kind} {count:,}" for kind, count in sorted(summary.per_type.items()))
    click.echo(
        f"{name}: {summary.items:,} items ({types or 'none'}) in {summary.seconds:.1f} s, "
        f"{summary.items_per_s:,.0f} items/s; stopped by {summary.stopped_by}"
    )
    for source, report in summary.source_reports.items():
        click.echo(f"  source {source}: {report}")
    for sink, report in summary.sink_reports.items():
        click.echo(f"  sink {sink}: {report}")
    if dead_letters.count:
        click.echo(f"  dead-lettered {dead_letters.count} file(s)/item(s): see {dead_letters.path}")


@main.group()
def lake() -> None:
    """Inspect a data lake (a local path or s3://bucket/prefix)."""


def _selection_options(command: Any) -> Any:
    options = [
        click.argument("uri"),
        click.option("--glob", help="Partition folders to select, e.g. '2015-12-18T00:00:00-*'."),
        click.option("--since", type=click.DateTime(), help="Observed at or after (UTC)."),
        click.option("--until", type=click.DateTime(), help="Observed before (UTC)."),
        click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="S3 endpoint."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _open(uri: str, endpoint_url: str | None) -> Any:
    try:
        return open_store(uri, S3Settings(endpoint_url=endpoint_url))
    except LakeError as error:
        raise Failure(str(error)) from None


def _selection(glob: str | None, since: datetime | None, until: datetime | None) -> Selection:
    from datetime import UTC

    def utc(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.replace(tzinfo=UTC)

    return Selection(glob, utc(since), utc(until))


@lake.command("ls")
@_selection_options
def lake_ls(
    uri: str, glob: str | None, since: Any, until: Any, endpoint_url: Any, as_json: bool
) -> None:
    """Partitions with their writers, files and bytes (listing only, no reads)."""
    store = _open(uri, endpoint_url)
    try:
        partitions = list_partitions(store, _selection(glob, since, until))
    except LakeError as error:
        raise Failure(str(error)) from None
    if as_json:
        click.echo(codec.dumps([vars(p) for p in partitions]).decode())
        return
    click.echo(f"{'partition':<20} {'writers':>7} {'files':>7} {'bytes':>12}")
    for p in partitions:
        click.echo(f"{p.start:<20} {p.writers:>7} {p.files:>7} {human_bytes(p.bytes):>12}")
    click.echo(f"{len(partitions)} partition(s) in {store.uri}")


def _scan(uri: str, glob: Any, since: Any, until: Any, endpoint_url: Any) -> Any:
    store = _open(uri, endpoint_url)
    try:
        return scan(store, _selection(glob, since, until))
    except LakeError as error:
        raise Failure(str(error)) from None


@lake.command("stats")
@_selection_options
def lake_stats(
    uri: str, glob: Any, since: Any, until: Any, endpoint_url: Any, as_json: bool
) -> None:
    """Items per type, time range and bytes of the selected partitions (reads every file)."""
    stats = _scan(uri, glob, since, until, endpoint_url)
    report = stats.as_json()
    if as_json:
        click.echo(codec.dumps(report).decode())
        return
    click.echo(
        f"{report['partitions']} partition(s), {report['writers']} writer(s), "
        f"{report['files']} file(s), {human_bytes(report['bytes'])}"
    )
    types = ", ".join(f"{kind} {count:,}" for kind, count in report["per_type"].items())
    click.echo(f"{report['items']:,} items: {types or 'none'}")
    click.echo(f"observed {report['observed'][0]} .. {report['observed'][1]}")
    click.echo(f"created  {report['created'][0]} .. {report['created'][1]}")
    if report["problems"]:
        click.echo(f"{len(report['problems'])} problem(s): run `shoot2top lake verify` for details")


@lake.command("verify")
@_selection_options
def lake_verify(
    uri: str, glob: Any, since: Any, until: Any, endpoint_url: Any, as_json: bool
) -> None:
    """Sequence gaps, unreadable files and non-conforming items; exit 1 if any."""
    stats = _scan(uri, glob, since, until, endpoint_url)
    if as_json:
        click.echo(codec.dumps({"ok": not stats.problems, "problems": stats.problems}).decode())
    else:
        for problem in stats.problems:
            click.echo(f"{problem['problem']:<12} {problem['where']}: {problem['detail']}")
        click.echo(
            f"{stats.files} file(s), {stats.items:,} valid item(s), "
            f"{len(stats.problems)} problem(s)"
        )
    if stats.problems:
        sys.exit(1)


@main.group()
def warehouse() -> None:
    """Create, upgrade and run the PostgreSQL warehouse."""


def _dsn_options(command: Any) -> Any:
    command = click.option(
        "--state-dir",
        default=".shoot2top",
        show_default=True,
        envvar="SHOOT2TOP_STATE",
        help="Where the embedded PostgreSQL lives.",
    )(command)
    return click.option(
        "--dsn", envvar="SHOOT2TOP_DSN", help="A PostgreSQL DSN (default: embedded server)."
    )(command)


def _warehouse_dsn(dsn: str | None, state_dir: str) -> str:
    try:
        resolved = resolve_dsn(dsn, state_dir)
    except WarehouseError as error:
        raise Failure(str(error)) from None
    if not dsn:
        click.echo(f"embedded PostgreSQL: {resolved}", err=True)
    return resolved


@warehouse.command("init")
@_dsn_options
def warehouse_init(dsn: str | None, state_dir: str) -> None:
    """Create the schema, or bring it up to date (idempotent; same as migrate)."""
    _migrate(_warehouse_dsn(dsn, state_dir))


@warehouse.command("migrate")
@_dsn_options
def warehouse_migrate(dsn: str | None, state_dir: str) -> None:
    """Apply pending schema migrations (idempotent)."""
    _migrate(_warehouse_dsn(dsn, state_dir))


def _migrate(dsn: str) -> None:
    try:
        connection = connect(dsn)
        try:
            done = migrate(connection)
        finally:
            connection.close()
    except WarehouseError as error:
        raise Failure(str(error)) from None
    for migration in done:
        click.echo(f"applied {migration.version:04d}_{migration.name}")
    click.echo(f"warehouse schema at version {latest_version()}")


@warehouse.command("start")
@click.option("--state-dir", default=".shoot2top", show_default=True, envvar="SHOOT2TOP_STATE")
def warehouse_start(state_dir: str) -> None:
    """Start the embedded PostgreSQL of this state directory and print its DSN."""
    try:
        click.echo(embedded_dsn(state_dir))
    except WarehouseError as error:
        raise Failure(str(error)) from None


@warehouse.command("stop")
@click.option("--state-dir", default=".shoot2top", show_default=True, envvar="SHOOT2TOP_STATE")
def warehouse_stop(state_dir: str) -> None:
    """Stop the embedded PostgreSQL of this state directory."""
    click.echo(stop_embedded(state_dir))


@main.command()
@click.argument("kind", type=click.Choice(["videos", "publishers", "live"]))
@_dsn_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--platform", type=click.Choice(["x", "youtube", "facebook"]), help="One platform.")
@click.option("--publisher", help="One publisher id.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N rows.")
@click.option("--all-media", is_flag=True, help="videos: include items that are not videos.")
@click.option(
    "--hours", default=24.0, show_default=True, help="live: published in the last N hours."
)
@click.option(
    "--now",
    "now_text",
    default="now",
    show_default=True,
    help="live: the moment to report at (ISO-8601 UTC), or 'latest' for the newest observation.",
)
@click.option("--chart", "chart_path", type=click.Path(dir_okay=False), help="Write a PNG chart.")
@click.option("--item", "chart_item", help="--chart: the item to plot (default: the first row).")
def report(
    kind: str,
    dsn: str | None,
    state_dir: str,
    fmt: str,
    platform: str | None,
    publisher: str | None,
    limit: int | None,
    all_media: bool,
    hours: float,
    now_text: str,
    chart_path: str | None,
    chart_item: str | None,
) -> None:
    """Reports from the warehouse: videos after the fact, publishers, live performance."""
    try:
        connection = connect(_warehouse_dsn(dsn, state_dir))
        try:
            require_current(connection)
            now = _report_time(now_text, connection)
            series = load_series(connection, platform=platform, publisher=publisher, until=now)
        finally:
            connection.close()
    except WarehouseError as error:
        raise Failure(str(error)) from None
    if kind == "videos":
        rows = video_report(series, include_all_media=all_media)
        title = "Videos after the fact"
    elif kind == "publishers":
        rows = publisher_report(series)
        title = "Publishers"
    else:
        assert now is not None
        from shoot2top.recommend.forecast import add_forecasts

        rows = add_forecasts(live_report(series, now, hours=hours), series, now)
        title = f"Live: published in the {hours:g} h before {now:%Y-%m-%d %H:%M} UTC"
    rows = rows[:limit] if limit else rows
    click.echo(render(rows, fmt, title), nl=fmt != "table")
    if chart_path:
        click.echo(f"chart: {_chart(kind, series, rows, chart_path, chart_item)}", err=True)


def _report_time(text: str, connection: Any) -> datetime | None:
    if text == "now":
        return datetime.now(UTC)
    if text == "latest":
        return latest_observation(connection)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Failure(f"--now {text!r} is not 'now', 'latest' or an ISO-8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _chart(
    kind: str, series: list[Any], rows: list[dict[str, Any]], path: str, item_id: str | None
) -> Any:
    if not rows and not item_id:
        raise Failure("nothing to chart: the report has no rows")
    if kind == "publishers":
        wanted = item_id or rows[0]["publisher_id"]
        items = [s for s in series if s.publisher_id == wanted]
        if not items:
            raise Failure(f"no publisher {wanted!r} in the warehouse")
        return chart(path, items, items, title=f"{items[0].publisher_name or wanted}: all items")
    wanted = item_id or rows[0]["item_id"]
    item = next((s for s in series if s.item_id == wanted), None)
    if item is None:
        raise Failure(f"no item {wanted!r} in the warehouse")
    peers = [
        s
        for s in series
        if (s.platform, s.publisher_id, s.media_type)
        == (item.platform, item.publisher_id, item.media_type)
        and s is not item
    ]
    return chart(path, item, peers, title=f"{item.item_id}: {item.title or ''}"[:80])


@main.command()
@click.option(
    "--out", "out_uri", required=True, help="Lake to write: a path or s3://bucket/prefix."
)
@click.option("--seed", default=7, show_default=True, help="Same seed, same lake.")
@click.option("--items", default=3000, show_default=True, type=click.IntRange(min=0))
@click.option("--rotation", type=click.Choice(["hour", "day"]), default="day", show_default=True)
@click.option("--gzip", "compress", is_flag=True, help="Gzip every micro-batch.")
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="S3 endpoint.")
def sample(
    out_uri: str, seed: int, items: int, rotation: str, compress: bool, endpoint_url: str | None
) -> None:
    """Generate a deterministic sample lake: X, YouTube and Facebook items in API shapes."""
    from shoot2top.sample_lake import write_sample_lake

    store = _open(out_uri, endpoint_url)
    try:
        if not store.is_empty():
            raise Failure(f"{store.uri} is not empty; the sample goes into a new lake")
        counts = write_sample_lake(
            store, seed=seed, items=items, rotation=rotation, compress=compress
        )
    except LakeError as error:
        raise Failure(str(error)) from None
    types = ", ".join(f"{kind} {count:,}" for kind, count in sorted(counts.items()))
    click.echo(f"wrote {sum(counts.values()):,} sample items ({types}) to {store.uri}")


# ----------------------------------------------------------------------------- recommend
# The recommend modules (and numpy) are imported by the commands that use them: the
# ingest and lake commands start without them.


def _recommend_options(command: Any) -> Any:
    options = [
        click.option("--publisher", required=True, help="Publisher id (or handle)."),
        click.option("--platform", type=click.Choice(["x", "youtube", "facebook"])),
        click.option(
            "--now", "now_text", default="now", show_default=True,
            help="The moment to recommend at: ISO-8601 UTC, 'now', or 'latest' "
            "(the newest observation, for replays and the sample).",
        ),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                     show_default=True),
        click.option("--limit", type=click.IntRange(min=1), help="At most N rows."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return _dsn_options(command)


_trends_option = click.option(
    "--trends",
    "trends_file",
    type=click.Path(dir_okay=False),
    help="Trend records (JSON or JSON lines) instead of the warehouse's trends table.",
)


def _recommend_data(
    dsn: str | None,
    state_dir: str,
    publisher: str,
    platform: str | None,
    now_text: str,
    trends_file: str | None = None,
    trends_required: bool = False,
    every_platform: bool = False,
) -> tuple[Any, datetime, Any, list[Any]]:
    """(publisher, moment, catalog as of then, active trends) for a recommend command:
    the catalog of the publisher's platform, or of every platform."""
    from shoot2top.recommend.catalog import RecommendError, find_publisher, load_catalog
    from shoot2top.recommend.trends import (
        TrendsUnavailable,
        active_trends,
        read_trends_file,
        select_active,
    )

    try:
        connection = connect(_warehouse_dsn(dsn, state_dir))
        try:
            require_current(connection)
            now = _report_time(now_text, connection)
            if now is None:
                raise Failure("the warehouse holds no observations yet")
            ref = find_publisher(connection, publisher, platform)
            only = None if every_platform else ref.platform
            catalog = load_catalog(connection, platform=only, until=now)
            if trends_file:
                trends = select_active(read_trends_file(trends_file), now)
            else:
                try:
                    trends = active_trends(connection, now)
                except TrendsUnavailable as error:
                    if trends_required:
                        raise
                    click.echo(f"no trends flagged: {error}", err=True)
                    trends = []
        finally:
            connection.close()
    except (WarehouseError, RecommendError) as error:
        raise Failure(str(error)) from None
    return ref, now, catalog, trends


def _show(rows: list[dict[str, Any]], fmt: str, title: str, limit: int | None) -> None:
    rows = rows[:limit] if limit else rows
    click.echo(render(rows, fmt, title), nl=fmt != "table")


@main.group()
def recommend() -> None:
    """When to post, which terms to use, what to cross-promote (docs/recommend.md)."""


@recommend.command("timing")
@_recommend_options
@click.option("--tz", default="UTC", show_default=True, help="The publisher's IANA time zone.")
@click.option("--level", default=0.9, show_default=True, type=click.FloatRange(0.5, 0.99))
def recommend_timing_command(
    dsn: str | None, state_dir: str, publisher: str, platform: str | None, now_text: str,
    fmt: str, limit: int | None, tz: str, level: float,
) -> None:  # fmt: skip
    """Hours of the week ranked by age-matched performance, shrunk toward the platform."""
    from shoot2top.recommend.catalog import RecommendError
    from shoot2top.recommend.tables import as_rows
    from shoot2top.recommend.timing import recommend_timing, slot_label, zone_named

    try:
        zone = zone_named(tz)
    except RecommendError as error:
        raise Failure(f"--tz: {error}") from None
    ref, now, catalog, _ = _recommend_data(dsn, state_dir, publisher, platform, now_text)
    try:
        result = recommend_timing(catalog, ref.platform, ref.publisher_id, zone=zone, level=level)
    except RecommendError as error:
        raise Failure(str(error)) from None
    click.echo(
        f"{ref.name or ref.publisher_id} ({ref.platform}): {result.items} scored posts, "
        f"{result.platform_items} on the platform; times in {result.zone}; the publisher's own "
        f"pattern weighs half at {result.half_weight_items:.1f} effective posts per hour",
        err=True,
    )
    rows = as_rows(result.slots)
    for row in rows:
        row["slot"] = slot_label(row["slot"])
        del row["day"], row["hour"]
    title = f"When to post: {ref.name or ref.publisher_id}, as of {now:%Y-%m-%d %H:%M}"
    _show(rows, fmt, title, limit)


@recommend.command("terms")
@_recommend_options
@_trends_option
@click.option("--min-support", default=5, show_default=True, type=click.IntRange(min=2))
@click.option("--level", default=0.9, show_default=True, type=click.FloatRange(0.5, 0.99))
def recommend_terms_command(
    dsn: str | None, state_dir: str, publisher: str, platform: str | None, now_text: str,
    fmt: str, limit: int | None, trends_file: str | None, min_support: int, level: float,
) -> None:  # fmt: skip
    """Hashtags and keywords with their lift, support and interval; trending ones flagged."""
    from shoot2top.recommend.catalog import RecommendError
    from shoot2top.recommend.tables import as_rows
    from shoot2top.recommend.terms import recommend_terms

    ref, _, catalog, trends = _recommend_data(
        dsn, state_dir, publisher, platform, now_text, trends_file
    )
    try:
        result = recommend_terms(catalog, ref.platform, ref.publisher_id, trends=trends,
                                 min_support=min_support, level=level)  # fmt: skip
    except RecommendError as error:
        raise Failure(str(error)) from None
    rows = as_rows(result.terms)
    for row, term in zip(rows, result.terms, strict=True):
        row["group"] = ", ".join(t if k == "keyword" else f"#{t}" for k, t in term.group) or None
    _show(rows, fmt, f"Terms: {ref.name or ref.publisher_id}, {result.items} scored posts", limit)


@recommend.command("crosspromote")
@_recommend_options
@_trends_option
@click.option("--per-trend", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--all-media", is_flag=True, help="Not only videos.")
def recommend_crosspromote_command(
    dsn: str | None, state_dir: str, publisher: str, platform: str | None, now_text: str,
    fmt: str, limit: int | None, trends_file: str | None, per_trend: int, all_media: bool,
) -> None:  # fmt: skip
    """For the trends active now, the publisher's existing videos that match them."""
    from shoot2top.recommend.crosspromote import crosspromote
    from shoot2top.recommend.tables import as_rows

    ref, now, catalog, trends = _recommend_data(
        dsn, state_dir, publisher, platform, now_text, trends_file,
        trends_required=True, every_platform=True,  # a trend's posts may be on any platform
    )  # fmt: skip
    if not trends:
        click.echo(f"no trend is active at {now:%Y-%m-%d %H:%M} UTC", err=True)
    promotions = crosspromote(catalog, ref.platform, ref.publisher_id, trends, now=now,
                              per_trend=per_trend, videos_only=not all_media)  # fmt: skip
    _show(as_rows(promotions), fmt, f"Cross-promote now: {ref.name or ref.publisher_id}", limit)


@main.command()
@click.option("--item", "item_id", required=True, help="The item id.")
@click.option("--platform", type=click.Choice(["x", "youtube", "facebook"]))
@click.option(
    "--now",
    "now_text",
    default="now",
    show_default=True,
    help="Forecast from what was observed by then: ISO-8601 UTC, 'now' or 'latest'.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@_dsn_options
def predict(
    item_id: str, platform: str | None, now_text: str, fmt: str, dsn: str | None, state_dir: str
) -> None:
    """Forecast an item's views (or interactions) at 24 h and 7 d, with an 80% interval."""
    from shoot2top.recommend.catalog import RecommendError, find_item
    from shoot2top.recommend.forecast import forecast_item
    from shoot2top.recommend.tables import as_rows

    try:
        connection = connect(_warehouse_dsn(dsn, state_dir))
        try:
            require_current(connection)
            now = _report_time(now_text, connection)
            key = find_item(connection, item_id, platform)
            series = load_series(connection, platform=key[0], until=now)
        finally:
            connection.close()
    except (WarehouseError, RecommendError) as error:
        raise Failure(str(error)) from None
    item = next((one for one in series if (one.platform, one.item_id) == key), None)
    if item is None or now is None:
        raise Failure(f"item {item_id!r} has no observation at or before {now_text}")
    rows = as_rows(forecast_item(item, series, now))
    _show(rows, fmt, f"Forecast: {item_id}, from what was seen by {now:%Y-%m-%d %H:%M}", None)


if __name__ == "__main__":
    main()
