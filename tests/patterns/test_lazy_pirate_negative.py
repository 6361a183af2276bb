"""The negative controls in tests/negative really are broken, and the real roles are not.

Each control is run against the same small fake system as the real role:
the real one must keep its contract, the broken one must visibly break it,
otherwise the scenario that uses the control proves nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from tests.patterns.procs import REPO, Procs

BROKEN_CLIENT = REPO / "tests" / "negative" / "broken_lazy_pirate_client.py"


class DelayingEchoServer:
    """A ROUTER that echoes every request ``delay_s`` after it arrived (a slow reply path)."""

    def __init__(self, delay_s: float) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.delay_s = delay_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        due: list[tuple[float, list[bytes]]] = []
        while not self._stop.is_set():
            now = time.monotonic()
            while due and due[0][0] <= now:
                self.sock.send_multipart(due.pop(0)[1])
            wait = int(((due[0][0] - now) if due else 0.02) * 1000)
            if self.sock.poll(max(1, min(wait, 20)), zmq.POLLIN):
                due.append((time.monotonic() + self.delay_s, self.sock.recv_multipart()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close(linger=0)
        self.ctx.term()


@pytest.fixture
def slow_server() -> Iterator[DelayingEchoServer]:
    server = DelayingEchoServer(delay_s=0.25)
    yield server
    server.close()


def _run_client(argv: list[str], endpoint: str, tmp: Path) -> list[dict]:
    with Procs(tmp) as procs:
        proc = procs.spawn("client", [*argv, "--connect", endpoint, "--requests", "6",
                                      "--timeout-ms", "100", "--retries", "1"])
        assert proc.wait(timeout=30) == 0
        return procs.events("client")


def _mismatched_oks(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "ok" and e["reply"] != e["op"]]


def test_real_client_never_accepts_a_late_reply(slow_server, tmp_path: Path) -> None:
    events = _run_client(["-m", "patterns.lazy_pirate.client"], slow_server.endpoint, tmp_path)
    assert not _mismatched_oks(events)
    assert len([e for e in events if e["type"] == "gave_up"]) == 6


def test_broken_client_accepts_a_late_reply_for_the_wrong_request(slow_server,
                                                                  tmp_path: Path) -> None:
    events = _run_client([str(BROKEN_CLIENT)], slow_server.endpoint, tmp_path)
    assert _mismatched_oks(events), "the negative control failed to misbehave"
