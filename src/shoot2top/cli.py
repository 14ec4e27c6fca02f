"""The ``shoot2top`` command line: ingest, lake tools and sample data.

Results go to stdout, progress and diagnostics to stderr. Every failure exits non-zero
with one line saying what went wrong and where.
"""

from __future__ import annotations

import atexit
import logging
import os
import select
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from shoot2top import codec
from shoot2top.analytics.detector import METHODS, SHIPPED_METHOD, DetectorOptions
from shoot2top.analytics.report import (
    SIGN_OF,
    TREND_COLUMNS,
    TREND_TABLE_COLUMNS,
    latest_trend,
    trend_chart,
    trend_report,
)
from shoot2top.analytics.stage import TrendStage
from shoot2top.analytics.terms import KINDS
from shoot2top.analytics.watermark import LATENESS_S
from shoot2top.config import ConfigError, PipelineConfig, load_config, unset_secrets
from shoot2top.lake.inspect import list_partitions, scan
from shoot2top.lake.reader import Selection
from shoot2top.lake.store import LakeError, S3Settings, open_store
from shoot2top.posts import PLATFORM_NAMES, InvalidPost, format_time, parse_time
from shoot2top.runtime.components import build_analytics, build_sink, build_source
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.logsummary import install as install_summary
from shoot2top.runtime.pipeline import Pipeline, PipelineError, RunSummary, stop_on_signals
from shoot2top.runtime.progress import ProgressReporter, human_bytes
from shoot2top.runtime.state import Checkpoints, StateError, StateLock, pipeline_dir
from shoot2top.runtime.status import StatusFile
from shoot2top.sinks.socket import SocketSinkError
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.access import ADMIN_ROLE, READER_ROLE, start_tcp
from shoot2top.warehouse.amplification import (
    AMPLIFICATION_COLUMNS,
    AMPLIFICATION_TABLE_COLUMNS,
    amplification_report,
    latest_amplification,
)
from shoot2top.warehouse.database import (
    WarehouseError,
    connect,
    embedded_dsn,
    existing_dsn,
    resolve_dsn,
    stop_embedded,
)
from shoot2top.warehouse.render import (
    FORMATS,
    RenderError,
    chart,
    choose_columns,
    publisher_metric,
    render,
)
from shoot2top.warehouse.reports import (
    REPORT_COLUMNS,
    TABLE_COLUMNS,
    benchmark_peers,
    latest_observation,
    live_report,
    load_series,
    publisher_report,
    video_report,
)
from shoot2top.warehouse.schema import latest_version, migrate, require_current

log = logging.getLogger("shoot2top")
T = TypeVar("T")


