"""The Freelance role CLIs as processes: --help, traces, kill of a server, clean stop."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.patterns.procs import Procs, free_ports, help_text, wait_for


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    with Procs(tmp_path) as p:
        yield p


@pytest.mark.parametrize("role", ["server1", "client1", "server2", "client2", "server3",
                                  "client3"])
def test_help(role: str) -> None:
    out = help_text(f"patterns.freelance.{role}")
    wanted = ["--bind", "--work-ms"] if role.startswith("server") else [
        "--connect", "--timeout-ms", "--retries", "--requests", "--rate"]
    if role == "client3":
        wanted += ["--ping-ms", "--ttl-ms"]
    for flag in wanted:
        assert flag in out


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
    assert not procs.events("client", "gave_up")
    handled = sum(len(procs.events(f"server-{i}", "handled")) for i in range(3))
    assert handled >= len(procs.events("client", "ok"))
