"""Wires a pipeline config into a streamparse topology: a spout per source, a bolt per
sink reading every spout. The plan (names, parallelism, configuration) is the library's;
this only spells it in streamparse's DSL."""

from __future__ import annotations

import os
from typing import Any

from streamparse import Grouping, Topology

from bolts.sink import SinkBolt
from shoot2top.runtime.topology import TopologyPlan, plan
from spouts.source import SourceSpout

PIPELINE_VARIABLE = "SHOOT2TOP_PIPELINE"


def pipeline_path(default_pipeline: str) -> str:
    """``$SHOOT2TOP_PIPELINE``, else `default_pipeline`."""
    return os.environ.get(PIPELINE_VARIABLE, default_pipeline)


def components(
    wiring: TopologyPlan, spout_class: type[SourceSpout] = SourceSpout
) -> dict[str, Any]:
    """The topology's namespace: its conf, a spout per source, a sink bolt per sink."""
    spouts = {
        spout.name: spout_class.spec(name=spout.name, par=spout.parallelism)
        for spout in wiring.spouts
    }
    namespace: dict[str, Any] = {"config": wiring.storm_conf, **spouts}
    for bolt in wiring.bolts:
        namespace[bolt.name] = SinkBolt.spec(
            name=bolt.name,
            inputs={spout: Grouping.SHUFFLE for spout in spouts.values()},
            par=bolt.parallelism,
        )
    return namespace


def topology_class(class_name: str, default_pipeline: str) -> type[Topology]:
    """The topology for ``$SHOOT2TOP_PIPELINE`` (else `default_pipeline`)."""
    return type(class_name, (Topology,), components(plan(pipeline_path(default_pipeline))))
