"""The Majordomo APIs (worker, sync client, async client) against our broker and fake brokers.

Fake brokers are raw ROUTER sockets, so each test controls exactly what the
API under test receives: malformed frames, wrong services, silence.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import zmq

from patterns.common.errors import RequestAbandoned
from patterns.majordomo import mdp
from patterns.majordomo.async_client import MajordomoAsyncClient
from patterns.majordomo.client import MajordomoClient
from patterns.majordomo.worker import MajordomoWorker
from tests.patterns.mdp_helpers import HB_MS, WAIT_S, BrokerThread, recv


@pytest.fixture
def broker() -> Iterator[BrokerThread]:
    with BrokerThread() as b:
        yield b


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    c = zmq.Context()
    try:
        yield c
    finally:
        c.destroy(linger=0)


class EchoWorkerThread:
    """A MajordomoWorker serving echo in a thread until stopped."""

    def __init__(self, endpoint: str, service: bytes = b"echo", **kw: int) -> None:
        self.context = zmq.Context()
        self.worker = MajordomoWorker(
            endpoint,
            service,
            heartbeat_ms=HB_MS,
            liveness=3,
            reconnect_ms=50,
            context=self.context,
            **kw,
        )
        self.handled: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                body = self.worker.recv(timeout_ms=20)
                if body is not None:
                    self.handled.append(body[0])
                    self.worker.send(body)
        finally:
            self.worker.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        assert not self._thread.is_alive()
        self.context.term()


@pytest.fixture
def echo_worker(broker: BrokerThread) -> Iterator[EchoWorkerThread]:
    w = EchoWorkerThread(broker.endpoint)
    try:
        yield w
    finally:
        w.stop()


def fake_broker(ctx: zmq.Context) -> tuple[zmq.Socket, str]:
    r = ctx.socket(zmq.ROUTER)
    r.linger = 0
    r.bind("tcp://127.0.0.1:*")
    return r, r.getsockopt_string(zmq.LAST_ENDPOINT)


def recv_command(router: zmq.Socket, command: bytes, timeout: float = WAIT_S) -> list[bytes]:
    """The next worker message carrying ``command``, skipping others (e.g. heartbeats)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        msg = recv(router, left)
        if msg is not None and len(msg) >= 4 and msg[3] == command:
            return msg
    raise AssertionError(f"no {mdp.COMMAND_NAMES[command]} within {timeout}s")


# --- sync client + worker through our broker ---


def test_round_trip_through_the_broker(broker: BrokerThread, echo_worker: EchoWorkerThread) -> None:
    client = MajordomoClient(broker.endpoint, timeout_ms=1000, retries=3)
    try:
        for i in range(20):
            assert client.send(b"echo", [b"%d" % i, b"tail"]) == [b"%d" % i, b"tail"]
    finally:
        client.close()
    assert len(echo_worker.handled) == 20


def test_client_abandons_after_its_retries_within_the_bound(broker: BrokerThread) -> None:
    client = MajordomoClient(broker.endpoint, timeout_ms=100, retries=3)
    retries: list[int] = []
    started = time.monotonic()
    try:
        with pytest.raises(RequestAbandoned):
            client.send(b"nobody", [b"x"], on_retry=retries.append)
    finally:
        client.close()
    elapsed = time.monotonic() - started
    assert retries == [2, 3]
    assert 0.29 <= elapsed < 0.3 + 1.0  # 3 x 100 ms, generous upper bound for a busy machine


def test_client_refuses_wrong_service_and_wrong_body(ctx: zmq.Context) -> None:
    router, endpoint = fake_broker(ctx)
    client = MajordomoClient(endpoint, timeout_ms=2000, retries=1, context=ctx)
    refused: list[list[bytes]] = []
    result: list[list[bytes]] = []

    def call() -> None:
        result.append(
            client.send(
                b"echo", [b"op-1"], accept=lambda b: b == [b"op-1"], on_refused=refused.append
            )
        )

    t = threading.Thread(target=call)
    t.start()
    try:
        request = recv(router)
        assert request is not None
        assert request[1:] == [b"", mdp.C_CLIENT, b"echo", b"op-1"]
        c = request[0]
        router.send_multipart([c, b"", mdp.C_CLIENT, b"other", b"op-1"])  # wrong service
        router.send_multipart([c, b"", b"MDPC02", b"echo", b"op-1"])  # wrong header
        router.send_multipart([c, b"", mdp.C_CLIENT, b"echo", b"op-0"])  # wrong body
        router.send_multipart([c, mdp.C_CLIENT, b"echo", b"op-1"])  # no empty frame
        router.send_multipart([c, b"", mdp.C_CLIENT, b"echo", b"op-1"])  # the right one
    finally:
        t.join(5)
    assert result == [[b"op-1"]]
    assert len(refused) == 4
    client.close()


def test_client_retry_uses_a_new_connection(ctx: zmq.Context) -> None:
    router, endpoint = fake_broker(ctx)
    client = MajordomoClient(endpoint, timeout_ms=150, retries=2, context=ctx)
    result: list[list[bytes]] = []
    t = threading.Thread(target=lambda: result.append(client.send(b"echo", [b"a"])))
    t.start()
    try:
        first = recv(router)
        second = recv(router)
        assert first is not None and second is not None
        assert first[0] != second[0], "retry must come from a fresh socket"
        router.send_multipart([first[0], b"", mdp.C_CLIENT, b"echo", b"a"])  # stale: dropped
        router.send_multipart([second[0], b"", mdp.C_CLIENT, b"echo", b"a"])
    finally:
        t.join(5)
    assert result == [[b"a"]]
    client.close()


# --- worker API against a fake broker ---


