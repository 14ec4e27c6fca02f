"""A toy fourth platform, registered the way docs/platforms.md says: one `Platform`.

Importing this module registers it; it must be imported before `shoot2top.posts` is
(a subprocess does: the test process has read the table long ago). Its parts are in
`toy_clip`, as a real platform's are in config.py, features.py and sources/.
"""

from __future__ import annotations

from typing import Any

from shoot2top.platforms import Platform, register


def clip_identity(payload: dict[str, Any], _: dict[str, Any]) -> tuple[Any, Any, Any]:
    return payload.get("clip_id"), payload.get("creator"), payload.get("posted_at")


PLATFORM = register(
    Platform(
        name="toy",
        type_key="clip",
        identity=clip_identity,
        extractor="toy_clip:extract_clip",
        source_config="toy_clip:ToySourceConfig",
        source="toy_clip:ToySource",
        secrets=("api_key",),
    )
)
