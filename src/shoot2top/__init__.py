"""Shoot2Top: near-real-time analytics for social video.

The library holds the streamable object (`posts`), the data lake (`lake`), sources,
sinks and the in-process runner (`pipeline`). It never imports Storm code.
"""

__version__ = "0.1.0"
