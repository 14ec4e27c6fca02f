"""The social platforms Shoot2Top knows, one registration each (`table.Platform`).

The built-in ones are registered here, in this order (the order of every derived
list); docs/platforms.md says how to add one.
"""

from __future__ import annotations

from shoot2top.platforms import facebook, x, youtube
from shoot2top.platforms.table import (
    Identity,
    Platform,
    PlatformError,
    by_name,
    register,
    registered,
)

__all__ = ["Identity", "Platform", "PlatformError", "by_name", "register", "registered"]

for _platform in (x.PLATFORM, youtube.PLATFORM, facebook.PLATFORM):
    register(_platform)
