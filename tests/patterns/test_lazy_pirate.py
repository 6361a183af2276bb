"""Lazy Pirate: the client's contract (LP1-LP4) and both role CLIs.

The client is driven in-process against small fake servers on raw sockets,
so each test controls exactly which replies come back and when.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from patterns.common.echo import EchoServer
from patterns.common.errors import RequestAbandoned
from patterns.lazy_pirate.client import LazyPirateClient
from tests.patterns.procs import Procs, free_endpoint, help_text, read_events, stop, wait_until


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


class FakeServer:
    """A ROUTER that records every request and answers through a callback.

    ``answer(n, body)`` returns the reply body for the n-th request (1-based),
    or None to stay silent.
    """

    def __init__(self, ctx: zmq.Context, answer, endpoint: str = "tcp://127.0.0.1:*") -> None:
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        self.sock.bind(endpoint)
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self.answer = answer
        self.requests: list[tuple[bytes, bytes]] = []  # (peer identity, body)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.sock.poll(20):
                continue
            peer, _empty, body = self.sock.recv_multipart()
            self.requests.append((peer, body))
            reply = self.answer(len(self.requests), body)
            if reply is not None:
                self.sock.send_multipart([peer, b"", reply])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close(linger=0)


@pytest.fixture
def fake_server(ctx: zmq.Context) -> Iterator:
    made: list[FakeServer] = []

    def make(answer) -> FakeServer:
        server = FakeServer(ctx, answer)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    with Procs(tmp_path) as p:
        yield p


@pytest.fixture
def trace_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "trace.jsonl"
    monkeypatch.setenv("ZCHAOS_TRACE", str(path))
    monkeypatch.setenv("ZCHAOS_NODE", "client")
    return path


def test_reply_matching_the_request_is_returned(ctx, fake_server) -> None:
    server = fake_server(lambda _n, body: body)
    with LazyPirateClient(server.endpoint, timeout_ms=1000, retries=3, context=ctx) as client:
        assert client.request(b"client:1") == b"client:1"
        assert client.request(b"client:2") == b"client:2"
        assert client.sends == 2


def test_mismatching_reply_is_refused_and_never_returned(ctx, fake_server, trace_file) -> None:
    # First attempt gets a wrong reply, the resend gets the right one.
    server = fake_server(lambda n, body: b"client:999" if n == 1 else body)
    with LazyPirateClient(server.endpoint, timeout_ms=300, retries=3, context=ctx) as client:
        assert client.request(b"client:1") == b"client:1"
        assert client.sends == 2
    kinds = [(e["type"], e.get("reply")) for e in read_events(trace_file)]
    assert ("refused", "client:999") in kinds
    assert ("retry", None) in kinds


def test_only_mismatching_replies_means_abandon(ctx, fake_server) -> None:
    server = fake_server(lambda _n, _body: b"junk")
    with (LazyPirateClient(server.endpoint, timeout_ms=150, retries=2, context=ctx) as client,
          pytest.raises(RequestAbandoned)):
        client.request(b"client:1")
    assert len(server.requests) == 2


@pytest.mark.parametrize("retries", [1, 3])
def test_gives_up_after_exactly_retries_sends(ctx, fake_server, retries: int) -> None:
    server = fake_server(lambda _n, _body: None)  # never answers
    timeout_ms = 150
    with LazyPirateClient(server.endpoint, timeout_ms=timeout_ms, retries=retries,
                          context=ctx) as client:
        started = time.monotonic()
        with pytest.raises(RequestAbandoned):
            client.request(b"client:1")
        elapsed = time.monotonic() - started
    # Every send got through (the server counts them), each one on a new socket.
    wait_until(lambda: len(server.requests) >= retries, timeout=2)
    assert len(server.requests) == retries
    assert len({peer for peer, _ in server.requests}) == retries
    assert retries * timeout_ms / 1000 * 0.9 <= elapsed <= retries * timeout_ms / 1000 + 1.0


def test_late_reply_to_an_abandoned_request_is_never_accepted(ctx, fake_server) -> None:
    """LP3: the server answers request 1 only once request 2 is in flight."""
    holder: dict[str, FakeServer] = {}

    def answer(n: int, body: bytes) -> bytes | None:
        if n == 1:
            return None  # hold request 1
        srv = holder["s"]
        old_peer, old_body = srv.requests[0]
        srv.sock.send_multipart([old_peer, b"", old_body])  # late reply, old socket
        return None  # and never answer request 2

    server = fake_server(answer)
    holder["s"] = server
    with LazyPirateClient(server.endpoint, timeout_ms=200, retries=1, context=ctx) as client:
        with pytest.raises(RequestAbandoned):
            client.request(b"client:1")
        with pytest.raises(RequestAbandoned):
            client.request(b"client:2")


def test_succeeds_when_the_server_comes_back_inside_the_retry_window(ctx) -> None:
    with ctx.socket(zmq.REP) as probe:  # reserve a port, then free it
        port = probe.bind_to_random_port("tcp://127.0.0.1")
    endpoint = f"tcp://127.0.0.1:{port}"
    client = LazyPirateClient(endpoint, timeout_ms=300, retries=4, context=ctx)
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(reply=client.request(b"client:7")))
    thread.start()
    server = None
    try:
        assert wait_until(lambda: client.sends >= 2, timeout=5)  # first attempt lost
        server = EchoServer(endpoint, context=ctx)
        stop = threading.Event()
        serving = threading.Thread(target=server.run, args=(stop,), daemon=True)
        serving.start()
        thread.join(timeout=5)
        stop.set()
        serving.join(timeout=5)
    finally:
        thread.join(timeout=5)
        client.close()
        if server is not None:
            server.close()
    assert result.get("reply") == b"client:7"


# -- the CLIs --------------------------------------------------------------


def test_cli_client_and_server_trace_every_request(procs: Procs) -> None:
    endpoint = free_endpoint()
    server = procs.spawn("server", ["-m", "patterns.lazy_pirate.server", "--bind", endpoint])
    client = procs.spawn("client", ["-m", "patterns.lazy_pirate.client", "--connect", endpoint,
                                    "--requests", "20", "--timeout-ms", "1000",
                                    "--retries", "3"])
    assert client.wait(timeout=30) == 0
    assert stop(server) == 0
    oks = procs.events("client", "ok")
    assert [e["op"] for e in oks] == [f"client:{i}" for i in range(1, 21)]
    assert all(e["reply"] == e["op"] and e["server"] == endpoint for e in oks)
    assert len(procs.events("server", "handled")) == 20
    assert len(procs.events("client", "invoke")) == 20


def test_cli_client_abandons_then_moves_on_and_exits_0(procs: Procs) -> None:
    endpoint = free_endpoint()  # nobody there
    client = procs.spawn("client", ["-m", "patterns.lazy_pirate.client", "--connect", endpoint,
                                    "--requests", "2", "--timeout-ms", "100", "--retries", "2"])
    assert client.wait(timeout=20) == 0
    assert [e["op"] for e in procs.events("client", "gave_up")] == ["client:1", "client:2"]
    assert [e["attempt"] for e in procs.events("client", "retry")] == [2, 2]
    assert not procs.events("client", "ok")


@pytest.mark.parametrize("module", ["patterns.lazy_pirate.client", "patterns.lazy_pirate.server"])
def test_cli_help_documents_the_options(module: str) -> None:
    out = help_text(module)
    expected = ["--connect", "--timeout-ms", "--retries", "--requests", "--rate"] \
        if module.endswith("client") else ["--bind", "--work-ms"]
    for flag in expected:
        assert flag in out


def test_cli_client_exits_0_promptly_on_sigterm_right_after_its_first_send(
        procs: Procs) -> None:
    """A SIGTERM that lands while libzmq starts its threads must not be lost (io_threads)."""
    endpoint = free_endpoint()
    for round_no in range(5):
        node = f"client-{round_no}"
        client = procs.spawn(node, ["-m", "patterns.lazy_pirate.client", "--connect", endpoint,
                                    "--requests", "0", "--timeout-ms", "5000"])
        assert wait_until(lambda node=node: bool(procs.events(node)), timeout=15,
                          interval=0.002), "client never sent"
        client.send_signal(signal.SIGTERM)
        code = client.wait(timeout=3)  # well under the 5 s poll timeout
        assert code == 0, procs.log(node)
