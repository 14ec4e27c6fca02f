"""A local lake whose file creates can be held or refused on demand: what a full disk
or a slow one does to a lake sink's store, when a test needs it."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any

from shoot2top.lake.store import LocalStore


class FaultyStore(LocalStore):
    """Refuses the `refuse`-th create and every later one, until the test raises
    `refuse` (a full disk: ENOSPC through the store's own error path, so the error is
    the real one, naming the file, and is not retried). With `held`, every create
    first waits for `gate`: a store stays in progress as long as the test needs.
    `calls` counts the creates begun."""

    def __init__(
        self, root: str | Path, refuse: float = float("inf"), *, held: bool = False, **options: Any
    ) -> None:
        super().__init__(root, **options)
        self.refuse, self.calls = refuse, 0
        self.gate = threading.Event()
        if not held:
            self.gate.set()

    def create(self, folder: str, name: str, data: bytes) -> None:
        self.calls += 1
        assert self.gate.wait(30), "the test never opened the gate"
        if self.calls >= self.refuse:
            path = self.root / folder / name

            def full() -> None:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

            self._retrying(f"write {path}", full)
        super().create(folder, name, data)
