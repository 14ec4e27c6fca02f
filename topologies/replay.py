"""Replay lake partitions into the warehouse and other sinks, for algorithm development.

sparse run -n replay                      # pipelines/replay-sample.json
SHOOT2TOP_PIPELINE=pipelines/x.json sparse run -n replay
"""

from _wiring import topology_class

Replay = topology_class("Replay", "pipelines/replay-sample.json")
