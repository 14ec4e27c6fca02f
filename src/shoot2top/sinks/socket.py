"""Socket sink for Spark (to be written)."""

from __future__ import annotations

from typing import Any

from shoot2top.config import SocketSinkConfig
from shoot2top.sinks.base import Sink


class SocketSink(Sink):
    def __init__(self, config: SocketSinkConfig) -> None:
        super().__init__(config.name)
        raise NotImplementedError

    def _write(self, item: dict[str, Any]) -> None:
        raise NotImplementedError

    def _store(self) -> None:
        raise NotImplementedError
