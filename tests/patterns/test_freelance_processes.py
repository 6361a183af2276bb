"""The Freelance role CLIs as processes: --help, traces, kill of a server, clean stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Procs:
    def __init__(self, tmp: Path) -> None:
        self.trace = tmp / "history.jsonl"
        self.procs: list[subprocess.Popen] = []

    def spawn(self, node: str, argv: list[str]) -> subprocess.Popen:
        env = dict(os.environ, ZCHAOS_TRACE=str(self.trace), ZCHAOS_NODE=node)
        p = subprocess.Popen([sys.executable, *argv], env=env, cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def events(self, node: str, kind: str) -> list[dict]:
        if not self.trace.exists():
            return []
        out = [json.loads(x) for x in self.trace.read_text().splitlines() if x.strip()]
        return [e for e in out if e["node"] == node and e["type"] == kind]

    def cleanup(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path)
    try:
        yield p
    finally:
        p.cleanup()


@pytest.mark.parametrize("role", ["server1", "client1", "server2", "client2", "server3",
                                  "client3"])
def test_help(role: str) -> None:
    out = subprocess.run([sys.executable, "-m", f"patterns.freelance.{role}", "--help"],
                         capture_output=True, text=True, timeout=30, cwd=REPO)
    assert out.returncode == 0
    wanted = ["--bind", "--work-ms"] if role.startswith("server") else [
        "--connect", "--timeout-ms", "--retries", "--requests", "--rate"]
    if role == "client3":
        wanted += ["--ping-ms", "--ttl-ms"]
    for flag in wanted:
        assert flag in out.stdout


@pytest.mark.parametrize("model", [1, 2, 3])
def test_kill_one_of_three_and_stop_cleanly(model: int, procs: Procs) -> None:
    ports = free_ports(3)
    servers = [procs.spawn(f"server-{i}", ["-m", f"patterns.freelance.server{model}",
                                           "--bind", f"tcp://127.0.0.1:{port}"])
               for i, port in enumerate(ports)]
    argv = ["-m", f"patterns.freelance.client{model}", "--requests", "0", "--rate", "40",
            "--timeout-ms", "200", "--retries", "3"]
    if model == 3:
        argv += ["--ping-ms", "50", "--ttl-ms", "300"]
    for port in ports:
        argv += ["--connect", f"tcp://127.0.0.1:{port}"]
    client = procs.spawn("client", argv)
    wait_for(lambda: len(procs.events("client", "ok")) >= 5, what="first replies")
    os.killpg(servers[0].pid, signal.SIGKILL)
    servers[0].wait(timeout=5)
    seen = len(procs.events("client", "ok"))
    wait_for(lambda: len(procs.events("client", "ok")) >= seen + 10, what="replies after kill")
    for p in (client, *servers[1:]):
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    invokes = {e["op"]: e for e in procs.events("client", "invoke")}
    for ok in procs.events("client", "ok"):
        want = invokes[ok["op"]].get("expect", invokes[ok["op"]]["body"])
        assert ok["reply"] == want
    assert not procs.events("client", "fail")
    handled = sum(len(procs.events(f"server-{i}", "handled")) for i in range(3))
    assert handled >= len(procs.events("client", "ok"))
