"""A pipeline config as a Storm topology — everything but the Storm code itself.

One spout per source and one bolt per sink, each bolt reading every spout; parallelism
and workers from the config. The pipeline travels in the topology's configuration with
its secrets still as ``${VAR}`` references: each worker resolves them from its own
environment when it builds its component (`tracked_source`, `acking_sink`). The Storm
adapters (``src/spouts``, ``src/bolts``) and topologies (``topologies/``) stay thin.
"""

from __future__ import annotations

import base64
import gc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard

from shoot2top import codec
from shoot2top.config import (
    LakeSinkConfig,
    LakeSourceConfig,
    PipelineConfig,
    TrendFileSinkConfig,
    load_config,
    parse_config,
)
from shoot2top.lake.store import parse_uri
from shoot2top.runtime.components import build_sink, build_source
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.delivery import AckingSink, TrackedSource
from shoot2top.runtime.retry import expect_outages_from_the_start
from shoot2top.runtime.state import Checkpoints, pipeline_dir
from shoot2top.sources.base import Item

PIPELINE_KEY = "shoot2top.pipeline"
TICK_SECONDS = 1
TUPLE_COMPRESSION = 1
"""Zstandard level of the items in a tuple. On 100-item tuples of sample items, level 1
takes 6.5x off the characters (zlib level 1: 4.2x) for a quarter of zlib's CPU: 1.5 vs
5.8 us per item to compress, 1.2 vs 3.4 us to decompress (base64 included)."""


IDLE_WAIT = {
    "topology.bolt.wait.progressive.level2.count": 0,
    "topology.backpressure.wait.progressive.level2.count": 0,
}
"""An idle bolt executor (or one waiting out backpressure) sleeps 1 ms at once instead of
first parking 1,000 times: the parking loops took half the JVM's CPU in a replay
(27 -> 12 us/item, paired runs on 2 cores) for at most a millisecond of latency."""


@dataclass(frozen=True)
class Component:
    name: str
    parallelism: int


@dataclass(frozen=True)
class TopologyPlan:
    """What a topology wires: spouts, bolts (each reading every spout) and its conf."""

    name: str
    spouts: tuple[Component, ...]
    bolts: tuple[Component, ...]
    storm_conf: dict[str, Any]


def plan(config_path: str | Path) -> TopologyPlan:
    """The topology for a pipeline config file; relative paths resolved here, on the
    machine that builds the topology, so workers find the same lake and state."""
    config = absolute_paths(load_config(config_path), Path.cwd())
    storm = config.storm
    return TopologyPlan(
        name=config.name,
        spouts=tuple(Component(s.name, s.parallelism) for s in config.sources),
        bolts=tuple(Component(s.name, s.parallelism) for s in config.sinks),
        storm_conf={
            PIPELINE_KEY: carried(config),
            "topology.workers": storm.workers,
            # Tuples, not items: a tuple carries at least one item, so this never binds
            # before the spout's own item bound (a live source's tuples carry one or two).
            "topology.max.spout.pending": storm.max_spout_pending,
            "topology.message.timeout.secs": storm.message_timeout_s,
            "topology.tick.tuple.freq.secs": TICK_SECONDS,
            **IDLE_WAIT,
        },
    )


def carried(config: PipelineConfig) -> str:
    """The pipeline as JSON text for the topology's configuration.

    Every ``$`` is written as the JSON escape ``\\u0024``: Flux (which `sparse run`
    uses) substitutes ``${...}`` in its YAML before parsing it and fails on our secret
    references; the escape is the same JSON to every reader.
    """
    return codec.dumps(config.model_dump(mode="json")).decode().replace("$", "\\u0024")


def absolute_paths(config: PipelineConfig, base: Path) -> PipelineConfig:
    """The config with its state directory, local lake paths and trend files made
    absolute: Storm workers run in directories of their own."""

    def local(uri: str) -> str:
        scheme, root, _ = parse_uri(uri)
        return str((base / root).resolve()) if scheme == "file" else uri

    updates: dict[str, Any] = {"state_dir": str((base / config.state_dir).resolve())}
    updates["sources"] = [
        s.model_copy(update={"uri": local(s.uri)}) if isinstance(s, LakeSourceConfig) else s
        for s in config.sources
    ]
    updates["sinks"] = [
        s.model_copy(update={"uri": local(s.uri)}) if isinstance(s, LakeSinkConfig) else s
        for s in config.sinks
    ]
    updates["analytics"] = [
        stage.model_copy(
            update={
                "sinks": [
                    s.model_copy(update={"path": str((base / s.path).resolve())})
                    if isinstance(s, TrendFileSinkConfig)
                    else s
                    for s in stage.sinks
                ]
            }
        )
        for stage in config.analytics
    ]
    return config.model_copy(update=updates)


