"""The quick-start notebook runs clean against the demo's data (executed with nbclient
in a real Jupyter kernel); the executed copy is kept with the test's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoot2top.analytics.detector import DetectorOptions
from shoot2top.analytics.outputs import WarehouseEvents
from shoot2top.analytics.stage import TrendStage
from shoot2top.lake.store import LocalStore
from shoot2top.sources.lake import LakeSource
from shoot2top.warehouse.loader import WarehouseLoader

REPO = Path(__file__).parents[1]


@pytest.mark.slow
def test_the_quickstart_notebook_runs_clean_on_the_demo_data(
    postgres_server, tmp_path, monkeypatch
):
    import nbformat  # here, not at the top: its import takes 1.7 s of every collection
    from nbclient import NotebookClient

    dsn = postgres_server.new_database(migrated=True)
    demo_lake = LocalStore(REPO / "data" / "sample-lake")  # what scripts/demo.sh loads
    items = [item for item in LakeSource(demo_lake) if item is not None]
    WarehouseLoader(dsn).load(items)
    # and its trends stage (pipelines/replay-sample.json's options)
    stage = TrendStage(DetectorOptions(bucket_s=900, min_volume=3, z_on=2.5), lateness_s=900)
    events = WarehouseEvents(dsn)
    events.send([*stage.process(items), *stage.finish()])
    events.close()
    monkeypatch.setenv("SHOOT2TOP_DSN", dsn)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(REPO / "notebooks" / "quickstart.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    client.execute()  # raises CellExecutionError naming the cell on any error
    nbformat.write(notebook, tmp_path / "quickstart.executed.ipynb")
    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.outputs]  # fmt: skip
    assert not [output for output in outputs if output.output_type == "error"]
    warnings = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not warnings  # clean: no warning either
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) >= 4  # live curve, publishers, videos, timing
    text = "\n".join(str(output.get("data", {}).get("text/plain", "")) + output.get("text", "")
                     for output in outputs)  # fmt: skip
    assert "newest observation: 2026-11-22" in text
    assert "midnightdrop" in text and "hailstorm" in text  # the planted trends
