"""What the pattern tests share to run roles: free ports, bounded waits, loops, processes.

Role CLIs are tested as real processes (the harness runs them that way),
and in-process loops run in threads; both need the same care: ports that
are free, waits bounded on a condition rather than fixed sleeps, and a
teardown that stops everything the test started (by process group, never by
name). Keeping that here means every pattern's tests clean up the same way.
The raw-socket helpers stand in for misbehaving peers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol, TypeVar

import zmq

from harness.ports import reserve_port
from patterns.common.lru_queue import LruQueue
from patterns.lazy_pirate.client import LazyPirateClient

REPO = Path(__file__).resolve().parents[2]


# -- addresses and waits --------------------------------------------------------


# Ports handed to tests stay reserved for the life of the test process (the
# kernel drops the byte locks when it exits): under pytest-xdist, a port that
# was merely free a moment ago could be picked by a sibling worker's runtime.
_TEST_PORTS = object()


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports, free now and reserved (harness.ports) until we exit."""
    return [reserve_port(_TEST_PORTS) for _ in range(n)]


def free_port() -> int:
    return free_ports(1)[0]


def free_endpoint() -> str:
    """``tcp://127.0.0.1:PORT`` on a port that was free a moment ago."""
    return f"tcp://127.0.0.1:{free_port()}"


def wait_until(condition: Callable[[], bool], timeout: float = 3.0,
               interval: float = 0.005) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition",
             interval: float = 0.02) -> None:
    """Like :func:`wait_until`, but a timeout fails the test, naming ``what`` it waited for."""
    if not wait_until(condition, timeout, interval):
        raise AssertionError(f"timed out waiting for {what}")


def read_events(path: Path) -> list[dict]:
    """Every trace event appended to ``path`` so far (none when it does not exist yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- in-process loops -------------------------------------------------------------


class Serving(Protocol):
    def run(self, stop: threading.Event | None = None) -> None: ...

    def close(self) -> None: ...


S = TypeVar("S", bound=Serving)


class Running:
    """Runs ``target.run(stop)`` in a daemon thread; ``close`` stops and joins it."""

    def __init__(self, target: Serving) -> None:
        self.target = target
        self.stop = threading.Event()
        self.thread = threading.Thread(target=target.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.target.close()


class Runners:
    """Loops started with :meth:`start`; leaving the ``with`` block stops them, last first."""

    def __init__(self) -> None:
        self.started: list[Running] = []

    def start(self, target: S) -> S:
        self.started.append(Running(target))
        return target

    def __enter__(self) -> Runners:
        return self

    def __exit__(self, *_exc: object) -> None:
        for r in reversed(self.started):
            r.close()


# -- raw sockets ------------------------------------------------------------------


def recv(sock: zmq.Socket, timeout_ms: int = 3000) -> list[bytes]:
    """The next message on ``sock``; fails the test when none arrives within ``timeout_ms``."""
    assert sock.poll(timeout_ms, zmq.POLLIN), "nothing arrived"
    return sock.recv_multipart()


def send_garbage(ctx: zmq.Context, kind: int, endpoint: str, frames: list[bytes]) -> None:
    """Connect a socket of type ``kind`` to ``endpoint``, send ``frames`` once, close it."""
    sock = ctx.socket(kind)
    sock.linger = 0
    try:
        if kind == zmq.ROUTER:
            # A ROUTER must name its peer: call the queue "Q" on this connection.
            sock.setsockopt(zmq.CONNECT_ROUTING_ID, b"Q")
            sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            sock.connect(endpoint)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                try:
                    sock.send_multipart([b"Q", *frames])
                    break
                except zmq.ZMQError:
                    time.sleep(0.005)
        else:
            sock.connect(endpoint)
            sock.send_multipart(frames)
        sock.poll(20)  # give the bytes a moment to leave before closing
    finally:
        sock.close(linger=0)


def garbage_then_request(ctx: zmq.Context, queue: LruQueue, kind: int, side: str,
                         frames: list[bytes]) -> bytes:
    """Send ``frames`` from a ``kind`` peer to the queue's ``side``, then one real request.

    The reply of a Lazy Pirate client's request through the frontend: a queue
    that logs and drops garbage must still answer it.
    """
    endpoint = queue.frontend_endpoint if side == "frontend" else queue.backend_endpoint
    send_garbage(ctx, kind, endpoint, frames)
    with LazyPirateClient(queue.frontend_endpoint, timeout_ms=250, retries=6,
                          context=ctx) as client:
        return client.request(b"client:ok")


# -- role processes -------------------------------------------------------------


def help_text(module: str) -> str:
    """``python -m module --help`` (which must exit 0)."""
    return subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=30, check=True).stdout


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int:
    """Signal ``proc`` unless it is gone, wait (bounded, then SIGKILL); its exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Procs:
    """Spawns role processes tracing into one shared file; kills whatever is left at teardown.

    Each node gets the environment the harness gives it (``ZCHAOS_TRACE``,
    ``ZCHAOS_NODE``, ``ZCHAOS_T0``), runs in its own session so it can be
    signalled as a group, and logs to ``<tmp>/<node>.log``.
    """

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.trace = tmp / "history.jsonl"
        self.procs: list[subprocess.Popen] = []
        self.t0 = time.monotonic()

    def spawn(self, node: str, argv: list[str]) -> subprocess.Popen:
        """Start ``python argv...`` (``["-m", module, ...]`` or a script path) as ``node``."""
        env = dict(os.environ, ZCHAOS_TRACE=str(self.trace), ZCHAOS_NODE=node,
                   ZCHAOS_T0=str(self.t0), PYTHONPATH=str(REPO))
        with self.log_path(node).open("ab") as log:
            p = subprocess.Popen([sys.executable, *argv], env=env, cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=log,
                                 start_new_session=True)
        self.procs.append(p)
        return p

    def log_path(self, node: str) -> Path:
        return self.tmp / f"{node}.log"

    def log(self, node: str) -> str:
        """What ``node`` wrote to stderr so far."""
        path = self.log_path(node)
        return path.read_text(errors="replace") if path.exists() else ""

    def events(self, node: str | None = None, kind: str | None = None) -> list[dict]:
        return [e for e in read_events(self.trace) if (node is None or e["node"] == node)
                and (kind is None or e["type"] == kind)]

    def states(self, node: str) -> list[str]:
        return [e["state"] for e in self.events(node, "state")]

    def __enter__(self) -> Procs:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        kill_groups(self.procs)


def kill_groups(procs: Iterable[subprocess.Popen], timeout: float = 5.0) -> None:
    """SIGKILL the process group of each of ``procs`` still running, then reap them all.

    For teardown: each process was started in its own session
    (``start_new_session=True``), so its group is exactly what the test started.
    """
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:  # exited in the meantime
                pass
        p.wait(timeout=timeout)
