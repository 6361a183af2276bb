"""The Binary Star reactor and client over real sockets, servers in threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from patterns.binary_star.client import BinaryStarClient
from patterns.binary_star.fsm import State
from patterns.binary_star.reactor import FATAL_EXIT, BinaryStarReactor, request_op
from patterns.common.errors import RequestAbandoned
from tests.patterns.procs import free_port, read_events, wait_for

HB_MS = 50


class Server:
    """A reactor running in a thread, with its result once it returns."""

    def __init__(self, reactor: BinaryStarReactor) -> None:
        self.reactor = reactor
        self.status: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.status = self.reactor.run()

    def stop(self) -> None:
        self.reactor.stop()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()

    @property
    def state(self) -> State:
        return self.reactor.fsm.state


@pytest.fixture
def trace_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "trace.jsonl"
    monkeypatch.setenv("ZCHAOS_TRACE", str(path))
    monkeypatch.setenv("ZCHAOS_NODE", "test")
    return path


@pytest.fixture
def pair(trace_file: Path) -> Iterator[dict]:
    ports = {name: free_port() for name in ("pf", "ps", "bf", "bs")}
    ep = {k: f"tcp://127.0.0.1:{v}" for k, v in ports.items()}
    started: list[Server] = []

    def start(primary: bool) -> Server:
        if primary:
            r = BinaryStarReactor(ep["pf"], ep["ps"], ep["bs"], primary=True, heartbeat_ms=HB_MS,
                                  context=zmq.Context())
        else:
            r = BinaryStarReactor(ep["bf"], ep["bs"], ep["ps"], primary=False, heartbeat_ms=HB_MS,
                                  context=zmq.Context())
        s = Server(r)
        started.append(s)
        return s

    yield {"start": start, "ep": ep}
    for s in started:
        if s.thread.is_alive():
            s.stop()
        s.reactor._ctx.term()


def make_client(ep: dict, **kw) -> BinaryStarClient:
    opts = {"timeout_ms": 200, "settle_ms": 2 * HB_MS + 50, "max_attempts": 20}
    opts.update(kw)
    return BinaryStarClient(ep["pf"], ep["bf"], context=zmq.Context.instance(), **opts)


def test_request_op_extracts_the_body() -> None:
    assert request_op([b"id", b"", b"c:1"]) == b"c:1"
    assert request_op([b"id", b"c:1"]) == b"c:1"
    assert request_op([b"id", b""]) is None
    assert request_op([b"id"]) is None


def test_pair_settles_and_serves_from_primary(pair: dict, trace_file: Path) -> None:
    primary = pair["start"](True)
    backup = pair["start"](False)
    wait_for(lambda: primary.state is State.ACTIVE and backup.state is State.PASSIVE,
             what="primary ACTIVE, backup PASSIVE")
    client = make_client(pair["ep"])
    try:
        for i in range(5):
            assert client.request(f"op:{i}".encode()) == f"op:{i}".encode()
            assert client.last_server == pair["ep"]["pf"]
    finally:
        client.close()
    assert backup.reactor.served == 0
    states = [(e["state"]) for e in read_events(trace_file) if e["type"] == "state"]
    assert {"PRIMARY", "BACKUP", "ACTIVE", "PASSIVE"} <= set(states)
    handled = [e["op"] for e in read_events(trace_file) if e["type"] == "handled"]
    assert handled == [f"op:{i}" for i in range(5)]


def test_passive_backup_drops_requests_while_primary_lives(pair: dict) -> None:
    primary = pair["start"](True)
    backup = pair["start"](False)
    wait_for(lambda: backup.state is State.PASSIVE, what="backup PASSIVE")
    ctx = zmq.Context.instance()
    req = ctx.socket(zmq.REQ)
    req.setsockopt(zmq.LINGER, 0)
    try:
        req.connect(pair["ep"]["bf"])
        req.send(b"vote")
        # several failover timeouts: the vote never counts while the primary speaks
        assert not req.poll(6 * HB_MS)
        assert backup.state is State.PASSIVE and primary.state is State.ACTIVE
    finally:
        req.close(0)


def test_failover_after_primary_dies_then_restarted_primary_is_passive(pair: dict) -> None:
    primary = pair["start"](True)
    backup = pair["start"](False)
    wait_for(lambda: backup.state is State.PASSIVE, what="backup PASSIVE")
    client = make_client(pair["ep"])
    try:
        assert client.request(b"before") == b"before"
        primary.stop()
        t0 = time.monotonic()
        assert client.request(b"after") == b"after"
        took = time.monotonic() - t0
        assert client.last_server == pair["ep"]["bf"]
        assert backup.state is State.ACTIVE
        # timeout + settle, with generous slack for a loaded machine
        assert took < 0.2 + (2 * HB_MS + 50) / 1000 + 2.0
        again = pair["start"](True)
        wait_for(lambda: again.state is State.PASSIVE, what="restarted primary PASSIVE")
        assert client.request(b"later") == b"later"
        assert client.last_server == pair["ep"]["bf"]
        assert backup.state is State.ACTIVE
    finally:
        client.close()


def test_no_server_gives_up_within_bound(pair: dict) -> None:
    client = make_client(pair["ep"], timeout_ms=60, settle_ms=20, max_attempts=4)
    try:
        t0 = time.monotonic()
        with pytest.raises(RequestAbandoned):
            client.request(b"nobody")
        took = time.monotonic() - t0
    finally:
        client.close()
    assert 0.9 * (4 * 0.06 + 3 * 0.02) <= took < 2.0  # poll rounds to whole ms


def test_dual_active_is_fatal(trace_file: Path) -> None:
    """A peer claiming ACTIVE while we are ACTIVE: the reactor stops with FATAL_EXIT."""
    ctx = zmq.Context()
    fake_peer = ctx.socket(zmq.PUB)
    fake_peer.setsockopt(zmq.LINGER, 0)
    port = fake_peer.bind_to_random_port("tcp://127.0.0.1")
    r = BinaryStarReactor(f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}",
                          f"tcp://127.0.0.1:{port}", primary=True, heartbeat_ms=HB_MS,
                          context=ctx)
    s = Server(r)
    try:
        # garbage first: logged and dropped, the server keeps running
        for garbage in ([b"junk"], [b"9"], [b"3", b"3"], [b"\xff"]):
            fake_peer.send_multipart(garbage)
        wait_for(lambda: (fake_peer.send(b"2"), s.state is State.ACTIVE)[1],
                 what="primary ACTIVE after hearing a backup")
        assert s.thread.is_alive()
        fake_peer.send(b"3")
        s.thread.join(timeout=5)
        assert s.status == FATAL_EXIT
        fatal = [e for e in read_events(trace_file) if e["type"] == "fatal"]
        assert fatal and "dual active" in fatal[0]["reason"]
    finally:
        if s.thread.is_alive():
            s.stop()
        fake_peer.close(0)
        ctx.term()


def test_garbage_on_frontend_does_not_stop_service(pair: dict) -> None:
    primary = pair["start"](True)
    pair["start"](False)
    wait_for(lambda: primary.state is State.ACTIVE, what="primary ACTIVE")
    ctx = zmq.Context.instance()
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    try:
        dealer.connect(pair["ep"]["pf"])
        dealer.send_multipart([b""])  # no body at all: dropped
        dealer.send_multipart([b"\xff\x00", b"", b"x"])  # odd bytes: echoed, never decoded
        assert dealer.poll(2000)
        assert dealer.recv_multipart() == [b"\xff\x00", b"", b"x"]
    finally:
        dealer.close(0)
    client = make_client(pair["ep"])
    try:
        assert client.request(b"still") == b"still"
    finally:
        client.close()


def test_client_never_accepts_a_mismatched_reply() -> None:
    """A 'server' answering the wrong body is treated as silence, never returned."""
    ctx = zmq.Context.instance()
    fake = ctx.socket(zmq.ROUTER)
    fake.setsockopt(zmq.LINGER, 0)
    port = fake.bind_to_random_port("tcp://127.0.0.1")
    endpoint = f"tcp://127.0.0.1:{port}"
    client = BinaryStarClient(endpoint, endpoint, timeout_ms=300, settle_ms=10,
                              max_attempts=2, context=ctx)
    stop = threading.Event()

    def answer_wrong() -> None:
        while not stop.is_set():
            if fake.poll(20):
                frames = fake.recv_multipart()
                fake.send_multipart([*frames[:-1], b"someone-else:1"])

    t = threading.Thread(target=answer_wrong, daemon=True)
    t.start()
    try:
        with pytest.raises(RequestAbandoned):
            client.request(b"mine:1")
    finally:
        stop.set()
        t.join(timeout=5)
        client.close()
        fake.close(0)
