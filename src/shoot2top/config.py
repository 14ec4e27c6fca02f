"""Pipeline configuration: one JSON file naming sources, sinks and their settings.

The same file runs in-process (``shoot2top ingest --config F``) and on Storm.
Secrets appear only as ``${ENV_VAR}`` references (`SecretRef`), resolved where the
component is built and shown as ``***`` everywhere else. Settings that are not secret
may also use ``${ENV_VAR}`` or ``${ENV_VAR:-default}``; those are expanded on load.
Any unknown key, missing key or wrong type is an error naming the key and the file.
"""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    Protocol,
    Union,
    get_args,
    get_origin,
)

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from shoot2top import codec, platforms
from shoot2top.analytics.watermark import LATENESS_S
from shoot2top.lake.store import UNSHOWN, is_http_url, url_has_credentials
from shoot2top.limits import MAX_SINK_BATCH_BYTES
from shoot2top.runtime.state import PIPELINE_NAME

_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_WHOLE_REFERENCE = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}$")


class ConfigError(ValueError):
    """The configuration is wrong; the message names the file and the key."""


def _expand(value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match["name"], match["default"]
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ValueError(f"environment variable {name} is not set")

    return _REFERENCE.sub(replace, value)


EnvStr = Annotated[str, AfterValidator(_expand)]
"""A setting that may reference the environment; expanded when the config is loaded."""

NO_ECHO = "no_echo"
"""The error type of a check whose input must never be shown (it may be a secret)."""


def _no_credentials(url: str) -> str:
    if url_has_credentials(url):
        raise PydanticCustomError(
            NO_ECHO,
            "holds credentials (user:password@), not shown; give them as ${VAR} references "
            "in the secret settings instead",
        )
    return url


EnvUrl = Annotated[str, AfterValidator(_expand), AfterValidator(_no_credentials)]
"""A URL setting (endpoint, API): may reference the environment, never hold credentials."""


def _http_url(url: str) -> str:
    if is_http_url(url):
        return url
    if "@" in url:  # `key:secret@host` without a scheme: no parser finds its user part
        raise PydanticCustomError(NO_ECHO, f"not an http:// or https:// URL with a host {UNSHOWN}")
    raise ValueError("not an http:// or https:// URL with a host")


EnvHttpUrl = Annotated[EnvUrl, AfterValidator(_http_url)]
"""An endpoint reached over HTTP (S3, the platforms' APIs): an `EnvUrl` with a scheme and host."""


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
"""A timestamp; one without an offset is taken as UTC, like everywhere in the lake."""


class SecretRef:
    """A reference to a secret in the environment, e.g. ``${X_BEARER_TOKEN}``.

    Only the reference is stored; `reveal()` reads the variable where the component
    runs. Literal secrets in a config file are refused.
    """

    __slots__ = ("variable",)

    def __init__(self, reference: str) -> None:
        match = _WHOLE_REFERENCE.match(reference)
        if not match:
            raise PydanticCustomError(
                NO_ECHO, "secrets must be given as a ${ENV_VAR} reference, never as a literal value"
            )
        self.variable = match["name"]

    def reveal(self) -> str:
        value = os.environ.get(self.variable)
        if value is None:
            raise ConfigError(f"environment variable {self.variable} (a secret) is not set")
        return value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretRef) and other.variable == self.variable

    def __hash__(self) -> int:
        return hash(self.variable)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls,
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda ref, info: ref if info.mode == "python" else "${" + ref.variable + "}",
                info_arg=True,
            ),
        )


COMPONENT_NAME = r"^[A-Za-z][A-Za-z0-9_-]*$"  # also a Storm component id
RETRY_DESCRIPTION = "how long faults (store down, timeouts, 5xx) are retried before the run stops"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class S3Options(Strict):
    """How to reach S3; by default boto3's standard chain (env, profile, instance role)."""

    endpoint_url: EnvHttpUrl | None = None
    region: EnvStr | None = None
    access_key_id: SecretRef | None = None
    secret_access_key: SecretRef | None = None
    max_attempts: int = Field(5, ge=1, le=20)


class LakeSourceConfig(Strict):
    """Replay lake partitions chosen by glob and/or observed-time range."""

    type: Literal["lake"]
    name: str = Field("lake", pattern=COMPONENT_NAME)
    parallelism: int = Field(1, ge=1, description="Storm: spout tasks, each a shard of writers")
    uri: EnvUrl  # a path or s3://bucket/prefix, never with user:password@
    glob: str | None = None
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    pace: float = Field(0.0, ge=0, description="0 = as fast as possible, N = N x real time")
    strict: bool = False
    max_retry_s: float = Field(60.0, ge=0, description=RETRY_DESCRIPTION)
    s3: S3Options = S3Options()

    @model_validator(mode="after")
    def _range_is_ordered(self) -> LakeSourceConfig:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError(f"since ({self.since}) must be before until ({self.until})")
        return self


