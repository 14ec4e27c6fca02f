"""Trend detection on Storm: spouts (live sources or a lake replay) → terms (the event
clock, one task) → detect (fields grouping on the term's shard, a CRC-32 of the term:
every use of a term reaches one task, which holds whole shards; watermarks to every
task) → events → the trends stage's sinks; the pipeline's item sinks read the spouts as
in `replay` and `ingest`. docs/storm.md, "The trends topology".

sparse run -n trends -e local             # pipelines/trends-sample.json
SHOOT2TOP_PIPELINE=my.json sparse run -n trends -e local  # "parallelism": detector tasks
"""

from _wiring import components, pipeline_path
from streamparse import Grouping, Topology

from bolts.trends import WATERMARK_STREAM, DetectBolt, EventsBolt, TermsBolt
from shoot2top.analytics.topology import trends_plan
from shoot2top.config import load_config
from shoot2top.runtime.topology import plan
from spouts.trends import END_STREAM, TrendsSourceSpout

PIPELINE = pipeline_path("pipelines/trends-sample.json")
wiring = plan(PIPELINE)
stage = trends_plan(load_config(PIPELINE), PIPELINE)
namespace = components(wiring, TrendsSourceSpout)
spouts = [namespace[spout.name] for spout in wiring.spouts]
terms = TermsBolt.spec(
    name=stage.terms,
    inputs={
        **{spout: Grouping.SHUFFLE for spout in spouts},
        **{spout[END_STREAM]: Grouping.ALL for spout in spouts},
    },
    par=1,
)
detect = DetectBolt.spec(
    name=stage.detect,
    inputs={terms: Grouping.fields("shard"), terms[WATERMARK_STREAM]: Grouping.ALL},
    par=stage.parallelism,
)
events = EventsBolt.spec(name=stage.events, inputs={detect: Grouping.SHUFFLE}, par=1)
namespace.update({stage.terms: terms, stage.detect: detect, stage.events: events})

Trends = type("Trends", (Topology,), namespace)
