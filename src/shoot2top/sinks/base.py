"""What every sink is: ``write``, ``flush``, ``close``, and which writes are durable.

Each ``write`` returns a ticket (1, 2, 3, ...). ``durable_ticket`` is the highest ticket
whose item is safely stored; everything at or below it survives a crash. The Storm bolt
acks a tuple only once its ticket is durable, and the runner checkpoints its sources only
when every sink is durable through its last write.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Sink(ABC):
    """A destination for items, batching as its target needs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.last_ticket = 0
        self.durable_ticket = 0

    def write(self, item: dict[str, Any]) -> int:
        """Accept one item; return its ticket. May flush a full batch on the way."""
        self.last_ticket += 1
        self._write(item, self.last_ticket)
        return self.last_ticket

    @abstractmethod
    def _write(self, item: dict[str, Any], ticket: int) -> None: ...

    @abstractmethod
    def flush(self) -> None:
        """Make every written item durable (``durable_ticket == last_ticket``)."""

    def tick(self) -> None:
        """Called while the stream is idle or between items: flush batches that aged out."""

    def close(self) -> None:
        """Flush and release resources; the sink is not used afterwards."""
        self.flush()

    def report(self) -> str:
        """One line on what the sink has done, for the run summary."""
        return f"{self.durable_ticket:,} items stored"

    @property
    def pending(self) -> int:
        """Items written but not yet durable."""
        return self.last_ticket - self.durable_ticket