class LakeSinkConfig(Strict):
    """Capture the stream into a lake (local path or s3://bucket/prefix)."""

    type: Literal["lake"]
    name: str = Field("lake", pattern=COMPONENT_NAME)
    parallelism: int = Field(1, ge=1, description="Storm: bolt tasks, each its own writer")
    uri: EnvUrl  # a path or s3://bucket/prefix, never with user:password@
    rotation: Literal["hour", "day"] = "hour"
    batch_items: int = Field(1000, ge=1)
    batch_bytes: int = Field(8 * 1024 * 1024, ge=1, le=MAX_SINK_BATCH_BYTES)
    batch_age_s: float = Field(1.0, ge=0)
    gzip: bool = False
    fsync: bool = True
    max_retry_s: float = Field(60.0, ge=0, description=RETRY_DESCRIPTION)
    s3: S3Options = S3Options()


class PostgresSinkConfig(Strict):
    """Extract features and load them into the PostgreSQL warehouse.

    Without `dsn`, ``$SHOOT2TOP_DSN`` is used, else the embedded PostgreSQL in the
    state directory. A DSN may hold a password, so it is a secret reference.
    """

    type: Literal["postgres"]
    name: str = Field("warehouse", pattern=COMPONENT_NAME)
    parallelism: int = Field(1, ge=1, description="Storm: bolt tasks")
    dsn: SecretRef | None = None
    batch_items: int = Field(5000, ge=1)
    batch_age_s: float = Field(1.0, ge=0)
    max_retry_s: float = Field(60.0, ge=0, description=RETRY_DESCRIPTION)
    migrate: bool = True


class RefreshStepConfig(Strict):
    until_age_h: float = Field(gt=0)
    every_min: float = Field(gt=0)


class TrackingOptions(Strict):
    """How a live source re-reads the metrics of items it emitted: a decaying schedule.

    Each step says "while the item is younger than `until_age_h`, refresh every
    `every_min`"; past the last step the item is no longer tracked. ``[]`` turns
    refreshes off. The default here is the only one (`RefreshTracker` has none).
    """

    schedule: list[RefreshStepConfig] = Field(
        default_factory=lambda: [
            RefreshStepConfig(until_age_h=1, every_min=5),
            RefreshStepConfig(until_age_h=6, every_min=15),
            RefreshStepConfig(until_age_h=48, every_min=60),
        ]
    )
    max_items: int = Field(100_000, ge=1, description="tracked at once; the oldest go first")

    def steps_s(self) -> list[tuple[float, float]]:
        """The schedule in seconds: ``(until age, every)`` pairs for `RefreshTracker`."""
        return [(step.until_age_h * 3600, step.every_min * 60) for step in self.schedule]

    @model_validator(mode="after")
    def _ages_increase(self) -> TrackingOptions:
        ages = [step.until_age_h for step in self.schedule]
        if ages != sorted(set(ages)):
            raise ValueError(f"schedule: until_age_h must strictly increase (got {ages})")
        return self


TOPICS_DESCRIPTION = "topic name -> query; each emitted item is tagged with its topic"


class XSourceConfig(Strict):
    """X/Twitter API v2: a filtered stream (rules synced from `topics`) or recent-search
    polling, plus metric refreshes of tracked tweets."""

    type: Literal["x"]
    name: str = Field("x", pattern=COMPONENT_NAME)
    parallelism: Literal[1] = 1
    bearer_token: SecretRef
    api_url: EnvHttpUrl = "https://api.x.com"
    mode: Literal["stream", "search"] = "stream"
    topics: dict[str, str] = Field(min_length=1, description=TOPICS_DESCRIPTION)
    poll_interval_s: float = Field(60.0, gt=0, description="search mode: between polls")
    keepalive_timeout_s: float = Field(30.0, gt=0, description="stream: silence = reconnect")
    tracking: TrackingOptions = TrackingOptions()


