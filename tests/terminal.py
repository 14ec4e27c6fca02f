"""Running a command on a pseudo-terminal, as a person at a terminal would see it:
live progress bars and in-place refreshes only happen there."""

from __future__ import annotations

import os
import pty
import subprocess
import threading
from collections.abc import Sequence


class Terminal:
    """A process whose stdout and stderr are one pseudo-terminal; `output` grows as it
    writes (read by a thread, so the process never blocks on a full pty)."""

    def __init__(self, args: Sequence[str], *, env: dict[str, str] | None = None,
                 columns: int = 120) -> None:  # fmt: skip
        master, slave = pty.openpty()
        environment = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm", **(env or {})}
        self.process = subprocess.Popen(
            list(args), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=environment
        )
        os.close(slave)
        self._master = master
        self.output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # EIO: the process closed the terminal
                return
            if not chunk:
                return
            self.output.extend(chunk)

    @property
    def text(self) -> str:
        return bytes(self.output).decode(errors="replace")

    def wait(self, timeout: float = 120) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        os.close(self._master)
        return code
