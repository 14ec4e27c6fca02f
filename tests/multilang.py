"""Storm's multilang protocol, spoken from the test: a Python component in its own
process, driven over stdin/stdout exactly as a ShellSpout/ShellBolt would (no JVM)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SRC = Path(__file__).parents[1] / "src"


class Component:
    """`python -m streamparse.run CLASS`, after the handshake."""

    def __init__(self, target: str, conf: dict[str, Any], context: dict[str, Any], pid_dir: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamparse.run", target],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=SRC, env={**os.environ, "PYTHONPATH": str(SRC)}, text=True,
        )  # fmt: skip
        pid_dir.mkdir(parents=True, exist_ok=True)
        self.send({"conf": conf, "context": context, "pidDir": str(pid_dir)})
        self.pid = self.receive()["pid"]
        assert (pid_dir / str(self.pid)).exists()

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\nend\n")
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        """The next message that is not a log line."""
        assert self.process.stdout is not None
        while True:
            lines = []
            while (line := self.process.stdout.readline()) != "end\n":
                if not line:
                    raise EOFError(f"component exited: {self.process.stderr.read()}")
                lines.append(line)
            message = json.loads("".join(lines))
            if message.get("command") != "log":
                return message

    def next(self) -> list[dict[str, Any]]:
        """Ask a spout for tuples: its emits until it syncs."""
        self.send({"command": "next"})
        emitted = []
        while (message := self.receive())["command"] != "sync":
            emitted.append(message)
        return emitted

    def spout_answer(self, command: str, tuple_id: Any) -> None:
        self.send({"command": command, "id": tuple_id})
        assert self.receive() == {"command": "sync"}

    def tuple(
        self, tuple_id: str, values: list[Any], *, stream: str = "default", comp: str = "sample",
        task: int = 1,
    ) -> None:  # fmt: skip
        self.send({"id": tuple_id, "comp": comp, "stream": stream, "task": task, "tuple": values})

    def tick(self) -> None:
        self.tuple("tick", [1], stream="__tick", comp="__system", task=-1)

    def heartbeat(self) -> list[dict[str, Any]]:
        """Storm's heartbeat; returns what the bolt sent before answering it."""
        self.tuple("hb", [], stream="__heartbeat", comp="__system", task=-1)
        before = []
        while (message := self.receive()) != {"command": "sync"}:
            before.append(message)
        return before

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=30)


def context(component: str, tasks: int = 1, task: int = 1) -> dict[str, Any]:
    task_to_component = {str(t): component for t in range(1, tasks + 1)}
    task_to_component[str(tasks + 1)] = "__acker"
    return {"componentid": component, "taskid": task, "task->component": task_to_component}
