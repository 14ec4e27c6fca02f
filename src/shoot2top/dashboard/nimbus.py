"""A Storm topology's figures from Nimbus (Thrift ``getClusterInfo`` and
``getTopologyInfo``), for the pipeline-health view: Storm's own UI is not served for
the Storm this project runs, so the dashboard stands in for it.

Per component (spout or bolt), over all of its executors: tuples emitted, acked and
failed since the topology started, and the average complete latency (spouts) or process
latency (bolts), weighted by acked tuples. Storm's system streams (``__ack_ack`` …)
are left out. Uses streamparse's Thrift client (the ``storm`` extra).
"""

from __future__ import annotations

import warnings
from typing import Any

from shoot2top.dashboard.panels import table

ALL_TIME = ":all-time"


def topology_stats(host: str, port: int, timeout_ms: int = 5000) -> list[dict[str, Any]]:
    """One row per component of every running topology."""
    with warnings.catch_warnings():  # paramiko, which streamparse imports, warns on import
        warnings.simplefilter("ignore")
        from streamparse.util import get_nimbus_client

    client = get_nimbus_client(host=host, port=port, timeout=timeout_ms)
    rows = []
    for summary in client.getClusterInfo().topologies:
        info = client.getTopologyInfo(summary.id)
        components: dict[str, dict[str, Any]] = {}
        for executor in info.executors:
            if executor.component_id.startswith("__") or executor.stats is None:
                continue
            row = components.setdefault(executor.component_id, {
                "topology": info.name, "status": info.status, "uptime_s": info.uptime_secs,
                "workers": summary.num_workers, "component": executor.component_id,
                "kind": "", "executors": 0, "emitted": 0, "acked": 0, "failed": 0,
                "_latency": 0.0,
            })  # fmt: skip
            row["executors"] += 1
            row["emitted"] += _total(executor.stats.emitted)
            specific = executor.stats.specific
            stats = specific.spout or specific.bolt
            row["kind"] = "spout" if specific.spout else "bolt"
            latency = stats.complete_ms_avg if specific.spout else stats.process_ms_avg
            acked, failed = _per_stream(stats.acked), _per_stream(stats.failed)
            row["acked"] += sum(acked.values())
            row["failed"] += sum(failed.values())
            row["_latency"] += sum(
                acked.get(stream, 0) * ms for stream, ms in _per_stream(latency).items()
            )
        for row in components.values():
            weighted = row.pop("_latency")
            row["latency_ms"] = weighted / row["acked"] if row["acked"] else None
            rows.append(row)
    return rows


def _per_stream(windows: dict[str, dict[Any, Any]] | None) -> dict[Any, Any]:
    """The all-time figures by stream, without Storm's system streams."""
    streams = (windows or {}).get(ALL_TIME, {})
    return {stream: value for stream, value in streams.items() if not _system(stream)}


def _system(stream: Any) -> bool:
    name = getattr(stream, "streamId", stream)
    return isinstance(name, str) and name.startswith("__")


def _total(windows: dict[str, dict[Any, int]] | None) -> int:
    return int(sum(_per_stream(windows).values()))


def storm_table(host: str, port: int) -> dict[str, Any]:
    """The pipeline-health table of the Storm topologies (an unreachable Nimbus is a
    note, not a failure of the page)."""
    columns = [("topology", "topology", "text"), ("status", "status", "text"),
               ("component", "component", "text"), ("kind", "", "text"),
               ("executors", "executors", "int"), ("emitted", "emitted", "int"),
               ("acked", "acked", "int"), ("failed", "failed", "int"),
               ("latency_ms", "latency (ms)", "number"),
               ("uptime_s", "uptime (s)", "int")]  # fmt: skip
    title = f"Storm topologies (Nimbus {host}:{port})"
    try:
        rows = topology_stats(host, port)
    except Exception as error:  # Thrift, socket, or no streamparse installed
        return table(title, columns, [], f"Nimbus did not answer: {type(error).__name__}: {error}")
    note = "Complete latency for spouts, process latency for bolts; since each topology started."
    return table(title, columns, rows, note if rows else "No topology is running.")
