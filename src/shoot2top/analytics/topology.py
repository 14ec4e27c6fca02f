"""The trends topology's plan and its tasks' state, from the pipeline config — no Storm.

Wiring (``topologies/trends.py``): the pipeline's spouts (live or lake replay) and item
sinks as in the other topologies, plus, for its trends stage (``"analytics": [{"type":
"trends", ...}]``): a terms bolt (one task: the event clock sees every item in arrival
order) reading every spout → a detector bolt, fields grouping on the term's ``shard`` for
the term uses and all grouping for the watermarks (the stage's ``parallelism`` tasks, default
2) → an events bolt (one task) writing the stage's trend sinks. Each task keeps
its state in the pipeline's state directory (`tasks.state_file`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from shoot2top.analytics.events import TrendEvent
from shoot2top.analytics.outputs import EventSink
from shoot2top.analytics.sketch import shard_of
from shoot2top.analytics.tasks import ClockTask, DetectorTask, state_file
from shoot2top.analytics.terms import TermUse
from shoot2top.config import LakeSourceConfig, PipelineConfig, TrendsConfig
from shoot2top.runtime.components import build_trend_sinks
from shoot2top.runtime.state import pipeline_dir
from shoot2top.runtime.topology import pipeline_of

# A use's fields and its term's shard, the fields grouping's key: a detector task holds
# whole shards, so its sketches decide as one detector of all terms would (sketch.py).
USE_FIELDS = [*(f.name for f in fields(TermUse)), "shard"]
EVENT_FIELDS = [f.name for f in fields(TrendEvent)]
EVENT_STREAM_FIELDS = ["event"]  # one JSON string: `event_values`


@dataclass(frozen=True)
class TrendsPlan:
    """The trends stage's components: names and the detector's parallelism."""

    stage: str
    terms: str
    detect: str
    events: str
    parallelism: int


def trends_of(config: PipelineConfig, where: str = "the pipeline") -> TrendsConfig:
    """The pipeline's trends stage (the first one); an error names the pipeline."""
    stages = [stage for stage in config.analytics if stage.type == "trends"]
    if not stages:
        raise ValueError(
            f"{where} ({config.name!r}) has no trends stage: add "
            '"analytics": [{"type": "trends", "sinks": [...]}]'
        )
    return stages[0]


def trends_plan(config: PipelineConfig, where: str = "the pipeline") -> TrendsPlan:
    stage = trends_of(config, where)
    live = [s.name for s in config.sources if not isinstance(s, LakeSourceConfig)]
    hold = stage.lateness_s + 2 * stage.bucket_s  # an item is acked once its bucket closes
    if live and config.storm.message_timeout_s < hold:
        raise ValueError(
            f"{where}: storm.message_timeout_s ({config.storm.message_timeout_s}) must be at "
            f"least the trends stage's lateness_s + 2 x bucket_s ({hold:g}) with a live "
            f"source ({live[0]!r}): its items stay in flight until their bucket closes"
        )
    used = {s.name for s in config.sources} | {s.name for s in config.sinks}
    plan = TrendsPlan(stage.name, *names(stage), stage.parallelism)
    taken = used & {plan.terms, plan.detect, plan.events}
    if taken:
        raise ValueError(f"{where}: component name {sorted(taken)[0]!r} is taken by the "
                         f"trends stage {stage.name!r}: rename that source or sink")  # fmt: skip
    return plan


def names(stage: TrendsConfig) -> tuple[str, str, str]:
    """The trends stage's components: terms, detect, events."""
    return f"{stage.name}-terms", f"{stage.name}-detect", f"{stage.name}-events"


def terms_component(storm_conf: dict[str, Any]) -> str:
    return names(trends_of(pipeline_of(storm_conf)))[0]


def source_names(storm_conf: dict[str, Any]) -> set[str]:
    return {source.name for source in pipeline_of(storm_conf).sources}


def _home(config: PipelineConfig) -> Path:
    return pipeline_dir(config.state_dir, config.name)


def clock_task(storm_conf: dict[str, Any], component: str) -> ClockTask:
    """The terms task's clock, restored from its state file if it has one."""
    config = pipeline_of(storm_conf)
    stage = trends_of(config)
    return ClockTask.open(state_file(_home(config), component, 0), bucket_s=stage.bucket_s,
                          lateness_s=stage.lateness_s, kinds=stage.kinds)  # fmt: skip


def detector_task(
    storm_conf: dict[str, Any], component: str, index: int, upstream: Iterable[Any]
) -> DetectorTask:
    """Detector task `index`, restored from its state file if it has one."""
    config = pipeline_of(storm_conf)
    options = trends_of(config).detector_options()
    return DetectorTask.open(state_file(_home(config), component, index), upstream, **options)


def event_sinks(storm_conf: dict[str, Any]) -> list[EventSink]:
    """The trends stage's sinks (a warehouse DSN resolved in this worker)."""
    config = pipeline_of(storm_conf)
    return build_trend_sinks(trends_of(config), config.state_dir)


def use_values(use: TermUse) -> list[Any]:
    return [*(getattr(use, name) for name in USE_FIELDS[:-1]), shard_of(use.term)]


def use_of(values: Sequence[Any]) -> TermUse:
    return TermUse(*values[:-1])


def event_values(event: TrendEvent) -> str:
    """An event as one JSON string (all its fields, exactly)."""
    return json.dumps([getattr(event, name) for name in EVENT_FIELDS])


def event_of(text: str) -> TrendEvent:
    values = dict(zip(EVENT_FIELDS, json.loads(text), strict=True))
    values["top_items"] = tuple(tuple(item) for item in values["top_items"])
    return TrendEvent(**values)
