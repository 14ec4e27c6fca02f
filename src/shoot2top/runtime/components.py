"""Build sources and sinks from their configuration, resolving secrets only here.

The one place that maps a config ``type`` to a class (a live source's: its platform's,
`shoot2top.platforms`), shared by the in-process runner and the Storm adapters.
"""

from __future__ import annotations

from typing import Any, overload

from shoot2top import platforms
from shoot2top.analytics.inprocess import CHECKPOINT_PREFIX, TrendsHook, trends_stage
from shoot2top.analytics.outputs import (
    EventSink,
    ItemSinkEvents,
    JsonLinesEvents,
    WarehouseEvents,
)
from shoot2top.config import (
    ConfigError,
    LakeSinkConfig,
    LakeSourceConfig,
    PostgresSinkConfig,
    S3Options,
    SecretRef,
    SinkConfig,
    SocketSinkConfig,
    SourceConfig,
    TrendFileSinkConfig,
    TrendsConfig,
)
from shoot2top.lake.reader import Selection
from shoot2top.lake.store import LakeStore, S3Settings, open_store
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.retry import RetryPolicy
from shoot2top.sinks.base import Sink
from shoot2top.sinks.lake import LakeSink
from shoot2top.sinks.postgres import PostgresSink
from shoot2top.sinks.socket import SocketSink
from shoot2top.sources.base import Source
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.database import resolve_dsn
from shoot2top.warehouse.loader import WarehouseLoader


@overload
def reveal(secret: SecretRef, where: str) -> str: ...
@overload
def reveal(secret: SecretRef | None, where: str) -> str | None: ...
def reveal(secret: SecretRef | None, where: str) -> str | None:
    """A secret's value, read here where the component is built; errors name the key."""
    if secret is None:
        return None
    try:
        return secret.reveal()
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def s3_settings(options: S3Options, where: str) -> S3Settings:
    return S3Settings(
        endpoint_url=options.endpoint_url,
        region=options.region,
        access_key_id=reveal(options.access_key_id, f"{where}.s3.access_key_id"),
        secret_access_key=reveal(options.secret_access_key, f"{where}.s3.secret_access_key"),
        max_attempts=options.max_attempts,
    )


def lake_store(
    uri: str, options: S3Options, where: str, *, max_retry_s: float, fsync: bool = True
) -> LakeStore:
    """The lake at `uri`; its faults are retried for `max_retry_s`, logged as `where`."""
    retry = RetryPolicy(max_s=max_retry_s).named(where)
    return open_store(uri, s3_settings(options, where), fsync=fsync, retry=retry)


def build_source(
    config: SourceConfig,
    resume: dict[str, Any] | None,
    dead_letters: DeadLetters,
    shard: tuple[int, int] = (0, 1),
) -> Source:
    if isinstance(config, LakeSourceConfig):
        where = f"source {config.name!r}"
        return LakeSource(
            lake_store(config.uri, config.s3, where, max_retry_s=config.max_retry_s),
            name=config.name,
            selection=Selection(config.glob, config.since, config.until),
            pace=config.pace,
            strict=config.strict,
            resume=resume,
            dead_letters=dead_letters,
            shard=shard,
        )
    where = f"source {config.name!r}"
    platform = platforms.by_name(config.type)  # a live source: its platform's
    secrets = {name: reveal(getattr(config, name), f"{where}.{name}") for name in platform.secrets}
    source = platform.resolve("source")(config, **secrets, resume=resume, dead_letters=dead_letters)
    if not isinstance(source, Source):
        raise TypeError(f"platform {platform.name!r}: {platform.source!r} built no Source")
    return source


def build_sink(
    config: SinkConfig,
    state_dir: str,
    dead_letters: DeadLetters | None = None,
    *,
    background: bool = False,
) -> Sink:
    """The sink of `config`; items it cannot encode go to `dead_letters`. `background`:
    a lake sink stores full batches in a writer thread (the in-process runner, which
    waits for durability only at checkpoints; see `LakeSink`)."""
    where = f"sink {config.name!r}"
    if isinstance(config, LakeSinkConfig):
        store = lake_store(
            config.uri, config.s3, where, max_retry_s=config.max_retry_s, fsync=config.fsync
        )
        return LakeSink(
            store,
            name=config.name,
            rotation=config.rotation,
            batch_items=config.batch_items,
            batch_bytes=config.batch_bytes,
            batch_age_s=config.batch_age_s,
            compress=config.gzip,
            dead_letters=dead_letters,
            background=background,
        )
    if isinstance(config, PostgresSinkConfig):
        dsn = resolve_dsn(reveal(config.dsn, f"{where}.dsn"), state_dir)
        loader = WarehouseLoader(
            dsn, component=config.name, max_retry_s=config.max_retry_s, migrate=config.migrate
        )
        return PostgresSink(
            loader, name=config.name, batch_items=config.batch_items, batch_age_s=config.batch_age_s
        )
    if isinstance(config, SocketSinkConfig):
        return SocketSink(config, dead_letters=dead_letters)
    raise TypeError(f"no sink for config type {type(config).__name__}")


def build_trend_sinks(config: TrendsConfig, state_dir: str) -> list[EventSink]:
    """The trend sinks of a trends stage (in-process, and the Storm events bolt); an
    ordinary sink (socket, lake) gets each event's record as an item."""
    sinks: list[EventSink] = []
    for sink in config.sinks:
        where = f"analytics {config.name!r} sink {sink.name!r}"
        if isinstance(sink, TrendFileSinkConfig):
            sinks.append(JsonLinesEvents(sink.path, sink.name))
        elif isinstance(sink, SocketSinkConfig | LakeSinkConfig):
            sinks.append(ItemSinkEvents(build_sink(sink, state_dir)))
        else:
            dsn = resolve_dsn(reveal(sink.dsn, f"{where}.dsn"), state_dir)
            sinks.append(WarehouseEvents(dsn, sink.name))
    return sinks


def build_analytics(config: TrendsConfig, state_dir: str, resume: dict[str, Any]) -> TrendsHook:
    """The trends stage of `config`, resumed from the checkpoint's `resume` if it has it."""
    sinks = build_trend_sinks(config, state_dir)
    options = {**config.detector_options(), "lateness_s": config.lateness_s,
               "kinds": config.kinds}  # fmt: skip
    stage = trends_stage(options, resume.get(CHECKPOINT_PREFIX + config.name))
    return TrendsHook(config.name, stage, sinks)
