"""A single-node Storm cluster for tests (`storm dev-zookeeper`, `storm nimbus`, `storm
supervisor` with their own storm.yaml on free loopback ports): the `storm_cluster`
fixture that tests/storm/test_cluster.py and test_trends.py import."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stormtest import REPO, storm_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError as error:
        return f"({error})"


@dataclass
class StormCluster:
    root: Path
    env: dict[str, str]  # for `storm` commands and `sparse submit` against this cluster
    nimbus_port: int
    daemons: dict[str, subprocess.Popen] = field(default_factory=dict)
    submitted: set[str] = field(default_factory=set)  # topologies to kill on stop

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def storm(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["storm", *args], env=self.env, cwd=self.root, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip

    def start(self, name: str, *args: str) -> None:
        out = (self.logs / f"{name}.out").open("w")
        self.daemons[name] = subprocess.Popen(
            ["storm", *args], env=self.env, cwd=self.root, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        out.close()

    def check_daemons(self) -> None:
        for name, process in self.daemons.items():
            assert process.poll() is None, (
                f"storm {name} exited with {process.returncode}\n{self.diagnostics()}"
            )

    def diagnostics(self) -> str:
        """The tails of the daemon and worker logs, for assertion messages."""
        parts = []
        for path in sorted(self.logs.rglob("*")):
            if path.is_file() and path.suffix in {".out", ".log", ".err"} and path.stat().st_size:
                parts.append(f"--- {path.relative_to(self.root)}\n{tail(path, 2500)}")
        return "\n".join(parts)[-20000:]

    def processes(self) -> list[int]:
        """Pids of every process of this cluster: daemons, workers and their Python
        subprocesses (whose working directory is under the cluster's local dir)."""
        mine = str(self.root)
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if mine in cmdline or cwd.startswith(mine):
                pids.append(int(entry.name))
        return pids

    def sink_bolts(self) -> list[int]:
        """The Python SinkBolt processes of this cluster."""
        found = subprocess.run(
            ["pgrep", "-f", "bolts.sink.SinkBolt"], capture_output=True, text=True
        ).stdout.split()
        ours = set(self.processes())
        return [int(pid) for pid in found if int(pid) in ours]

    def listed(self) -> str:
        result = self.storm("list", timeout=60)
        return result.stdout if result.returncode == 0 else ""

    def kill_topology(self, name: str) -> None:
        if name not in self.listed():
            return
        self.storm("kill", name, "-w", "1", timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and name in self.listed():
            time.sleep(1)

    def submit(
        self,
        pipeline: Path,
        dsn: str,
        log: Path,
        topology: str = "replay",
        env: dict[str, str] | None = None,
    ) -> None:
        """`sparse submit -n TOPOLOGY -e cluster -f`, with the warehouse for the workers."""
        environment = json.dumps({"SHOOT2TOP_DSN": dsn})
        env = {**self.env, "SHOOT2TOP_PIPELINE": str(pipeline), "SHOOT2TOP_DSN": dsn,
               **(env or {})}  # fmt: skip
        self.submitted.add(topology)
        with log.open("w") as out:
            result = subprocess.run(
                ["sparse", "submit", "-n", topology, "-e", "cluster", "-f",
                 "-o", f"topology.environment={environment}",
                 "-o", "topology.stats.sample.rate=1.0"],  # exact figures from Nimbus
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=600,
            )  # fmt: skip
        assert result.returncode == 0, f"sparse submit failed\n{tail(log, 6000)}"
        assert topology in self.listed(), f"{topology} not running\n{tail(log)}"

    def stop(self) -> None:
        try:
            if self.daemons.get("nimbus") and self.daemons["nimbus"].poll() is None:
                for topology in sorted(self.submitted):
                    self.kill_topology(topology)
        except Exception:
            pass
        for name in ("supervisor", "nimbus", "zookeeper"):
            process = self.daemons.get(name)
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        leftovers = self.processes()  # workers outlive their supervisor
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in leftovers):
            time.sleep(0.2)


def storm_yaml(root: Path, zookeeper: int, nimbus: int, supervisor: int, slots: list[int]) -> str:
    return "\n".join([
        'storm.zookeeper.servers: ["127.0.0.1"]',
        f"storm.zookeeper.port: {zookeeper}",
        f'dev.zookeeper.path: "{root / "zookeeper"}"',
        'nimbus.seeds: ["127.0.0.1"]',
        f"nimbus.thrift.port: {nimbus}",
        f"supervisor.thrift.port: {supervisor}",
        f"supervisor.slots.ports: {json.dumps(slots)}",
        'storm.local.hostname: "127.0.0.1"',
        f'storm.local.dir: "{root / "local"}"',
        f'storm.log.dir: "{root / "logs"}"',
        "worker.childopts: \"-Xmx512m\"",
        "supervisor.worker.start.timeout.secs: 180",
        "nimbus.task.launch.secs: 180",
        "",
    ])  # fmt: skip


@pytest.fixture(scope="module")
def storm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StormCluster]:
    """ZooKeeper, Nimbus and one Supervisor on loopback, on free ports, in a tmp dir.

    The daemons run with the project's virtualenv first on PATH: with `use_virtualenv`
    false the workers run `streamparse_run` from PATH. `sparse submit` finds this Nimbus
    through STREAMPARSE_NIMBUS (which overrides config.json's `nimbus`)."""
    if (Path.home() / ".storm" / "storm.yaml").exists():
        pytest.fail("~/.storm/storm.yaml would override the test cluster's configuration")
    root = tmp_path_factory.mktemp("storm-cluster")
    (root / "conf").mkdir()
    (root / "logs").mkdir()
    zookeeper, nimbus, supervisor = free_port(), free_port(), free_port()
    slots = [free_port(), free_port()]
    (root / "conf" / "storm.yaml").write_text(
        storm_yaml(root, zookeeper, nimbus, supervisor, slots)
    )
    env = {
        **storm_env(),
        "STORM_CONF_DIR": str(root / "conf"),
        "STORM_LOG_DIR": str(root / "logs"),
        "STORM_QUIET": "1",
        "STREAMPARSE_NIMBUS": f"127.0.0.1:{nimbus}",
    }
    for variable in ("SHOOT2TOP_DSN", "SHOOT2TOP_PIPELINE"):  # the workers get them per test
        env.pop(variable, None)
    cluster = StormCluster(root, env, nimbus)
    try:
        cluster.start("zookeeper", "dev-zookeeper")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cluster.check_daemons()
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", zookeeper)) == 0:
                    break
            time.sleep(0.5)
        else:
            pytest.fail(f"ZooKeeper did not listen on {zookeeper}\n{cluster.diagnostics()}")
        cluster.start("nimbus", "nimbus")
        cluster.start("supervisor", "supervisor")
        deadline = time.monotonic() + 180
        while True:
            cluster.check_daemons()
            result = cluster.storm("list", timeout=60)
            if result.returncode == 0:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"`storm list` never answered:\n{result.stderr[-3000:]}\n"
                            f"{cluster.diagnostics()}")  # fmt: skip
            time.sleep(2)
        yield cluster
    finally:
        cluster.stop()


def wait_for_supervisor(cluster: StormCluster) -> None:
    """Nimbus answers before the supervisor has registered; submit only once it has."""
    from streamparse.util import get_nimbus_client

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        cluster.check_daemons()
        try:
            client = get_nimbus_client(host="127.0.0.1", port=cluster.nimbus_port)
            if client.getClusterInfo().supervisors:
                return
        except Exception:
            pass
        time.sleep(1)
    pytest.fail(f"no supervisor registered with Nimbus\n{cluster.diagnostics()}")