class YouTubeSourceConfig(Strict):
    """YouTube Data API v3: per topic, search new videos, read their details, and re-poll
    statistics of tracked videos, within the daily quota."""

    type: Literal["youtube"]
    name: str = Field("youtube", pattern=COMPONENT_NAME)
    parallelism: Literal[1] = 1
    api_key: SecretRef
    api_url: EnvHttpUrl = "https://youtube.googleapis.com/"
    topics: dict[str, str] = Field(min_length=1, description=TOPICS_DESCRIPTION)
    poll_interval_s: float = Field(900.0, gt=0, description="between searches of a topic")
    daily_quota_units: int = Field(10_000, ge=1, description="videos.list etc. (1 unit each)")
    daily_search_calls: int = Field(100, ge=1, description="search.list's own bucket")
    tracking: TrackingOptions = TrackingOptions()


class FacebookSourceConfig(Strict):
    """Facebook Graph API: configured Pages' posts and videos with performance fields,
    and video-insights refreshes of tracked videos."""

    type: Literal["facebook"]
    name: str = Field("facebook", pattern=COMPONENT_NAME)
    parallelism: Literal[1] = 1
    access_token: SecretRef
    api_url: EnvHttpUrl = "https://graph.facebook.com"
    api_version: str = Field("v26.0", pattern=r"^v\d+\.\d+$")
    pages: list[EnvStr] = Field(min_length=1, description="Page ids or usernames")
    poll_interval_s: float = Field(300.0, gt=0, description="between reads of a Page")
    throttle_at_pct: float = Field(
        80.0, gt=0, le=100, description="slow down when X-App-Usage reaches this"
    )
    tracking: TrackingOptions = TrackingOptions()


class SocketSinkConfig(Strict):
    """Serve the stream as newline-delimited JSON on a TCP port (Spark's socket source
    connects as a client); a bounded buffer holds items while no client is connected."""

    type: Literal["socket"]
    name: str = Field("socket", pattern=COMPONENT_NAME)
    parallelism: Literal[1] = 1
    host: EnvStr = "127.0.0.1"
    port: int = Field(9999, ge=0, le=65535, description="0 = any free port (logged)")
    buffer_items: int = Field(10_000, ge=1)
    when_full: Literal["block", "drop_oldest"] = Field(
        "block", description="no client connected and the buffer full: wait, or drop and count"
    )


class TrendFileSinkConfig(Strict):
    """Append trend events as JSON lines to a local file."""

    type: Literal["file"]
    name: str = Field("trend-file", pattern=COMPONENT_NAME)
    path: EnvStr


class TrendPostgresSinkConfig(Strict):
    """Upsert trend events into the warehouse's ``trends`` table (migration 0010).

    Without `dsn`, ``$SHOOT2TOP_DSN`` is used, else the embedded PostgreSQL."""

    type: Literal["postgres"]
    name: str = Field("trend-warehouse", pattern=COMPONENT_NAME)
    dsn: SecretRef | None = None


TrendSinkConfig = Annotated[
    TrendFileSinkConfig | TrendPostgresSinkConfig, Field(discriminator="type")
]
TermKind = Literal["hashtag", "cashtag", "keyword", "mention"]
TERM_KINDS: tuple[TermKind, ...] = ("hashtag", "cashtag", "keyword", "mention")


class TrendsConfig(Strict):
    """The trends analytics stage (docs/trends.md): every item the pipeline moves is
    counted; trend events go to `sinks`."""

    type: Literal["trends"]
    name: str = Field("trends", pattern=COMPONENT_NAME)
    method: Literal["signitrend", "seasonal", "ratio"] = "signitrend"
    kinds: list[TermKind] = Field(default_factory=lambda: list(TERM_KINDS), min_length=1)
    bucket_s: int = Field(300, ge=60, le=3600, description="time bucket (event time)")
    lateness_s: float = Field(LATENESS_S, ge=0, description="allowed lateness of an item")
    half_life_s: float = Field(6 * 3600, gt=0)
    warmup_s: float = Field(3 * 3600, ge=0, description="learn before deciding")
    min_volume: int = Field(5, ge=1, description="items in a bucket to trend")
    min_publishers: int = Field(3, ge=1, description="distinct publishers in a bucket")
    z_on: float = Field(4.0, gt=0)
    ratio_on: float = Field(3.0, gt=1)
    scopes: bool = Field(True, description="per platform too, not only across platforms")
    parallelism: int = Field(2, ge=1, le=64, description="detector tasks on Storm")
    sinks: list[
        Annotated[
            TrendFileSinkConfig | TrendPostgresSinkConfig | SocketSinkConfig | LakeSinkConfig,
            Field(discriminator="type"),
        ]
    ] = Field(
        min_length=1,
        description="trend sinks (file, postgres: the trends table) or ordinary sinks "
        "(socket, lake), which get each event emission as one JSON record",
    )

    @model_validator(mode="after")
    def _bucket_divides_an_hour(self) -> TrendsConfig:
        if 3600 % self.bucket_s:
            raise ValueError(f"bucket_s ({self.bucket_s}) must divide an hour (3600 s)")
        return self

    def detector_options(self) -> dict[str, Any]:
        exclude = {"type", "name", "kinds", "lateness_s", "parallelism", "sinks"}
        return self.model_dump(exclude=exclude)


