"""Live sources (X, YouTube, Facebook) into the lake and the warehouse.

sparse run -n ingest -e local             # pipelines/ingest.json
SHOOT2TOP_PIPELINE=pipelines/x-to-local-lake.json sparse run -n ingest -e local
"""

from _wiring import topology_class

Ingest = topology_class("Ingest", "pipelines/ingest.json")