def test_worker_protocol_frames(ctx: zmq.Context) -> None:
    router, endpoint = fake_broker(ctx)
    worker = MajordomoWorker(endpoint, b"echo", heartbeat_ms=HB_MS, liveness=100, context=ctx)
    try:
        ready = recv_command(router, mdp.W_READY)
        assert ready[1:] == [b"", mdp.W_WORKER, mdp.W_READY, b"echo"]
        w = ready[0]
        # heartbeats arrive while the worker waits
        assert worker.recv(timeout_ms=3 * HB_MS) is None
        assert recv_command(router, mdp.W_HEARTBEAT)[1:] == [b"", mdp.W_WORKER, mdp.W_HEARTBEAT]
        # garbage is dropped, then a request gets through
        router.send_multipart([w, b"garbage"])
        router.send_multipart([w, b"", mdp.W_WORKER, b"\x09"])
        router.send_multipart([w, b"", mdp.W_WORKER, mdp.W_REQUEST, b"C1"])  # truncated
        router.send_multipart([w, b"", mdp.W_WORKER, mdp.W_REQUEST, b"C1", b"", b"x", b"y"])
        assert worker.recv(timeout_ms=int(WAIT_S * 1000)) == [b"x", b"y"]
        worker.send([b"x", b"y"])
        reply = recv_command(router, mdp.W_REPLY)
        assert reply[1:] == [b"", mdp.W_WORKER, mdp.W_REPLY, b"C1", b"", b"x", b"y"]
        assert worker.connections == 1
    finally:
        worker.close()
    assert recv_command(router, mdp.W_DISCONNECT)[1:] == [b"", mdp.W_WORKER, mdp.W_DISCONNECT]


def test_worker_reconnects_when_the_broker_falls_silent(ctx: zmq.Context) -> None:
    router, endpoint = fake_broker(ctx)
    worker = MajordomoWorker(
        endpoint, b"echo", heartbeat_ms=HB_MS, liveness=3, reconnect_ms=20, context=ctx
    )
    try:
        first = recv_command(router, mdp.W_READY)
        deadline = time.monotonic() + WAIT_S
        while worker.connections < 2 and time.monotonic() < deadline:
            worker.recv(timeout_ms=HB_MS)
        second = recv_command(router, mdp.W_READY)
        assert second[0] != first[0], "a new socket (identity) after reconnecting"
    finally:
        worker.close()


def test_worker_re_registers_at_once_on_disconnect(ctx: zmq.Context) -> None:
    router, endpoint = fake_broker(ctx)
    worker = MajordomoWorker(
        endpoint, b"echo", heartbeat_ms=HB_MS, liveness=100, reconnect_ms=10_000, context=ctx
    )
    try:
        first = recv_command(router, mdp.W_READY)
        worker.recv(timeout_ms=2 * HB_MS)  # let the connection age past one heartbeat
        router.send_multipart([first[0], *mdp.worker_disconnect()])
        started = time.monotonic()
        while worker.connections < 2 and time.monotonic() - started < WAIT_S:
            worker.recv(timeout_ms=HB_MS)
        assert worker.connections == 2
        assert time.monotonic() - started < 5.0  # not the 10 s reconnect delay
        recv_command(router, mdp.W_READY)
    finally:
        worker.close()


def test_workers_re_register_after_broker_restart(broker: BrokerThread) -> None:
    workers = [EchoWorkerThread(broker.endpoint) for _ in range(2)]
    try:
        client = MajordomoClient(broker.endpoint, timeout_ms=300, retries=10)
        try:
            assert client.send(b"echo", [b"before"]) == [b"before"]
            broker.restart()
            started = time.monotonic()
            assert client.send(b"echo", [b"after"]) == [b"after"]
            # HEARTBEAT -> DISCONNECT -> READY: well under the 150 ms expiry + reconnect path
            assert time.monotonic() - started < WAIT_S
        finally:
            client.close()
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and any(w.worker.connections < 2 for w in workers):
            time.sleep(0.01)
        assert all(w.worker.connections >= 2 for w in workers), [
            (w.worker.connections, w._thread.is_alive()) for w in workers
        ]
    finally:
        for w in workers:
            w.stop()


# --- async client ---


def test_async_client_pipelines_and_validates(
    broker: BrokerThread, echo_worker: EchoWorkerThread
) -> None:
    client = MajordomoAsyncClient(broker.endpoint)
    try:
        for i in range(50):
            client.send(b"echo", [b"%d" % i])
        got = set()
        while len(got) < 50:
            reply = client.recv(timeout_ms=int(WAIT_S * 1000))
            assert reply is not None, f"only {len(got)} replies"
            service, body = reply
            assert service == b"echo"
            got.add(body[0])
        assert got == {b"%d" % i for i in range(50)}
        assert client.recv(timeout_ms=50) is None
    finally:
        client.close()


def test_async_client_drops_malformed_replies(ctx: zmq.Context) -> None:
    router, endpoint = fake_broker(ctx)
    client = MajordomoAsyncClient(endpoint, context=ctx)
    client.send(b"echo", [b"1"])
    request = recv(router)
    assert request is not None
    c = request[0]
    router.send_multipart([c, mdp.C_CLIENT, b"echo", b"1"])  # no empty frame
    router.send_multipart([c, b"", mdp.C_CLIENT, b"other", b"1"])  # never asked that service
    router.send_multipart([c, b"", mdp.C_CLIENT, b"echo"])  # no body
    router.send_multipart([c, b"", mdp.C_CLIENT, b"echo", b"1"])
    assert client.recv(timeout_ms=int(WAIT_S * 1000)) == (b"echo", [b"1"])
    assert client.recv(timeout_ms=0) is None
    client.close()