class PlatformSourceConfig(Protocol):
    """What the runtime reads of any platform's live source config (a `Strict` model
    whose ``type`` is the platform's name: `shoot2top.platforms`)."""

    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def parallelism(self) -> int: ...


def _platform_source_configs() -> tuple[type[Strict], ...]:
    """Each registered platform's live source config class, checked to be tagged with
    the platform's name. Read while this module is imported: the built-in classes are
    defined above, and a new platform's module may import this one's building blocks."""
    configs: list[type[Strict]] = []
    for platform in platforms.registered("shoot2top.config"):
        config = platform.resolve("source_config")
        is_model = isinstance(config, type) and issubclass(config, Strict)
        tag = config.model_fields["type"].annotation if is_model else None
        if get_args(tag) != (platform.name,):
            raise platforms.PlatformError(
                f"platform {platform.name!r}: source_config {platform.source_config!r} must be "
                f'a Strict model with type: Literal["{platform.name}"]'
            )
        configs.append(config)
    return tuple(configs)


SOURCE_CONFIGS: tuple[type[Strict], ...] = (LakeSourceConfig, *_platform_source_configs())
SINK_CONFIGS = (LakeSinkConfig, PostgresSinkConfig, SocketSinkConfig)
TREND_SINK_CONFIGS = (TrendFileSinkConfig, TrendPostgresSinkConfig)
if TYPE_CHECKING:
    SourceConfig = LakeSourceConfig | PlatformSourceConfig
else:
    SourceConfig = Annotated[Union[SOURCE_CONFIGS], Field(discriminator="type")]  # noqa: UP007
SinkConfig = Annotated[
    LakeSinkConfig | PostgresSinkConfig | SocketSinkConfig, Field(discriminator="type")
]
_COMPONENTS: tuple[type[Strict], ...] = (*SOURCE_CONFIGS, *SINK_CONFIGS, *TREND_SINK_CONFIGS)
_TAGGED: tuple[type[Strict], ...] = (*_COMPONENTS, TrendsConfig)
_TYPE_TAGS = {tag for config in _TAGGED for tag in get_args(config.model_fields["type"].annotation)}
_WITH_SECRETS: tuple[type[Strict], ...] = (*_COMPONENTS, S3Options)
SECRET_FIELDS = frozenset(
    name
    for model in _WITH_SECRETS
    for name, field in model.model_fields.items()
    if "SecretRef" in str(field.annotation)
)
"""Names of the settings that hold secrets (``dsn``, ``secret_access_key``…)."""


class StormOptions(Strict):
    """How the pipeline runs as a Storm topology (ignored in-process)."""

    workers: int = Field(1, ge=1)
    max_spout_pending: int = Field(
        10_000, ge=1, description="items emitted by a spout task and not yet acked"
    )
    items_per_tuple: int = Field(
        100, ge=1, description="most items a tuple carries (what a source has ready at once)"
    )
    message_timeout_s: int = Field(60, ge=1)
    max_fails: int = Field(
        10, ge=0, description="re-emits of a failed item (backing off to 30 s) before dead-letter"
    )
    latency_log: EnvStr | None = Field(
        None, description="append each item's emit-to-durable latency (ms) to this file"
    )


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class PipelineConfig(Strict):
    """Sources and sinks of one pipeline, and where it keeps its state."""

    name: str = Field(pattern=PIPELINE_NAME)
    state_dir: EnvStr = ".shoot2top"
    checkpoint_interval_s: float = Field(5.0, gt=0)
    storm: StormOptions = StormOptions()
    sources: list[SourceConfig] = Field(min_length=1)
    sinks: list[SinkConfig] = Field(min_length=1)
    analytics: list[TrendsConfig] = Field(
        default_factory=list, description="analytics stages fed every item (docs/trends.md)"
    )

    @model_validator(mode="after")
    def _names_are_unique(self) -> PipelineConfig:
        stages: list[tuple[str, Sequence[_Named]]] = [
            ("source", self.sources),
            ("sink", self.sinks),
            ("analytics stage", self.analytics),
        ]
        stages += [(f"trend sink of {a.name!r}", a.sinks) for a in self.analytics]
        for kind, components in stages:
            names = [component.name for component in components]
            if len(set(names)) != len(names):
                duplicated = sorted({name for name in names if names.count(name) > 1})
                raise ValueError(
                    f"{kind} names must be unique (checkpoints and reports are keyed by "
                    f'them): {", ".join(duplicated)} used more than once; set "name"'
                )
        return self

    def redacted(self) -> dict[str, Any]:
        """The configuration as JSON with every secret shown as ``***``."""
        return _redact(self.model_dump(mode="python"))


