"""Peering broker: local first, overflow to a peer and back, the wire forms, expiry, robustness."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patterns.lazy_pirate.client import LazyPirateClient
from patterns.peering.broker import PeeringBroker, parse_state, unwrap_peer
from patterns.simple_pirate.worker import SimplePirateWorker
from tests.patterns.procs import (
    Procs,
    Runners,
    free_endpoint,
    help_text,
    read_events,
    recv,
    send_garbage,
    wait_for,
)
from tests.patterns.test_simple_pirate import run_cli_until_logged

ANY = "tcp://127.0.0.1:*"


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def running() -> Iterator[Callable]:
    with Runners() as runners:
        yield runners.start


def broker(ctx: zmq.Context, name: bytes, **kw) -> PeeringBroker:
    return PeeringBroker(name, ANY, ANY, ANY, ANY, heartbeat_ms=50, context=ctx, **kw)


def link(a: PeeringBroker, b: PeeringBroker) -> None:
    """Each broker reaches the other's cloud and state (what a scenario's connects do)."""
    a.connect_peer(cloud=b.cloud_endpoint, state=b.state_endpoint)
    b.connect_peer(cloud=a.cloud_endpoint, state=a.state_endpoint)


def worker(ctx: zmq.Context, at: PeeringBroker, name: bytes) -> SimplePirateWorker:
    return SimplePirateWorker(at.backend_endpoint, context=ctx, identity=name, ready=b"READY")


def request(ctx: zmq.Context, at: PeeringBroker, body: bytes) -> bytes:
    with LazyPirateClient(at.frontend_endpoint, timeout_ms=2000, retries=3,
                          context=ctx) as client:
        return client.request(body)


# -- wire helpers --------------------------------------------------------------------------------


def test_state_messages_are_a_name_and_a_decimal_count() -> None:
    assert parse_state([b"east", b"3"]) == (b"east", 3)
    for bad in ([b"east"], [b"east", b"-1"], [b"", b"1"], [b"east", b"x"], [b"e", b"1", b"2"],
                [b"east", b"99999999999"]):
        assert parse_state(bad) is None, bad


def test_a_padded_and_an_unpadded_peer_envelope_read_the_same() -> None:
    assert unwrap_peer([b"P", b"", b"C", b"", b"x"]) == (b"P", [b"C", b"", b"x"])
    assert unwrap_peer([b"P", b"C", b"", b"x"]) == (b"P", [b"C", b"", b"x"])
    assert unwrap_peer([b"P"]) is None
    assert unwrap_peer([b"", b"C"]) is None


@given(st.lists(st.binary(max_size=6), max_size=6))
def test_wire_helpers_never_raise(frames: list[bytes]) -> None:
    parse_state(frames)
    unwrap_peer(frames)


# -- routing -------------------------------------------------------------------------------------


def test_a_local_worker_comes_first(ctx, running) -> None:
    a, b = broker(ctx, b"a"), broker(ctx, b"b")
    link(a, b)
    running(a)
    running(b)
    wa = running(worker(ctx, a, b"wa"))
    wb = running(worker(ctx, b, b"wb"))
    wait_for(lambda: a.peers.get(b"b") and a.peers[b"b"].capacity > 0, what="b's capacity at a")
    for i in range(5):
        assert request(ctx, a, b"c:%d" % i) == b"c:%d" % i
    assert (wa.handled, wb.handled) == (5, 0)


def test_with_no_idle_worker_a_request_goes_to_a_peer_and_back(ctx, running) -> None:
    a, b = broker(ctx, b"a"), broker(ctx, b"b")
    link(a, b)
    running(a)
    running(b)
    wb = running(worker(ctx, b, b"wb"))
    wait_for(lambda: a.peers.get(b"b") and a.peers[b"b"].capacity > 0, what="b's capacity at a")
    assert request(ctx, a, b"c:1") == b"c:1"
    assert wb.handled == 1


def test_a_peer_request_waits_for_a_local_worker_and_is_answered_padded(ctx, running) -> None:
    b = running(broker(ctx, b"b"))
    origin = ctx.socket(zmq.ROUTER)  # a peer called X, seen from b's cloud frontend
    origin.linger = 0
    origin.setsockopt(zmq.IDENTITY, b"X")
    origin.setsockopt(zmq.ROUTER_MANDATORY, 1)
    try:
        origin.connect(b.cloud_endpoint)

        def sent() -> bool:
            try:  # the C form, unpadded: [PEER | C | "" | body]
                origin.send_multipart([b"b", b"C1", b"", b"c:1"])
                return True
            except zmq.ZMQError:
                return False

        wait_for(sent, what="the cloud connection")
        assert not origin.poll(200)  # no local worker: b does not read it
        running(worker(ctx, b, b"wb"))
        assert recv(origin) == [b"b", b"", b"C1", b"", b"c:1"]
    finally:
        origin.close(linger=0)


def test_routing_decisions_are_traced(tmp_path, monkeypatch, ctx, running) -> None:
    trace_file = tmp_path / "t.jsonl"
    monkeypatch.setenv("ZCHAOS_TRACE", str(trace_file))
    a, b = broker(ctx, b"a"), broker(ctx, b"b")
    link(a, b)
    running(a)
    running(b)
    running(worker(ctx, b, b"wb"))
    wait_for(lambda: a.peers.get(b"b") and a.peers[b"b"].capacity > 0, what="b's capacity at a")
    assert request(ctx, a, b"c:1") == b"c:1"
    routes = [e for e in read_events(trace_file) if e["type"] == "route"]
    assert {(e["to"], e["from"], e.get("peer"), e.get("worker")) for e in routes} == {
        ("cloud", "local", "b", None), ("local", "cloud", None, "wb")}
    assert [e["capacity"] for e in routes if e["to"] == "cloud"] == [0]


def test_a_silent_peer_expires_and_an_unreachable_one_drops_to_zero(ctx) -> None:
    now = [100.0]
    b = PeeringBroker(b"b", ANY, ANY, ANY, ANY, heartbeat_ms=100, liveness=3, context=ctx,
                      clock=lambda: now[0])
    try:
        b._on_state([b"ghost", b"4"], now[0])
        assert b.cloud_capacity() == 4
        b.expire(now[0] + 0.29)
        assert b.cloud_capacity() == 4
        b.expire(now[0] + 0.31)
        assert b.cloud_capacity() == 0
        b._on_state([b"ghost", b"2"], now[0] + 1)
        # "ghost" reported capacity but there is no cloud connection to it
        assert not b._send_to_cloud([b"C", b"", b"c:1"])
        assert b.cloud_capacity() == 0
    finally:
        b.close()


def test_requests_sent_are_reserved_until_a_report_or_one_state_period(ctx) -> None:
    now = [100.0]
    b = PeeringBroker(b"b", ANY, ANY, ANY, ANY, heartbeat_ms=100, liveness=1000, context=ctx,
                      clock=lambda: now[0])
    try:
        b._on_state([b"p", b"3"], now[0])
        peer = b.peers[b"p"]
        peer.reserved, peer.reserved_at = 3, now[0]  # what three sends to it leave
        assert b.cloud_capacity() == 0
        b.expire(now[0] + 0.05)
        assert b.cloud_capacity() == 0
        b.expire(now[0] + 0.11)  # a peer that reports only on change: the reservation lapses
        assert b.cloud_capacity() == 3
        peer.reserved = 2
        b._on_state([b"p", b"1"], now[0] + 0.12)  # a report replaces the reservations
        assert b.cloud_capacity() == 1
    finally:
        b.close()


def test_a_request_nobody_could_take_waits_in_the_broker(ctx, running) -> None:
    b = broker(ctx, b"b")
    b._on_state([b"ghost", b"2"], b._clock())  # capacity it will find it cannot use
    running(b)
    client = ctx.socket(zmq.REQ)
    client.linger = 0
    try:
        client.connect(b.frontend_endpoint)
        client.send(b"c:1")
        wait_for(lambda: b.pending, what="the request held in the broker")
        running(worker(ctx, b, b"wb"))
        assert recv(client) == [b"c:1"]
    finally:
        client.close(linger=0)


def test_state_is_published_as_name_and_idle_count(ctx, running) -> None:
    b = running(broker(ctx, b"b"))
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    try:
        sub.connect(b.state_endpoint)
        assert recv(sub) == [b"b", b"0"]
        running(worker(ctx, b, b"wb"))
        wait_for(lambda: recv(sub) == [b"b", b"1"], what="capacity 1 published")
    finally:
        sub.close(linger=0)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from([zmq.DEALER, zmq.REQ, zmq.ROUTER, zmq.PUB]),
       side=st.sampled_from(["frontend", "backend", "cloud"]),
       frames=st.lists(st.one_of(st.sampled_from([b"", b"READY", b"a", b"1"]),
                                 st.binary(max_size=8)), min_size=1, max_size=5))
def test_garbage_is_dropped_and_service_continues(ctx, kind, side, frames) -> None:
    with Runners() as runners:
        b = runners.start(broker(ctx, b"b"))
        runners.start(worker(ctx, b, b"wb"))
        if kind == zmq.PUB:  # garbage on the state flow: b subscribes to this publisher
            pub = ctx.socket(zmq.PUB)
            pub.linger = 0
            port = pub.bind_to_random_port("tcp://127.0.0.1")
            b.connect_peer(state=f"tcp://127.0.0.1:{port}")
            for _ in range(5):
                pub.send_multipart(frames)
                pub.poll(20)
            pub.close(linger=0)
        else:
            endpoint = {"frontend": b.frontend_endpoint, "backend": b.backend_endpoint,
                        "cloud": b.cloud_endpoint}[side]
            send_garbage(ctx, kind, endpoint, frames)
        assert request(ctx, b, b"c:ok") == b"c:ok"


# -- the CLI -------------------------------------------------------------------------------------


def test_cli_exits_0_on_sigterm(tmp_path: Path) -> None:
    binds = [x for _ in range(4) for x in ("--bind", free_endpoint())]
    with Procs(tmp_path) as procs:
        assert run_cli_until_logged(procs, "east", ["-m", "patterns.peering.broker", *binds,
                                                    "--connect", free_endpoint(),
                                                    "--connect-state", free_endpoint()],
                                    "peering broker east") == 0


def test_cli_needs_four_binds() -> None:
    proc = subprocess.run([sys.executable, "-m", "patterns.peering.broker", "--bind",
                           free_endpoint()], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "four times" in proc.stderr


def test_help_documents_the_options() -> None:
    out = help_text("patterns.peering.broker")
    for flag in ("--bind", "--connect", "--connect-state", "--name", "--heartbeat-ms",
                 "--liveness"):
        assert flag in out
