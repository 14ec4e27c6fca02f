"""Recommendation results as plain rows (for the CLI's table, CSV or JSON output)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any


def as_rows(results: Iterable[Any], columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Dataclass instances as dicts (only `columns`, in that order, when given), floats
    rounded for reading: 3 decimals below 10, 1 above."""
    rows = []
    for result in results:
        if not is_dataclass(result) or isinstance(result, type):
            raise TypeError(f"expected dataclass instances, got {type(result).__name__}")
        fields = asdict(result)
        chosen = columns or list(fields)
        rows.append({name: _readable(fields[name]) for name in chosen})
    return rows


def _readable(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3) if abs(value) < 10 else round(value, 1)
    if isinstance(value, tuple):
        return ", ".join(str(_readable(part)) for part in value) or None
    return value
