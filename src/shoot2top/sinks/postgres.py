"""The warehouse sink: batches items and loads each batch in one transaction.

A batch closes by count or age (default 1 s). Its items are durable once the
transaction commits; rejected rows are in ``dead_letters`` by then, so they count as
handled too.
"""

from __future__ import annotations

from typing import Any

from shoot2top.sinks.base import Sink
from shoot2top.warehouse.loader import WarehouseLoader


class PostgresSink(Sink):
    """Feature extraction and idempotent loads into PostgreSQL."""

    def __init__(
        self,
        loader: WarehouseLoader,
        *,
        name: str = "warehouse",
        batch_items: int = 5000,
        batch_age_s: float = 1.0,
    ) -> None:
        super().__init__(name, batch_age_s=batch_age_s)
        if batch_items < 1:
            raise ValueError(
                f"postgres sink {name!r}: batch_items must be >= 1 (got {batch_items})"
            )
        self.loader = loader
        self.batch_items = batch_items
        self.loaded = 0
        self.dead_lettered = 0
        self._batch: list[dict[str, Any]] = []

    def _write(self, item: dict[str, Any]) -> None:
        self._batch.append(item)
        if len(self._batch) >= self.batch_items:
            self.flush()

    def _store(self) -> None:
        result = self.loader.load(self._batch)
        self.loaded += result.loaded
        self.dead_lettered += result.dead_lettered
        self._batch = []

    def report(self) -> str:
        return f"loaded {self.loaded:,} items, dead-lettered {self.dead_lettered:,}"

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.loader.close()
