"""The Majordomo role CLIs as real processes: trace events, faults, clean exits.

Each test starts ``python -m patterns.majordomo.<role>`` subprocesses in their
own process group with a shared trace file, applies a fault by PID, and checks
the events — a miniature of what the harness does, without Toxiproxy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.patterns.procs import free_port, kill_groups, read_events, wait_for

pytestmark = pytest.mark.slow

HB = "100"
WAIT_S = 15.0


class Cluster:
    """Role processes sharing one trace file; everything is killed at teardown."""

    def __init__(self, tmp: Path) -> None:
        self.trace = tmp / "trace.jsonl"
        self.trace.touch()
        self.logs = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: dict[str, int] = {}
        self.port = free_port()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.t0 = time.monotonic()

    def start(self, name: str, role: str, *args: str) -> subprocess.Popen[bytes]:
        incarnation = self.restarts.get(name, -1) + 1
        self.restarts[name] = incarnation
        env = dict(
            os.environ,
            ZCHAOS_TRACE=str(self.trace),
            ZCHAOS_NODE=name,
            ZCHAOS_T0=str(self.t0),
            ZCHAOS_INCARNATION=str(incarnation),
        )
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", f"patterns.majordomo.{role}", *args],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def broker(self, name: str = "broker") -> subprocess.Popen[bytes]:
        return self.start(
            name, "broker", "--bind", self.endpoint, "--heartbeat-ms", HB, "--liveness", "3"
        )

    def worker(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        return self.start(
            name,
            "worker",
            "--connect",
            self.endpoint,
            "--heartbeat-ms",
            HB,
            "--liveness",
            "3",
            "--reconnect-ms",
            "100",
            *extra,
        )

    def events(self) -> list[dict[str, object]]:
        return read_events(self.trace)

    def wait_for(self, what: str, predicate: Callable[[], bool], timeout: float = WAIT_S) -> None:
        wait_for(predicate, timeout, what)

    def wait_exit(self, name: str, timeout: float = WAIT_S) -> int:
        return self.procs[name].wait(timeout)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            proc.wait(10)

    def teardown(self) -> None:
        kill_groups(self.procs.values(), timeout=10)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.teardown()


def ops(events: list[dict[str, object]], kind: str, node: str | None = None) -> list[dict]:
    return [e for e in events if e["type"] == kind and (node is None or e["node"] == node)]


def assert_replies_match(events: list[dict[str, object]]) -> None:
    for e in ops(events, "ok"):
        assert e["reply"] == e["op"], e


def test_sync_client_steady_state(cluster: Cluster) -> None:
    cluster.broker()
    for i in range(2):
        cluster.worker(f"worker-{i}")
    cluster.start(
        "client",
        "client",
        "--connect",
        cluster.endpoint,
        "--requests",
        "200",
        "--timeout-ms",
        "1000",
        "--retries",
        "5",
    )
    assert cluster.wait_exit("client") == 0
    events = cluster.events()
    assert len(ops(events, "invoke")) == 200
    assert len(ops(events, "ok")) == 200
    assert_replies_match(events)
    assert len(ops(events, "handled")) >= 200


def test_every_role_exits_zero_on_sigterm(cluster: Cluster) -> None:
    cluster.broker()
    cluster.worker("worker")
    cluster.start(
        "client", "client", "--connect", cluster.endpoint, "--requests", "0", "--rate", "50"
    )
    cluster.start(
        "async", "async_client", "--connect", cluster.endpoint, "--requests", "0", "--rate", "50"
    )
    cluster.start("probe", "mmi_probe", "--connect", cluster.endpoint, "--rate", "20")
    cluster.wait_for(
        "traffic",
        lambda: len(ops(cluster.events(), "ok")) >= 10 and len(ops(cluster.events(), "mmi")) >= 2,
    )
    for name in ("client", "async", "probe", "worker", "broker"):
        os.killpg(cluster.procs[name].pid, signal.SIGTERM)
        assert cluster.wait_exit(name, 10) == 0, (cluster.logs / f"{name}.log").read_text()


def test_worker_killed_mid_request_is_recovered_by_retry(cluster: Cluster) -> None:
    cluster.broker()
    cluster.worker("slow", "--work-ms", "3000")
    cluster.start(
        "client",
        "client",
        "--connect",
        cluster.endpoint,
        "--requests",
        "3",
        "--timeout-ms",
        "700",
        "--retries",
        "5",
    )
    cluster.wait_for("slow worker busy", lambda: len(ops(cluster.events(), "handled")) >= 1)
    cluster.kill("slow")
    cluster.worker("fast")
    assert cluster.wait_exit("client") == 0
    events = cluster.events()
    assert len(ops(events, "ok")) == 3
    assert not ops(events, "gave_up")
    assert_replies_match(events)
    assert ops(events, "retry"), "the killed worker's request needed a resend"


def test_async_client_survives_broker_restart(cluster: Cluster) -> None:
    cluster.broker()
    cluster.worker("worker-1")
    cluster.worker("worker-2")
    cluster.start(
        "async",
        "async_client",
        "--connect",
        cluster.endpoint,
        "--requests",
        "1500",
        "--window",
        "20",
        "--rate",
        "500",
        "--timeout-ms",
        "500",
        "--retries",
        "10",
    )
    cluster.wait_for("some replies", lambda: len(ops(cluster.events(), "ok")) >= 100)
    cluster.kill("broker")
    cluster.broker()
    assert cluster.wait_exit("async", 30) == 0
    events = cluster.events()
    oks = ops(events, "ok")
    assert len({e["op"] for e in oks}) == len(oks), "an op accepted twice"
    assert len(oks) + len(ops(events, "gave_up")) == 1500
    assert len(oks) == 1500, f"{len(ops(events, 'gave_up'))} ops gave up"
    assert_replies_match(events)


def test_mmi_probe_follows_worker_lifecycle(cluster: Cluster) -> None:
    cluster.broker()
    cluster.start(
        "probe",
        "mmi_probe",
        "--connect",
        cluster.endpoint,
        "--service",
        "echo",
        "--rate",
        "20",
        "--timeout-ms",
        "500",
    )

    def codes() -> list[str]:
        return [str(e["code"]) for e in ops(cluster.events(), "mmi")]

    cluster.wait_for("404 before any worker", lambda: "404" in codes())
    cluster.worker("worker")
    cluster.wait_for("200 with a worker", lambda: "200" in codes())
    cluster.kill("worker")
    seen = len(codes())
    # worker expiry is 300 ms; allow scheduling slack on a loaded machine
    cluster.wait_for("404 after the worker died", lambda: "404" in codes()[seen:])
    after = codes()[seen:]
    first_404 = after.index("404")
    assert "200" not in after[first_404 + 1 :], "MMI flapped back to 200 with no worker"
