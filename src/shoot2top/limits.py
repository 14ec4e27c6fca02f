"""The documented limits on what the platform accepts, in one place.

Beyond them an input is dead-lettered, alone, with the reason; it never stops the stream
and never takes the machine's memory. docs/failure-modes.md explains each figure.
"""

from __future__ import annotations

MAX_DEPTH = 254
"""Levels of nesting an item may have (the item's own object is level 1). This is the
most the JSON codec (orjson) encodes; API payloads nest fewer than 15. A sink refuses a
deeper item when it encodes it; a lake-to-lake run, which moves items as their stored
text and encodes nothing (`shoot2top.encoded`), copies one the reader accepts (up to
about 1,000 levels) byte for byte."""

MAX_ITEM_BYTES = 4 * 1024 * 1024
"""Largest item, as compact JSON: 4 MiB, some 400 times the largest API payload seen. An
item kept as its stored text is measured as stored; above the limit it is encoded
compactly and measured again (stored with spaces or escapes, it may fit)."""

MAX_BATCH_BYTES = 32 * 1024 * 1024
"""Largest micro-batch file a reader accepts, after gzip inflation: 32 MiB. A larger file
(or one that inflates beyond it: a decompression bomb) is dead-lettered unread, so the
memory a replay needs per file stays bounded."""

MAX_SINK_BATCH_BYTES = MAX_BATCH_BYTES - MAX_ITEM_BYTES - 2
"""Highest `batch_bytes` a lake sink accepts: a batch closes once it reaches
`batch_bytes` (each item counted with its separator), so its file may hold one item
more, and the closing bracket, and must still be readable."""
