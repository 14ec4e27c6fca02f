"""Hearing the warehouse's commits: PostgreSQL LISTEN on the loaders' NOTIFY channel,
inside the server's asyncio loop (psycopg2's connection socket watched by the loop).

A lost connection (server restart) is reopened with backoff; while it is down the page
still refreshes on its timer, so nothing is missed for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import psycopg2
import psycopg2.extensions

from shoot2top import codec
from shoot2top.warehouse.database import WarehouseError, connect
from shoot2top.warehouse.dialect import COMMIT_CHANNEL

log = logging.getLogger(__name__)


class CommitListener:
    """Calls `on_commit(notice)` for every committed load (notice: component, loaded,
    dead_lettered) until `stop()`."""

    def __init__(self, dsn: str, on_commit: Callable[[dict[str, Any]], None]) -> None:
        self.dsn = dsn
        self.on_commit = on_commit
        self._connection: Any = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._close()

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self._open)
            except WarehouseError as error:
                log.warning("dashboard: cannot LISTEN (%s); again in %.0f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 0.5
            loop = asyncio.get_running_loop()
            self._lost.clear()
            loop.add_reader(self._connection.fileno(), self._drain)
            self.listening.set()
            await self._lost.wait()
            self.listening.clear()
            self._close()
            self.on_commit({"component": None, "loaded": 0, "dead_lettered": 0})  # catch up

    def _open(self) -> None:
        connection = connect(self.dsn)
        connection.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {COMMIT_CHANNEL}")
        self._connection = connection

    def _drain(self) -> None:
        try:
            self._connection.poll()
        except psycopg2.Error as error:
            log.warning("dashboard: the LISTEN connection was lost (%s)", error)
            self._lost.set()
            return
        while self._connection.notifies:
            notice = self._connection.notifies.pop(0)
            try:
                payload = codec.loads(notice.payload)
            except codec.DecodeError:
                payload = {}
            self.on_commit(payload if isinstance(payload, dict) else {})

    def _close(self) -> None:
        if self._connection is None:
            return
        with contextlib.suppress(RuntimeError, ValueError, psycopg2.Error):
            asyncio.get_running_loop().remove_reader(self._connection.fileno())
        with contextlib.suppress(psycopg2.Error):
            self._connection.close()
        self._connection = None
