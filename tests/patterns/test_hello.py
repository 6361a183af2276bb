"""Hello World REQ/REP: the echo works, and the client hangs when the server dies.

The hang is the point: plain REQ/REP is the suite's negative control, so the
test checks that the client really does block (and still stops cleanly on
SIGTERM) rather than timing out on its own.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.patterns.procs import Procs, free_endpoint, help_text, stop, wait_until


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    with Procs(tmp_path) as p:
        yield p


def test_server_echoes_each_request(procs: Procs) -> None:
    endpoint = free_endpoint()
    server = procs.spawn("server", ["-m", "patterns.hello.server", "--bind", endpoint])
    client = procs.spawn("client", ["-m", "patterns.hello.client", "--connect", endpoint,
                                    "--requests", "5"])
    assert client.wait(timeout=30) == 0
    assert stop(server) == 0
    oks = procs.events("client", "ok")
    assert [(e["op"], e["reply"]) for e in oks] == [(f"client:{i}", f"client:{i}")
                                                   for i in range(1, 6)]
    assert len(procs.events("server", "handled")) == 5


def test_client_hangs_forever_once_the_server_is_gone(procs: Procs) -> None:
    endpoint = free_endpoint()
    server = procs.spawn("server", ["-m", "patterns.hello.server", "--bind", endpoint,
                                    "--work-ms", "50"])
    client = procs.spawn("client", ["-m", "patterns.hello.client", "--connect", endpoint,
                                    "--requests", "0", "--timeout-ms", "100"])
    assert wait_until(lambda: bool(procs.events("client", "ok")), timeout=15.0, interval=0.02)
    stop(server, signal.SIGKILL)
    answered = len(procs.events("client", "ok"))
    # The client never times out (its --timeout-ms is ignored): still waiting.
    time.sleep(1.0)  # observation window for "nothing happens", not synchronisation
    assert client.poll() is None
    assert len(procs.events("client", "ok")) == answered
    assert not procs.events("client", "gave_up")
    invoked = [e["op"] for e in procs.events("client", "invoke")]
    assert invoked[-1] not in {e["op"] for e in procs.events("client", "ok")}
    assert stop(client) == 0  # SIGTERM still stops the blocked client cleanly


@pytest.mark.parametrize("module,flags", [
    ("patterns.hello.server", ["--bind", "--work-ms"]),
    ("patterns.hello.client", ["--connect", "--requests", "--rate", "--timeout-ms"]),
])
def test_help_documents_the_options(module: str, flags: list[str]) -> None:
    out = help_text(module)
    for flag in flags:
        assert flag in out