def tuple_of(items: list[Item], emitted_at: float) -> list[Any]:
    """A spout's tuple values: its items as one compressed string, and the emit time."""
    try:
        text = codec.dumps(items)
    except codec.EncodeError:  # an integer beyond 64 bits: written exactly, item by item
        text = codec.encode_array([codec.encode_item(item) for item in items])
    return tuple_of_json(text, emitted_at)


def tuple_of_json(text: bytes, emitted_at: float) -> list[Any]:
    """A spout's tuple values from its items already encoded as one JSON array.

    The items travel as that array, Zstandard-compressed (level 1) and base64-encoded:
    one string value instead of a tree of maps, and a fifth of the characters. Storm's
    multilang protocol is JSON on both sides of the JVM, which parses and re-encodes
    every character of every tuple, so characters, not items, are what a tuple costs.
    """
    packed = zstandard.compress(text, TUPLE_COMPRESSION)
    return [base64.b64encode(packed).decode(), emitted_at]


def items_of(value: Any) -> list[Item]:
    """The items in a tuple: a compressed string from our spouts (`tuple_of`); a JSON
    array string, an item object or a list of them from other spouts."""
    if isinstance(value, str):
        encoded = value.encode()
        if not encoded.startswith((b"[", b"{")):
            encoded = zstandard.decompress(base64.b64decode(encoded, validate=True))
        value = codec.loads_exact(encoded)
    return value if isinstance(value, list) else [value]


def collect_less() -> None:
    """For the rest of this process, let the cyclic garbage collector run as seldom as it
    does in the in-process runner's loop (`codec.fewer_collections`): a spout or bolt
    process moves decoded items all its life, trees with no cycle for it to find."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(codec.COLLECT_EVERY, threshold[0]), *threshold[1:])


def pipeline_of(storm_conf: dict[str, Any]) -> PipelineConfig:
    """The pipeline a topology carries (secrets still references)."""
    raw = storm_conf.get(PIPELINE_KEY)
    if raw is None:
        raise KeyError(f"topology configuration has no {PIPELINE_KEY!r}: not a shoot2top topology")
    return parse_config(codec.loads(raw), f"topology configuration {PIPELINE_KEY}")


def _named(components: Sequence[Any], name: str, kind: str) -> Any:
    """The component config called `name`; a topology out of step with its pipeline
    config (renamed in one, not the other) fails naming both sides."""
    for component in components:
        if component.name == name:
            return component
    known = ", ".join(repr(component.name) for component in components) or "none"
    raise KeyError(f"the pipeline config has no {kind} named {name!r} (its {kind}s: {known})")


def tracked_source(
    storm_conf: dict[str, Any], component: str, task: int, tasks: int
) -> TrackedSource:
    """The spout task's source: its shard of the lake, its own checkpoint."""
    expect_outages_from_the_start()
    collect_less()
    config = pipeline_of(storm_conf)
    source_config = _named(config.sources, component, "source")
    home = pipeline_dir(config.state_dir, config.name)
    shard_name = component if tasks == 1 else f"{component}-{task}of{tasks}"
    checkpoints = Checkpoints(home / f"checkpoint-{shard_name}.json")
    dead_letters = DeadLetters(home / "deadletter.jsonl")
    resume = checkpoints.load().get(component)
    source = build_source(source_config, resume, dead_letters, shard=(task, tasks))
    return TrackedSource(
        source,
        checkpoints=checkpoints,
        dead_letters=dead_letters,
        max_pending=config.storm.max_spout_pending,
        max_fails=config.storm.max_fails,
        items_per_message=config.storm.items_per_tuple,
        checkpoint_interval_s=config.checkpoint_interval_s,
        as_text=True,  # every bolt decodes a tuple's items itself (`items_of`)
    )


def acking_sink(storm_conf: dict[str, Any], component: str) -> AckingSink:
    """The bolt task's sink, rebuilt fresh after a failed write."""
    expect_outages_from_the_start()
    collect_less()
    config = pipeline_of(storm_conf)
    sink_config = _named(config.sinks, component, "sink")
    dead_letters = DeadLetters(pipeline_dir(config.state_dir, config.name) / "deadletter.jsonl")
    return AckingSink(
        lambda: build_sink(sink_config, config.state_dir, dead_letters),
        latency_log=config.storm.latency_log,
    )
