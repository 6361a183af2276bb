"""What durability costs Titanic: acknowledged requests per second, fsync on vs off.

Starts a Majordomo broker, one echo worker and ``titanic.service`` on
loopback, then has ``--clients`` threads (one MDP client each) call
``titanic.request`` back to back for ``--seconds`` and counts the 200s. The
same run is repeated with ``--no-fsync``; the table shows both rates and
their ratio. A 200 from the fsync run means the request was on disk; from the
``--no-fsync`` run it only means the bytes reached the page cache.

    .venv/bin/python bench/titanic_bench.py [--seconds 5] [--clients 4] [--data-dir DIR]

The data directory must be on the disk you care about (not tmpfs, where
fsync is free). By default a temporary directory under the current
directory is used and removed afterwards.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import zmq
from common import free_port

from patterns.common.errors import RequestAbandoned
from patterns.majordomo.client import MajordomoClient

HEARTBEAT_MS = "250"



@dataclass
class Result:
    fsync: bool
    acked: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0


class Stack:
    """Broker + echo worker + Titanic as child processes; killed on exit."""

    def __init__(self, data_dir: Path, fsync: bool) -> None:
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.data_dir = data_dir
        self.fsync = fsync
        self.procs: list[subprocess.Popen] = []

    def _spawn(self, *args: str) -> None:
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", *args],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    def __enter__(self) -> Stack:
        self._spawn(
            "patterns.majordomo.broker", "--bind", self.endpoint, "--heartbeat-ms", HEARTBEAT_MS
        )
        self._spawn(
            "patterns.majordomo.worker",
            "--connect",
            self.endpoint,
            "--service",
            "echo",
            "--heartbeat-ms",
            HEARTBEAT_MS,
        )
        self._spawn(
            "patterns.titanic.service",
            "--connect",
            self.endpoint,
            "--data-dir",
            str(self.data_dir),
            "--heartbeat-ms",
            HEARTBEAT_MS,
            "--fsync" if self.fsync else "--no-fsync",
        )
        return self

    def __exit__(self, *_exc: object) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def wait_ready(endpoint: str, context: zmq.Context, timeout: float = 20.0) -> None:
    """Until titanic.request answers (bounded)."""
    deadline = time.monotonic() + timeout
    client = MajordomoClient(endpoint, timeout_ms=500, retries=1, context=context)
    try:
        while time.monotonic() < deadline:
            try:
                if client.send(b"titanic.request", [b"echo", b"warm-up"])[0][:3] == b"200":
                    return
            except RequestAbandoned:
                pass
        raise SystemExit("Titanic did not come up")
    finally:
        client.close()


def measure(endpoint: str, clients: int, seconds: float) -> tuple[int, float]:
    context = zmq.Context()
    wait_ready(endpoint, context)
    counts = [0] * clients
    start_at = time.monotonic() + 0.2
    stop_at = start_at + seconds

    def load(index: int) -> None:
        client = MajordomoClient(endpoint, timeout_ms=2000, retries=1, context=context)
        try:
            while time.monotonic() < start_at:
                time.sleep(0.001)
            seq = 0
            while time.monotonic() < stop_at:
                seq += 1
                body = f"bench-{index}:{seq}".encode()
                try:
                    reply = client.send(b"titanic.request", [b"echo", body])
                except RequestAbandoned:
                    continue
                if reply[0][:3] == b"200":
                    counts[index] += 1
        finally:
            client.close()

    threads = [threading.Thread(target=load, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    context.term()
    return sum(counts), seconds


def run_one(base: Path, fsync: bool, clients: int, seconds: float) -> Result:
    data_dir = base / ("fsync" if fsync else "nofsync")
    with Stack(data_dir, fsync) as stack:
        acked, elapsed = measure(stack.endpoint, clients, seconds)
    return Result(fsync, acked, elapsed)


def table(on: Result, off: Result, clients: int) -> str:
    ratio = off.rate / on.rate if on.rate else float("inf")
    lines = [
        f"| Titanic ({clients} clients, {on.seconds:g} s each) | acknowledged | acks/s |",
        "|---|---:|---:|",
        f"| fsync on (default) | {on.acked} | {on.rate:,.0f} |",
        f"| `--no-fsync` | {off.acked} | {off.rate:,.0f} |",
        f"| cost of fsync (no-fsync / fsync) | | {ratio:.2f}x |",
    ]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0, help="measurement per mode")
    p.add_argument("--clients", type=int, default=4, help="concurrent MDP clients")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="parent directory for the stores (default: a temp dir here)",
    )
    args = p.parse_args()
    logging.getLogger("majordomo.client").setLevel(logging.ERROR)  # warm-up timeouts are expected
    base = args.data_dir or Path(tempfile.mkdtemp(prefix=".titanic-bench-", dir="."))
    try:
        on = run_one(base, True, args.clients, args.seconds)
        off = run_one(base, False, args.clients, args.seconds)
    finally:
        if args.data_dir is None:
            shutil.rmtree(base, ignore_errors=True)
    print(table(on, off, args.clients))
    print()
    print(
        f"_{platform.system()} {platform.release()}, {os.cpu_count()} CPU(s), "
        f"Python {platform.python_version()}, pyzmq {zmq.__version__}_"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