class Failure(click.ClickException):
    """A user-facing error: printed as one line, exit status 1."""


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader has gone (Linux reports POLLERR
    on it), so that a broken pipe there is no error of ours."""
    poll = select.poll()
    try:
        poll.register(sys.stdout.fileno(), select.POLLOUT)
    except (OSError, ValueError):
        return False
    return any(events & select.POLLERR for _, events in poll.poll(0))


class Commands(click.Group):
    """The command group: an unexpected error is one line naming it, not a traceback
    (``--log-level DEBUG`` shows the traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            if isinstance(error, BrokenPipeError) and stdout_closed():
                raise  # the reader left (`… | head`): click exits 1 quietly, as Unix tools do
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            raise Failure(
                f"unexpected {type(error).__name__}: {error} "
                "(`shoot2top --log-level DEBUG …`, before the command, shows the traceback)"
            ) from None


@click.group(
    cls=Commands,
    epilog="""\b
Environment:
  SHOOT2TOP_STATE  the state directory of the embedded PostgreSQL (default .shoot2top;
                   the demo's is .shoot2top/demo); a pipeline keeps its checkpoints
                   there when its config says "state_dir": "${SHOOT2TOP_STATE:-…}"
  SHOOT2TOP_DSN    a PostgreSQL DSN to use instead of the embedded warehouse
Reports, recommend and predict read an existing warehouse and never create one.""",
)
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help="How much to log on stderr.",
)
def main(log_level: str) -> None:
    """Shoot2Top: ingest social video posts, archive them in a lake, replay them, and
    report how the videos perform."""
    before = list(logging.getLogger().handlers)
    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    for handler in logging.getLogger().handlers:
        if handler not in before:  # ours, not a host's (e.g. a test runner's capture)
            summary = install_summary(handler)  # an outage: one line a minute, not per retry
            atexit.register(summary.flush, handler)
    for chatty in ("botocore", "boto3", "urllib3", "s3transfer"):
        # Their DEBUG output carries request headers, credentials included.
        logging.getLogger(chatty).setLevel(max(logging.INFO, logging.getLogger().level))


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--limit", type=click.IntRange(min=1), help="Stop after N items.")
@click.option(
    "--duration", type=click.FloatRange(min=0, min_open=True), help="Stop after S seconds."
)
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
    missing = unset_secrets(config)  # all of them at once, before anything is touched
    if len(missing) == 1:
        ((variable, where),) = missing
        raise Failure(
            f"{config_path}: {where}: environment variable {variable} (a secret) is not set"
        )
    if missing:
        named = ", ".join(f"{variable} ({where})" for variable, where in missing)
        raise Failure(f"{config_path}: environment variables not set for secrets: {named}")
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
        sinks = [
            build_sink(sink, config.state_dir, dead_letters, background=True)
            for sink in config.sinks
        ]
        analytics = [build_analytics(stage, config.state_dir, resume) for stage in config.analytics]
    except ConfigError as error:  # a secret not set: say in which file it is referenced
        raise Failure(f"{config_path}: {error}") from None
    except (LakeError, WarehouseError, SocketSinkError, ValueError) as error:
        raise Failure(str(error)) from None
    pipeline = Pipeline(
        sources,
        sinks,
        checkpoints=checkpoints,
        checkpoint_interval_s=config.checkpoint_interval_s,
        progress=ProgressReporter(config.name, enabled=not quiet),
        dead_letters=dead_letters,
        status=StatusFile(home, config.name, config.checkpoint_interval_s),
        analytics=analytics,
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


class _UtcTime(click.ParamType):
    """An ISO-8601 time as the rest of the CLI takes it (``…Z``, an offset, or naive =
    UTC): `posts.parse_time`, an aware UTC datetime."""

    name = "ISO-8601 time"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(value, "time")
        except InvalidPost:
            self.fail(f"{value!r} is not an ISO-8601 time (e.g. 2026-11-20T08:00:00Z)", param, ctx)


def _selection_options(command: Any) -> Any:
    options = [
        click.argument("uri"),
        click.option("--glob", help="Partition folders to select, e.g. '2015-12-18T00:00:00-*'."),
        click.option("--since", type=_UtcTime(), help="Observed at or after (ISO 8601, UTC)."),
        click.option("--until", type=_UtcTime(), help="Observed before (ISO 8601, UTC)."),
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
    """The partitions and observed times chosen; an empty time range is an error (as in a
    config), not an answer of 0 items."""
    if since is not None and until is not None and since >= until:
        raise Failure(f"--since {format_time(since)} must be before --until {format_time(until)}")
    return Selection(glob, since, until)  # times in UTC already (`_UtcTime`)


@lake.command("ls")
@_selection_options
def lake_ls(
    uri: str, glob: str | None, since: Any, until: Any, endpoint_url: Any, as_json: bool
) -> None:
    """Partitions with their writers, files and bytes (listing only, no reads)."""
    if since is not None or until is not None:
        raise Failure(
            "--since/--until: lake ls lists partition folders, chosen by --glob only (an "
            "item's observed time is known by reading it: `shoot2top lake stats --since …`)"
        )
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
    for label in ("observed", "created"):
        first, last = report[label]
        click.echo(f"{label:<8} {'–' if first is None else f'{first} .. {last}'}")
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


STATE_DIR_HELP = (
    "The state directory holding the embedded PostgreSQL (default .shoot2top; the "
    "demo's is .shoot2top/demo)."
)


def _dsn_options(command: Any) -> Any:
    command = click.option(
        "--state-dir",
        default=".shoot2top",
        envvar="SHOOT2TOP_STATE",
        show_envvar=True,
        help=STATE_DIR_HELP,
    )(command)
    return click.option(
        "--dsn",
        envvar="SHOOT2TOP_DSN",
        show_envvar=True,
        help="A PostgreSQL DSN (default: the embedded server of the state directory).",
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
@click.option(
    "--state-dir", default=".shoot2top", envvar="SHOOT2TOP_STATE", show_envvar=True,
    help=STATE_DIR_HELP,
)  # fmt: skip
@click.option(
    "--tcp", is_flag=True,
    help="Also listen on 127.0.0.1 with password logins (BI tools, notebooks, dashboards).",
)  # fmt: skip
@click.option(
    "--port", type=click.IntRange(1, 65535),
    help="--tcp: the port (default: the one used last time, else a free one).",
)  # fmt: skip
def warehouse_start(state_dir: str, tcp: bool, port: int | None) -> None:
    """Start the embedded PostgreSQL of this state directory and print its DSN.

    With --tcp it also listens on 127.0.0.1 (never another interface): passwords are
    generated once into <state dir>/pgpass (mode 0600) and the DSNs printed name that
    file; the second DSN is the read-only role shoot2top_reader."""
    if port and not tcp:
        raise Failure("--port is for --tcp")
    try:
        if not tcp:
            click.echo(embedded_dsn(state_dir))
            return
        access = start_tcp(state_dir, port)
    except WarehouseError as error:
        raise Failure(str(error)) from None
    click.echo(access.dsn(ADMIN_ROLE))
    click.echo(access.dsn(READER_ROLE))
    click.echo(
        f"listening on 127.0.0.1:{access.port} and on its socket; passwords in "
        f"{access.password_file} (mode 0600: libpq reads it through passfile=, a BI tool "
        f"asks for the password in it). The first DSN administers, the second "
        f"({READER_ROLE}) only reads.",
        err=True,
    )


@warehouse.command("stop")
@click.option(
    "--state-dir", default=".shoot2top", envvar="SHOOT2TOP_STATE", show_envvar=True,
    help=STATE_DIR_HELP,
)  # fmt: skip
def warehouse_stop(state_dir: str) -> None:
    """Stop the embedded PostgreSQL of this state directory."""
    click.echo(stop_embedded(state_dir))


def _report_dsn(dsn: str | None, state_dir: str) -> str:
    """An existing warehouse for a command that only reads it; never creates one."""
    source = click.get_current_context().get_parameter_source("state_dir")
    try:
        resolved, note = existing_dsn(
            dsn, state_dir, guess=source is click.core.ParameterSource.DEFAULT
        )
    except WarehouseError as error:
        raise Failure(str(error)) from None
    if note:
        click.echo(note, err=True)
    return resolved


@main.command()
@click.argument(
    "kind", type=click.Choice(["videos", "publishers", "live", "trends", "amplification"])
)
@click.option("--dsn", envvar="SHOOT2TOP_DSN", show_envvar=True, help="A PostgreSQL DSN.")
@click.option(
    "--state-dir",
    default=".shoot2top",
    envvar="SHOOT2TOP_STATE",
    show_envvar=True,
    help=STATE_DIR_HELP,
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "--columns",
    help="Columns to show, comma-separated, or 'all' (default: a short set in a table, "
    "every column in CSV and JSON).",
)
@click.option("--platform", type=click.Choice(PLATFORM_NAMES), help="One platform.")
@click.option(
    "--publisher", help="One publisher id (amplification: the publisher of the posts spread)."
)
@click.option("--limit", type=click.IntRange(min=1), help="At most N rows.")
@click.option("--all-media", is_flag=True, help="videos: include items that are not videos.")
@click.option(
    "--hours",
    default=24.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="live: published in the last N hours; trends: detected in the last N hours; "
    "amplification: retweeted or quoted in the last N hours.",
)
@click.option(
    "--now",
    "now_text",
    default="now",
    show_default=True,
    help="The moment to report at (ISO-8601 UTC; videos, publishers: what was observed "
    "until then), or 'latest' for the newest observation (a replayed warehouse, the demo).",
)
@click.option("--chart", "chart_path", type=click.Path(dir_okay=False), help="Write a PNG chart.")
@click.option(
    "--item",
    "chart_item",
    help="--chart of live, videos: the item to plot; of publishers: the publisher (default: "
    "the first row).",
)
@click.option(
    "--watch",
    type=click.FloatRange(min=0.5),
    metavar="SECONDS",
    help="Report again every SECONDS, in place on a terminal, until Ctrl-C.",
)
def report(
    kind: str,
    dsn: str | None,
    state_dir: str,
    fmt: str,
    columns: str | None,
    platform: str | None,
    publisher: str | None,
    limit: int | None,
    all_media: bool,
    hours: float,
    now_text: str,
    chart_path: str | None,
    chart_item: str | None,
    watch: float | None,
) -> None:
    """Reports from the warehouse: videos after the fact, publishers, live performance,
    trends (docs/trends.md), amplification (who retweeted or quoted whose posts).

    Reads an existing warehouse (--dsn, SHOOT2TOP_DSN, or the embedded one of the state
    directory) and never creates one."""
    try:
        available = {**REPORT_COLUMNS, **OTHER_COLUMNS}[kind]
        table = {**TABLE_COLUMNS, **OTHER_TABLE_COLUMNS}[kind]
        shown = choose_columns(columns, available, table if fmt == "table" else available)
    except RenderError as error:
        raise Failure(str(error)) from None
    if chart_path and kind == "amplification":
        raise Failure("--chart: the amplification report has no chart")
    _refuse_unused(kind, all_media=all_media, publisher=publisher, chart_item=chart_item,
                   chart_path=chart_path)  # fmt: skip
    if chart_path:
        _check_writable(chart_path, "--chart")
    _check_now(now_text)
    request = ReportRequest(
        kind, shown, fmt, platform, publisher, limit, all_media, hours, now_text, chart_path,
        chart_item, default_columns=columns is None,
    )  # fmt: skip
    resolved = _report_dsn(dsn, state_dir)
    if not watch:
        click.echo(_report_text(resolved, request), nl=False)
        return
    in_place = sys.stdout.isatty()
    try:
        while True:
            text = _report_text(resolved, request)
            stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, every {watch:g} s (Ctrl-C stops)"
            if in_place:
                click.echo(CLEAR_SCREEN + text + stamp, nl=False)
            else:
                click.echo(f"{text}-- {stamp}\n")
            time.sleep(watch)
    except KeyboardInterrupt:
        click.echo("", err=True)


def _refuse_unused(
    kind: str,
    *,
    all_media: bool,
    publisher: str | None,
    chart_item: str | None,
    chart_path: str | None,
) -> None:
    """An option the report does not read is an error, not silently ignored."""
    if chart_item and not chart_path:
        raise Failure("--item is for --chart (the item to plot)")
    given = click.get_current_context().get_parameter_source("hours")
    if kind in ("videos", "publishers") and given is not click.core.ParameterSource.DEFAULT:
        raise Failure(f"--hours is for the live, trends and amplification reports, not {kind}")
    if all_media and kind != "videos":
        raise Failure(f"--all-media is for the videos report, not {kind}")
    if publisher and kind == "trends":
        raise Failure("--publisher: trends are by platform (--platform), not by publisher")
    if chart_item and kind == "trends":
        raise Failure("--item: the trends chart plots every trend, not one item")


CLEAR_SCREEN = "\x1b[H\x1b[2J"
OTHER_COLUMNS = {"trends": TREND_COLUMNS, "amplification": AMPLIFICATION_COLUMNS}
"""The columns of the reports that are not in `shoot2top.warehouse.reports`."""
OTHER_TABLE_COLUMNS = {"trends": TREND_TABLE_COLUMNS, "amplification": AMPLIFICATION_TABLE_COLUMNS}


@dataclass(frozen=True)
class ReportRequest:
    """What `shoot2top report` was asked for (run once, or again and again by --watch)."""

    kind: str
    columns: list[str]
    fmt: str
    platform: str | None
    publisher: str | None
    limit: int | None
    all_media: bool
    hours: float
    now_text: str
    chart_path: str | None
    chart_item: str | None
    default_columns: bool


def _report_text(dsn: str, request: ReportRequest) -> str:
    """The report as text, with its chart written; hints go to stderr."""
    if request.kind == "trends":
        return _trends_text(dsn, request)
    if request.kind == "amplification":
        return _amplification_text(dsn, request)
    try:
        connection = connect(dsn)
        try:
            require_current(connection)
            now = _report_time(request.now_text, connection)
            latest = latest_observation(connection) if request.kind == "live" else None
            series = load_series(
                connection, platform=request.platform, publisher=request.publisher, until=now
            )
        finally:
            connection.close()
    except WarehouseError as error:
        raise Failure(str(error)) from None
    if request.kind == "videos":
        rows = video_report(series, include_all_media=request.all_media)
        title = "Videos after the fact"
    elif request.kind == "publishers":
        rows = publisher_report(series)
        title = "Publishers"
    else:
        from shoot2top.recommend.forecast import add_forecasts

        rows = add_forecasts(live_report(series, now, hours=request.hours), series, now)
        title = f"Live: published in the {request.hours:g} h before {now:%Y-%m-%d %H:%M} UTC"
        if not rows:
            _hint_live(request, now, latest)
    rows = rows[: request.limit] if request.limit else rows
    text = render(rows, request.fmt, title, request.columns, drop_to_fit=request.default_columns)
    if request.chart_path:
        where = _chart(request.kind, series, rows, request.chart_path, request.chart_item, now)
        click.echo(f"chart: {where}", err=True)
    return text


def _read_warehouse(
    dsn: str, now_text: str, read: Callable[[Any, datetime], T]
) -> tuple[datetime, T]:
    """`read(connection, now)` on a warehouse whose schema is current, with --now
    resolved; a warehouse error is a one-line failure."""
    try:
        connection = connect(dsn)
        try:
            require_current(connection)
            now = _report_time(now_text, connection)
            return now, read(connection, now)
        finally:
            connection.close()
    except WarehouseError as error:
        raise Failure(str(error)) from None


def _trends_text(dsn: str, request: ReportRequest) -> str:
    def read(connection: Any, now: datetime) -> tuple[list[dict[str, Any]], datetime | None]:
        rows = trend_report(connection, now, request.hours)
        if request.platform:
            rows = [row for row in rows if row["scope"] == request.platform]
        return rows, None if rows else latest_trend(connection, request.platform)

    now, (rows, latest) = _read_warehouse(dsn, request.now_text, read)
    rows = rows[: request.limit] if request.limit else rows
    window = f"the {request.hours:g} h before {now:%Y-%m-%d %H:%M} UTC"
    title = f"Trends detected in {window}"
    if not rows:
        hint = f"no trend detected in {window}"
        if latest is None:
            hint += " (the trends stage writes them: docs/trends.md)"
        elif latest < now - timedelta(hours=request.hours):
            hint += (f": the newest was detected at {latest:%Y-%m-%d %H:%M} UTC (a replay or"
                     f" the demo?); {_widen(request)}")  # fmt: skip
        click.echo(hint, err=True)
    if request.chart_path:
        where = trend_chart(rows, request.chart_path, title)
        click.echo(f"chart: {where}", err=True)
    return render(rows, request.fmt, title, request.columns, drop_to_fit=request.default_columns)


def _amplification_text(dsn: str, request: ReportRequest) -> str:
    def read(connection: Any, now: datetime) -> tuple[list[dict[str, Any]], datetime | None]:
        rows = amplification_report(
            connection, now, request.hours, platform=request.platform, publisher=request.publisher
        )
        return rows, None if rows else latest_amplification(connection)

    now, (rows, latest) = _read_warehouse(dsn, request.now_text, read)
    rows = rows[: request.limit] if request.limit else rows
    window = f"the {request.hours:g} h before {now:%Y-%m-%d %H:%M} UTC"
    if not rows:
        _hint_amplification(request, window, now, latest)
    title = f"Amplification: retweets and quotes by other publishers in {window}"
    return render(rows, request.fmt, title, request.columns, drop_to_fit=request.default_columns)


def _hint_amplification(
    request: ReportRequest, window: str, now: datetime, latest: datetime | None
) -> None:
    """Say why an amplification report is empty and what to try."""
    if latest is None:
        click.echo("the warehouse holds no retweet or quote of another publisher's post",
                   err=True)  # fmt: skip
        return
    mine = f" of publisher {request.publisher}'s posts" if request.publisher else ""
    hint = f"no retweet or quote{mine} by another publisher in {window}"
    if latest < now - timedelta(hours=request.hours):
        hint += (f": the warehouse's newest is from {latest:%Y-%m-%d %H:%M} UTC (a replay or"
                 f" the demo?); {_widen(request)}")  # fmt: skip
    click.echo(hint, err=True)


def _widen(request: ReportRequest) -> str:
    """What to try when the newest record is older than the window: --now latest unless
    that was given already (the newest observation can be newer than the newest trend)."""
    return (
        "try more --hours" if request.now_text == "latest" else "try --now latest or more --hours"
    )


def _hint_live(request: ReportRequest, now: datetime, latest: datetime | None) -> None:
    """Say why a live report is empty and what to try."""
    if latest is None:
        click.echo("the warehouse has no observations yet", err=True)
    elif latest < now - timedelta(hours=request.hours):
        click.echo(
            f"nothing published in the {request.hours:g} h before {now:%Y-%m-%d %H:%M} UTC: "
            f"the newest observation is from {latest:%Y-%m-%d %H:%M} UTC (a replay or the "
            "demo?); try --now latest",
            err=True,
        )


def _check_writable(path: str, option: str) -> None:
    """Fail before any work when a file cannot be written where asked."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise Failure(f"{option} {path}: the directory {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise Failure(f"{option} {path}: the directory {folder} is not writable")


def _check_now(text: str) -> None:
    """A --now that is no time is named before any warehouse is looked for (or started)."""
    if text not in ("now", "latest"):
        _report_time(text, connection=None)


def _report_time(text: str, connection: Any) -> datetime:
    if text == "now":
        return datetime.now(UTC)
    if text == "latest":
        latest = latest_observation(connection)
        if latest is None:
            raise Failure(
                "--now latest: the warehouse has no observations yet; load some first "
                "(scripts/demo.sh, or shoot2top ingest --config …)"
            )
        return latest
    try:
        return parse_time(text, "--now")  # in UTC, as the titles print it
    except InvalidPost:
        raise Failure(f"--now {text!r} is not 'now', 'latest' or an ISO-8601 time") from None


def _chart(
    kind: str,
    series: list[Any],
    rows: list[dict[str, Any]],
    path: str,
    item_id: str | None,
    now: datetime,
) -> Path:
    if not rows and not item_id:
        raise Failure("nothing to chart: the report has no rows")
    try:
        if kind == "publishers":
            return _publisher_chart(series, rows, path, item_id)
        return _item_chart(kind, series, rows, path, item_id, now)
    except OSError as error:
        raise Failure(f"--chart {path}: cannot write it: {error.strerror or error}") from None


def _publisher_chart(
    series: list[Any], rows: list[dict[str, Any]], path: str, wanted: str | None
) -> Path:
    wanted = wanted or rows[0]["publisher_id"]
    items = [s for s in series if s.publisher_id == wanted]
    if not items:
        raise Failure(f"no publisher {wanted!r} in the warehouse")
    metric = publisher_metric(items)
    name = items[0].publisher_name or wanted
    measure = "views" if metric == "views" else "interactions"
    return chart(
        path, items, items, metric=metric,
        title=f"{name} ({items[0].platform}): all {len(items)} items",
        subtitle=f"publisher {wanted}: each item's {measure} against the publisher's benchmark",
    )  # fmt: skip


def _item_chart(
    kind: str,
    series: list[Any],
    rows: list[dict[str, Any]],
    path: str,
    wanted: str | None,
    now: datetime,
) -> Path:
    wanted = wanted or rows[0]["item_id"]
    item = next((s for s in series if s.item_id == wanted), None)
    if item is None:
        raise Failure(f"no item {wanted!r} in the warehouse")
    row = next((r for r in rows if r["item_id"] == wanted), {})
    peers = benchmark_peers(series, item, now)
    who = item.publisher_name or item.publisher_id
    return chart(
        path, item, peers, metric=item.score_metric, score=row.get("score"),
        title=item.title or item.item_id,
        subtitle=f"{who} · {item.platform} {item.media_type or 'item'} {item.item_id} · "
        f"published {item.created_at:%Y-%m-%d %H:%M} UTC",
    )  # fmt: skip


@main.command()
@click.option(
    "--dsn",
    envvar="SHOOT2TOP_DSN",
    show_envvar=True,
    help="A PostgreSQL DSN, best a read-only role (default: the embedded warehouse).",
)
@click.option(
    "--state-dir",
    default=".shoot2top",
    envvar="SHOOT2TOP_STATE",
    show_envvar=True,
    help=STATE_DIR_HELP + " Its pipelines' status shows in pipeline health.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; any other than loopback needs $SHOOT2TOP_DASHBOARD_TOKEN.",
)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0: any free port.",
)
@click.option(
    "--nimbus",
    envvar="STREAMPARSE_NIMBUS",
    show_envvar=True,
    metavar="HOST:PORT",
    help="Show the Storm topologies' figures from this Nimbus (Thrift).",
)
@click.option(
    "--now",
    "now_text",
    type=click.Choice(["latest", "now"]),
    default="latest",
    show_default=True,
    help="The live view's moment: the newest observation, or the clock.",
)
@click.option(
    "--hours",
    default=24.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Live: published in the last N hours.",
)
def dashboard(
    dsn: str | None,
    state_dir: str,
    host: str,
    port: int,
    nimbus: str | None,
    now_text: str,
    hours: float,
) -> None:
    """A live web page over the warehouse, updated as loads commit: overperforming now,
    trends, publishers and pipeline health. Reads through the read-only role; needs the
    analyst extra. Ctrl-C stops it."""  # fmt: skip
    from shoot2top.dashboard.serve import TOKEN_VARIABLE, DashboardError, bind, check_bind

    token = os.environ.get(TOKEN_VARIABLE) or None
    nimbus_address = _host_port(nimbus)
    source = click.get_current_context().get_parameter_source("state_dir")
    try:
        from shoot2top.dashboard.app import create_app
        from shoot2top.dashboard.panels import Settings
        from shoot2top.dashboard.serve import reader, serve
    except ImportError as error:
        raise Failure(f"the dashboard needs the analyst extra ({error.name} is missing): "
                      "pip install -e '.[analyst]'") from None  # fmt: skip
    try:
        check_bind(host, token)
        warehouse = reader(dsn, Path(state_dir), guess=source is click.core.ParameterSource.DEFAULT)
        listener = bind(host, port)
    except (DashboardError, WarehouseError) as error:
        raise Failure(str(error)) from None
    settings = Settings(
        state_dir=warehouse.state_dir, nimbus=nimbus_address, now=now_text, hours=hours,
        warehouse_label=warehouse.label,
    )  # fmt: skip
    address, bound = listener.getsockname()[:2]
    shown = f"[{address}]" if ":" in address else address
    click.echo(
        f"dashboard: http://{shown}:{bound}/ reading the {warehouse.label}"
        + (f" (open it once with ?token=<${TOKEN_VARIABLE}>)" if token else "")
        + "; Ctrl-C stops it",
        err=True,
    )
    serve(create_app(warehouse.dsn, settings, token=token), listener)


def _host_port(text: str | None) -> tuple[str, int] | None:
    if not text:
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise Failure(f"--nimbus {text!r} is not HOST:PORT")
    return host, int(port)


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
    from shoot2top.sample.lake import write_sample_lake

    store = _open(out_uri, endpoint_url)
    try:
        if not store.is_empty():
            raise Failure(f"{store.uri} is not empty; the sample goes into a new lake")
        counts = write_sample_lake(
            store, seed=seed, items=items, rotation=rotation, compress=compress,
            progress=ProgressReporter("sample"),
        )  # fmt: skip
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
        click.option("--platform", type=click.Choice(PLATFORM_NAMES)),
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

    _check_now(now_text)
    try:
        connection = connect(_report_dsn(dsn, state_dir))
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
    columns = list(dict.fromkeys(key for row in rows for key in row))
    text = render(rows, fmt, title, columns, drop_to_fit=fmt == "table", shown_by="--format json")
    click.echo(text, nl=False)


@main.group()
def trends() -> None:
    """Trend detection on the stream (docs/trends.md)."""


DETECT_COLUMNS = ("label", "scope", "status", "onset_at", "detected_at", "ended_at",
                  "volume", "expected", "score", "publishers")  # fmt: skip


DETECT_TUNING = (  # option, type, default, help: the detector's main settings
    ("--bucket-s", click.IntRange(60, 3600), 300, "Time bucket, seconds (divides an hour)."),
    (
        "--lateness-s",
        click.FloatRange(min=0),
        LATENESS_S,
        "Allowed lateness (event time), seconds.",
    ),
    ("--min-volume", click.IntRange(min=1), 5, "Items in a bucket to trend."),
    ("--min-publishers", click.IntRange(min=1), 3, "Distinct publishers in a bucket to trend."),
    ("--z-on", click.FloatRange(min=0, min_open=True), 4.0, "signitrend: z-score to trend."),
)


def _tuning_options(command: Any) -> Any:
    for name, kind, default, text in reversed(DETECT_TUNING):
        command = click.option(name, type=kind, default=default, show_default=True,
                               help=text)(command)  # fmt: skip
    return command


@trends.command("detect")
@click.option("--lake", "uri", required=True, help="The lake to replay: a path or s3://…")
@click.option("--glob", help="Partition folders to select, e.g. '2026-11-20T*'.")
@click.option("--since", type=_UtcTime(), help="Observed at or after (ISO 8601, UTC).")
@click.option("--until", type=_UtcTime(), help="Observed before (ISO 8601, UTC).")
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="S3 endpoint.")
@click.option("--kinds", default=",".join(KINDS), show_default=True,
              help="Term kinds, comma-separated.")  # fmt: skip
@click.option("--method", type=click.Choice(sorted(METHODS)), default=SHIPPED_METHOD,
              show_default=True)  # fmt: skip
@click.option("--all-only", is_flag=True, help="Only trends across platforms (scope 'all').")
@_tuning_options
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json",
              show_default=True, help="json: one event emission per line.")  # fmt: skip
def trends_detect(
    uri: str, glob: str | None, since: Any, until: Any, endpoint_url: str | None, kinds: str,
    method: str, all_only: bool, bucket_s: int, lateness_s: float, min_volume: int,
    min_publishers: int, z_on: float, fmt: str,
) -> None:  # fmt: skip
    """Replay a lake through the trend detector and print its events.

    The same code as the in-process stage and the Storm topology: the algorithm
    development loop is change the method, replay, compare."""
    chosen = [kind.strip() for kind in kinds.split(",") if kind.strip()]
    unknown = [kind for kind in chosen if kind not in KINDS]
    if unknown or not chosen:
        raise Failure(f"--kinds {kinds!r}: unknown kind {(unknown or [''])[0]!r}; use "
                      f"{', '.join(KINDS)}")  # fmt: skip
    selection = _selection(glob, since, until)
    if 3600 % bucket_s:
        raise Failure(f"--bucket-s {bucket_s}: must divide an hour (3600 s)")
    options = DetectorOptions(
        method=method,
        scopes=not all_only,
        bucket_s=bucket_s,
        min_volume=min_volume,
        min_publishers=min_publishers,
        z_on=z_on,
    )
    stage = TrendStage(options, lateness_s=lateness_s, kinds=chosen)
    source = LakeSource(_open(uri, endpoint_url), selection=selection)
    emitted: list[Any] = []

    def out(events: list[Any]) -> None:
        if fmt == "json":
            for event in events:
                click.echo(codec.dumps(event.to_record()).decode())
        emitted.extend(events)

    batch: list[Any] = []
    try:
        for item in source:
            if item is not None:
                batch.append(item)
            if len(batch) >= 1000:
                out(stage.process(batch))
                batch = []
        out(stage.process(batch))
        out(stage.finish())
    except LakeError as error:
        raise Failure(str(error)) from None
    finally:
        source.close()
    counters = ", ".join(f"{name} {value:,}" for name, value in stage.counters().items())
    click.echo(f"{len(emitted)} event emission(s); items: {counters}", err=True)
    if fmt == "table":
        latest = {event.identity: event for event in emitted}  # the final state of each
        rows = [
            {**e.to_record(), "label": SIGN_OF.get(e.kind, "") + e.term} for e in latest.values()
        ]
        title = f"Trends in {uri} ({method})"
        text = render(
            rows, "table", title, DETECT_COLUMNS, drop_to_fit=True, shown_by="--format json"
        )
        click.echo(text, nl=False)


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
@click.option("--platform", type=click.Choice(PLATFORM_NAMES))
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

    _check_now(now_text)
    try:
        connection = connect(_report_dsn(dsn, state_dir))
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
