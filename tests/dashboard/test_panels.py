"""The dashboard's views without a browser: the publisher view's extension point, and
Nimbus that does not answer."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from shoot2top.dashboard import panels
from shoot2top.dashboard.nimbus import storm_table


def test_publisher_panels_can_be_registered_and_a_failing_one_stays_in_its_place(monkeypatch):
    monkeypatch.setattr(panels, "_PUBLISHER_PANELS", [])
    context = panels.PanelContext(connection=None, series=[], now=datetime.now(UTC))
    before = panels.publisher_view(context)
    assert [t["title"] for t in before["tables"]] == ["Publishers"]
    assert "shoot2top recommend" in before["notes"][0]  # where timing and terms will go

    def when_to_post(context):
        return panels.table("When to post", [("hour", "hour (UTC)", "int")], [{"hour": 18}])

    def broken(context):
        raise RuntimeError("no model yet")

    panels.register_publisher_panel("timing", when_to_post)
    panels.register_publisher_panel("terms", broken)
    after = panels.publisher_view(context)
    assert [t["title"] for t in after["tables"]] == ["Publishers", "When to post", "terms"]
    assert after["tables"][1]["rows"] == [{"hour": 18}]
    assert "this panel failed: RuntimeError: no model yet" in after["tables"][2]["note"]
    assert after["notes"] == []


def test_a_nimbus_that_does_not_answer_is_a_note_not_a_failure():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    shown = storm_table("127.0.0.1", port)
    assert shown["rows"] == [] and shown["note"].startswith("Nimbus did not answer")
    assert shown["title"] == f"Storm topologies (Nimbus 127.0.0.1:{port})"