def unset_secrets(config: PipelineConfig) -> list[tuple[str, str]]:
    """Every secret the config references whose variable is not set, as (variable,
    where), e.g. ``("X_BEARER_TOKEN", "source 'x'.bearer_token")``: a run can name them
    all at once before it starts."""
    missing = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, SecretRef):
            if value.variable not in os.environ:
                missing.append((value.variable, where))
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), f"{where}.{name}")

    for kind, components in (("source", config.sources), ("sink", config.sinks)):
        for component in components:
            walk(component, f"{kind} {component.name!r}")
    for stage in config.analytics:
        for sink in stage.sinks:
            walk(sink, f"analytics {stage.name!r} sink {sink.name!r}")
    return missing


def _redact(value: Any) -> Any:
    if isinstance(value, SecretRef):
        return "***"
    if isinstance(value, dict):
        return {key: _redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline config; `ConfigError` names the file and the key."""
    path = Path(path)
    try:
        raw = codec.loads(path.read_bytes())
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config: {error.strerror or error}") from None
    except codec.DecodeError as error:
        raise ConfigError(f"{path}: not valid JSON: {error}") from None
    return parse_config(raw, str(path))


def parse_config(raw: Any, origin: str) -> PipelineConfig:
    """Validate a decoded config (JSON types only: strict, no silent coercion)."""
    try:
        return PipelineConfig.model_validate_json(codec.dumps(raw))
    except ValidationError as error:
        problems = "; ".join(_describe(problem) for problem in error.errors())
        raise ConfigError(f"{origin}: {problems}") from None


def _describe(problem: Any) -> str:
    key = _key_path(problem["loc"])
    kind = problem["type"]
    if kind == "extra_forbidden":
        *parent, unknown = problem["loc"]
        close = difflib.get_close_matches(str(unknown), _keys_at(tuple(parent)), n=1, cutoff=0.6)
        return f"{key}: unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "missing":
        return f"{key}: missing key"
    message = problem["msg"].removeprefix("Value error, ")
    value = problem.get("input")
    if kind in ("union_tag_invalid", "union_tag_not_found", NO_ECHO) or _is_secret(problem):
        return f"{key}: {message}"  # never echo the input: it may be a literal secret
    if isinstance(value, dict | list):
        return f"{key}: {message} (got a JSON {'object' if isinstance(value, dict) else 'array'})"
    return f"{key}: {message} (got {value!r})"


def _keys_at(location: tuple[Any, ...]) -> list[str]:
    """The keys the config object at `location` (a validation error's path) takes, for a
    suggestion; none if the path cannot be followed."""
    node: Any = PipelineConfig
    for part in location:
        node = _step(node, part)
        if node is None:
            return []
    return [key for member in _members(node) if _is_model(member) for key in member.model_fields]


def _step(node: Any, part: Any) -> Any:
    """What `node` (a model, list, dict or union of them) holds at `part`: a field, an
    element, or the union member a discriminator tag names."""
    for member in _members(node):
        if _is_model(member) and isinstance(part, str):
            fields = member.model_fields
            if part in fields:
                return fields[part].annotation
            if "type" in fields and part in get_args(fields["type"].annotation):
                return member
        elif get_origin(member) is list and isinstance(part, int):
            return get_args(member)[0]
        elif get_origin(member) is dict and isinstance(part, str):
            return get_args(member)[1]
    return None


def _members(annotation: Any) -> list[Any]:
    """The types an annotation may hold, `Annotated` and unions unwrapped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [member for arg in get_args(annotation) for member in _members(arg)]
    return [annotation]


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _is_secret(problem: Any) -> bool:
    """Whether the problem is with a secret setting, whose input is never shown."""
    return any(part in SECRET_FIELDS for part in problem["loc"] if isinstance(part, str))


def _key_path(location: tuple[Any, ...]) -> str:
    """('sinks', 0, 'lake', 'batch_items') -> 'sinks[0].batch_items'."""
    text = ""
    previous_was_index = False
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
            previous_was_index = True
            continue
        if previous_was_index and part in _TYPE_TAGS:
            previous_was_index = False  # the discriminator tag pydantic inserts
            continue
        text += f".{part}" if text else str(part)
        previous_was_index = False
    return text or "(top level)"
