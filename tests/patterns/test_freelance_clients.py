"""Freelance models 1, 2 and 3 against three servers with none, one, two or all dead."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patterns.common.errors import RequestAbandoned
from patterns.freelance import echo_server, server1, server2, server3
from patterns.freelance.client1 import FreelanceClient1
from patterns.freelance.client2 import FreelanceClient2
from patterns.freelance.flp import FreelanceClient3
from tests.patterns.procs import free_ports

LOG = logging.getLogger("test")

MODELS: dict[int, Callable] = {
    1: lambda ep, **kw: echo_server.serve(ep, server1.handle, **kw),
    2: lambda ep, **kw: echo_server.serve(ep, server2.handle, **kw),
    3: lambda ep, **kw: echo_server.serve(ep, server3.handle,
                                          routing_id=server3.guide_routing_id(ep), **kw),
}


class ServerThread:
    def __init__(self, model: int, endpoint: str, ctx: zmq.Context) -> None:
        self.endpoint = endpoint
        self.ctx = ctx
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(model,), daemon=True)
        self.thread.start()

    def _run(self, model: int) -> None:
        try:
            MODELS[model](self.endpoint, log=LOG, context=self.ctx, stopping=self.stopping,
                          poll_ms=20)
        except BaseException as exc:
            self.error = exc

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()
        assert self.error is None, f"server {self.endpoint} failed: {self.error!r}"


def endpoints(n: int) -> list[str]:
    """Distinct free loopback endpoints."""
    return [f"tcp://127.0.0.1:{port}" for port in free_ports(n)]


class Cluster:
    def __init__(self, model: int, ctx: zmq.Context) -> None:
        self.model = model
        self.ctx = ctx
        self.endpoints = endpoints(3)
        self.servers: dict[str, ServerThread] = {}

    def start(self, *indexes: int) -> None:
        for i in indexes:
            ep = self.endpoints[i]
            self.servers[ep] = ServerThread(self.model, ep, self.ctx)

    def kill(self, i: int) -> None:
        self.servers.pop(self.endpoints[i]).stop()

    def close(self) -> None:
        for s in self.servers.values():
            s.stop()
        self.servers.clear()


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    c = zmq.Context()
    try:
        yield c
    finally:
        c.term()


@pytest.fixture
def cluster_factory(ctx: zmq.Context) -> Iterator[Callable[[int], Cluster]]:
    made: list[Cluster] = []

    def make(model: int) -> Cluster:
        c = Cluster(model, ctx)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


class Adapter:
    """One call shape over the three client classes: ``ask(body) -> (reply, server)``."""

    def __init__(self, model: int, eps: list[str], ctx: zmq.Context) -> None:
        self.model = model
        if model == 1:
            self.client = FreelanceClient1(eps, timeout_ms=150, retries=3, context=ctx)
        elif model == 2:
            self.client = FreelanceClient2(eps, timeout_ms=400, retries=1, context=ctx)
        else:
            self.client = FreelanceClient3(eps, timeout_ms=150, retries=3, ping_ms=50,
                                           ttl_ms=300, context=ctx)
        self.expect = {1: None, 2: b"OK", 3: None}[model]

    def ask(self, body: bytes) -> tuple[bytes, str | None]:
        reply = self.client.request(body)
        return reply, getattr(self.client, "last_server", None)

    def close(self) -> None:
        if hasattr(self.client, "close"):
            self.client.close()


@pytest.fixture
def adapters(ctx: zmq.Context) -> Iterator[Callable[[int, list[str]], Adapter]]:
    made: list[Adapter] = []

    def make(model: int, eps: list[str]) -> Adapter:
        a = Adapter(model, eps, ctx)
        made.append(a)
        return a

    yield make
    for a in made:
        a.close()


@pytest.mark.parametrize("model", [1, 2, 3])
@pytest.mark.parametrize("dead", [(), (0,), (0, 1)])
def test_answered_while_one_server_lives(model: int, dead: tuple[int, ...],
                                         cluster_factory, adapters) -> None:
    cluster = cluster_factory(model)
    alive = [i for i in range(3) if i not in dead]
    cluster.start(*alive)
    client = adapters(model, cluster.endpoints)
    live_endpoints = {cluster.endpoints[i] for i in alive}
    for n in range(6):
        body = f"c:{n}".encode()
        reply, server = client.ask(body)
        assert reply == (client.expect or body)
        if server is not None:
            assert server in live_endpoints


@pytest.mark.parametrize("model", [1, 2, 3])
def test_all_dead_gives_up_within_bound_then_recovers(model: int, cluster_factory,
                                                      adapters) -> None:
    cluster = cluster_factory(model)
    client = adapters(model, cluster.endpoints)
    bound = {1: 3 * 0.15, 2: 0.4, 3: 3 * 0.15}[model]
    t0 = time.monotonic()
    with pytest.raises(RequestAbandoned):
        client.ask(b"c:0")
    took = time.monotonic() - t0
    assert bound * 0.9 <= took < bound + 1.5
    cluster.start(2)  # one returns
    deadline = time.monotonic() + 10
    while True:
        try:
            reply, _ = client.ask(b"c:1")
            break
        except RequestAbandoned:
            assert time.monotonic() < deadline, "never recovered after a server returned"
    assert reply == (client.expect or b"c:1")


def test_model3_skips_a_just_killed_server_quickly(cluster_factory, adapters) -> None:
    """A server killed mid-run costs at most one attempt timeout, not its TTL."""
    cluster = cluster_factory(3)
    cluster.start(0, 1, 2)
    client = adapters(3, cluster.endpoints)
    client.client.agent.ttl = 30.0  # far longer than the global timeout
    for n in range(3):
        client.ask(f"warm:{n}".encode())
    first = client.ask(b"probe")[1]
    cluster.kill(cluster.endpoints.index(first))
    for n in range(5):
        t0 = time.monotonic()
        reply, server = client.ask(f"c:{n}".encode())
        assert reply == f"c:{n}".encode() and server != first
        assert time.monotonic() - t0 < 0.15 + 1.0


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations([0, 1, 2]), per_phase=st.integers(1, 3))
def test_model3_random_kill_orders(order: list[int], per_phase: int, ctx: zmq.Context) -> None:
    cluster = Cluster(3, ctx)
    cluster.start(0, 1, 2)
    client = Adapter(3, cluster.endpoints, ctx)
    try:
        n = 0
        for victim in order[:2]:  # while at least one lives, every request is answered
            cluster.kill(victim)
            alive = {ep for ep in cluster.servers}
            for _ in range(per_phase):
                n += 1
                reply, server = client.ask(f"c:{n}".encode())
                assert reply == f"c:{n}".encode() and server in alive
        cluster.kill(order[2])
        with pytest.raises(RequestAbandoned):
            client.ask(b"c:last")
    finally:
        client.close()
        cluster.close()
