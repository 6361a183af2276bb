"""Hello World REQ/REP: the echo works, and the client hangs when the server dies.

The hang is the point: plain REQ/REP is the suite's negative control, so the
test checks that the client really does block (and still stops cleanly on
SIGTERM) rather than timing out on its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq

REPO = Path(__file__).resolve().parents[2]


def _env(trace: Path, node: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(ZCHAOS_TRACE=str(trace), ZCHAOS_NODE=node, ZCHAOS_T0=str(time.monotonic()),
               PYTHONPATH=str(REPO))
    return env


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def endpoint() -> str:
    with zmq.Context.instance().socket(zmq.REP) as probe:
        return f"tcp://127.0.0.1:{probe.bind_to_random_port('tcp://127.0.0.1')}"


def test_server_echoes_each_request(tmp_path: Path, endpoint: str) -> None:
    trace = tmp_path / "t.jsonl"
    server = _spawn(["patterns.hello.server", "--bind", endpoint], _env(trace, "server"))
    client = _spawn(["patterns.hello.client", "--connect", endpoint, "--requests", "5"],
                    _env(trace, "client"))
    try:
        assert client.wait(timeout=30) == 0
        assert _stop(server) == 0
    finally:
        _stop(client)
        _stop(server)
    log = _events(trace)
    oks = [e for e in log if e["type"] == "ok"]
    assert [(e["op"], e["reply"]) for e in oks] == [(f"client:{i}", f"client:{i}")
                                                   for i in range(1, 6)]
    assert len([e for e in log if e["type"] == "handled"]) == 5


def test_client_hangs_forever_once_the_server_is_gone(tmp_path: Path, endpoint: str) -> None:
    trace = tmp_path / "t.jsonl"
    server = _spawn(["patterns.hello.server", "--bind", endpoint, "--work-ms", "50"],
                    _env(trace, "server"))
    client = _spawn(["patterns.hello.client", "--connect", endpoint, "--requests", "0",
                     "--timeout-ms", "100"], _env(trace, "client"))
    try:
        assert _wait_for(lambda: any(e["type"] == "ok" for e in _events(trace)))
        server.kill()
        server.wait(timeout=5)
        answered = len([e for e in _events(trace) if e["type"] == "ok"])
        # The client never times out (its --timeout-ms is ignored): still waiting.
        time.sleep(1.0)  # observation window for "nothing happens", not synchronisation
        log = _events(trace)
        assert client.poll() is None
        assert len([e for e in log if e["type"] == "ok"]) == answered
        assert not [e for e in log if e["type"] == "fail"]
        invoked = [e["op"] for e in log if e["type"] == "invoke"]
        assert invoked[-1] not in {e["op"] for e in log if e["type"] == "ok"}
    finally:
        code = _stop(client)
        _stop(server)
    assert code == 0  # SIGTERM still stops the blocked client cleanly


@pytest.mark.parametrize("module,flags", [
    ("patterns.hello.server", ["--bind", "--work-ms"]),
    ("patterns.hello.client", ["--connect", "--requests", "--rate", "--timeout-ms"]),
])
def test_help_documents_the_options(module: str, flags: list[str]) -> None:
    out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True,
                         text=True, timeout=30, check=True).stdout
    for flag in flags:
        assert flag in out
