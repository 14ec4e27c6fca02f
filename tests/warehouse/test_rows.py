"""COPY text: whatever the fields hold, the fast path gives the text PostgreSQL's
COPY format prescribes, the same as escaping every field; batches are prepared with
the garbage collector paused."""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime, timedelta

import pytest

from factories import tweet, video
from shoot2top.warehouse import loader
from shoot2top.warehouse.rows import Observation, copy_text, observe

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TEXTS = ["plain", "", "tab\there", "line\nbreak", "cr\rhere", "back\\slash", "\\N", "日本", "a\\tb"]


def field(value: object) -> str:
    """COPY text of one value, from the format's definition."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        value = value.decode()
    text = str(value)
    for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(raw, escaped)
    return text


def expected(rows: list[tuple]) -> bytes:
    return "".join("\t".join(map(field, row)) + "\n" for row in rows).encode()


def test_copy_text_escapes_exactly_what_needs_escaping() -> None:
    generator = random.Random(15)
    values = [*TEXTS, None, 0, -7, 2**62, 1.5, True, False, T0, T0 + timedelta(microseconds=1)]
    for _ in range(300):
        width = generator.randint(1, 6)
        rows = [
            tuple(generator.choice(values) for _ in range(width))
            for _ in range(generator.randint(1, 8))
        ]
        assert copy_text(rows) == expected(rows), rows
        strings = [tuple(generator.choice(TEXTS) for _ in range(width)) for _ in range(4)]
        assert copy_text(strings) == expected(strings), strings
        clean = [tuple(generator.choice(TEXTS[:2]) for _ in range(width)) for _ in range(4)]
        assert copy_text(clean) == expected(clean), clean


def test_the_raw_json_column_is_escaped_as_bytes_after_the_text_columns() -> None:
    rows = [
        ("x", "1", None, T0, 3, b'{"a":"b\\"c"}'),
        ("x", "tab\tid", "n\\o", T0, None, b'{"t":"\t\n\r"}'),
        ("x", "3", "ok", T0, 0, b"{}"),
    ]
    assert copy_text(rows) == expected(rows)
    assert copy_text([]) == b""


def test_the_loader_prepares_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def observing(item: dict) -> Observation:
        seen.append(gc.isenabled())
        return observe(item)

    monkeypatch.setattr(loader, "observe", observing)
    prepared = loader.WarehouseLoader("dbname=unused").prepare([tweet("1", T0), video("2", T0)])
    assert seen == [False, False] and gc.isenabled()
    assert len(prepared.encoded) == 2 and not prepared.rejected
