"""Freelance at the frame level: server framing, FLP PING/PONG, CCF rules, the agent's filters."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from patterns.common.errors import RequestAbandoned
from patterns.freelance import echo_server, server1, server2, server3
from patterns.freelance.envelope import split_envelope
from patterns.freelance.flp import FlpAgent, FreelanceClient3
from tests.patterns.procs import free_endpoint

LOG = logging.getLogger("test")


def test_split_envelope() -> None:
    assert split_envelope([b"id", b"", b"a", b"b"]) == ([b"id", b""], [b"a", b"b"])
    assert split_envelope([b"id", b"x", b"", b"a"]) == ([b"id", b"x", b""], [b"a"])
    assert split_envelope([b"id", b"a"]) is None  # no delimiter
    assert split_envelope([b"id", b""]) is None  # no body
    assert split_envelope([b"id"]) is None


def test_server_responders() -> None:
    assert server1.respond([b"c:1", b"x"]) == ([b"c:1", b"x"], b"c:1")
    assert server2.respond([b"7", b"c:1"]) == ([b"7", b"OK"], b"c:1")
    assert server2.respond([b"c:1"]) is None
    assert server2.respond([b"7", b"c:1", b"extra"]) is None
    # the REP envelope is stripped before respond() and put back in front of its reply
    assert server2.handle([b"id", b"", b"7", b"c:1"]) == ([b"id", b"", b"7", b"OK"], b"c:1")
    assert server1.handle([b"id", b"no-delimiter"]) is None


def test_server3_answer() -> None:
    assert server3.answer([b"C", b"PING"]) == [b"C", b"PONG"]
    assert server3.answer([b"C", b"12", b"body"]) == [b"C", b"12", b"body"]
    assert server3.answer([b"C", b"12"]) is None  # CCF without a body
    assert server3.answer([b"C"]) is None
    assert server3.handle([b"C", b"PING"]) == ([b"C", b"PONG"], None)  # no work, not traced
    assert server3.handle([b"C", b"12", b"c:1"]) == ([b"C", b"12", b"c:1"], b"c:1")
    assert server3.guide_routing_id("tcp://127.0.0.1:5555") == b"tcp://127.0.0.1:5555"
    assert server3.guide_routing_id("tcp://*:5555") is None


class Running:
    """A server loop in a thread, stopped (socket closed) at teardown."""

    def __init__(self, target, endpoint: str, ctx: zmq.Context) -> None:
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=target, args=(endpoint,), daemon=True,
            kwargs={"log": LOG, "context": ctx, "stopping": self.stopping, "poll_ms": 20})
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    c = zmq.Context()
    try:
        yield c
    finally:
        c.term()


def test_flp_server_ping_pong_ccf_and_garbage(ctx: zmq.Context) -> None:
    endpoint = free_endpoint()
    srv = Running(lambda ep, **kw: echo_server.serve(ep, server3.handle,
                                                     routing_id=server3.guide_routing_id(ep),
                                                     **kw),
                  endpoint, ctx)
    client = ctx.socket(zmq.ROUTER)
    client.setsockopt(zmq.LINGER, 0)
    try:
        client.setsockopt(zmq.CONNECT_ROUTING_ID, endpoint.encode())
        client.connect(endpoint)
        ep = endpoint.encode()
        client.send_multipart([ep, b"PING"])
        assert client.poll(3000)
        assert client.recv_multipart() == [ep, b"PONG"]
        client.send_multipart([ep, b"only-ccf"])  # malformed: dropped
        client.send_multipart([ep, b"\xff\xfe", b"body", b"two"])
        assert client.poll(3000)
        assert client.recv_multipart() == [ep, b"\xff\xfe", b"body", b"two"]
    finally:
        client.close(0)
        srv.stop()


def test_model2_server_over_dealer_drops_malformed(ctx: zmq.Context) -> None:
    endpoint = free_endpoint()
    srv = Running(lambda ep, **kw: echo_server.serve(ep, server2.handle, **kw), endpoint, ctx)
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    try:
        dealer.connect(endpoint)
        dealer.send_multipart([b"", b"1"])  # no body: dropped
        dealer.send_multipart([b"no-delimiter"])  # dropped
        dealer.send_multipart([b"", b"2", b"c:2"])
        assert dealer.poll(3000)
        assert dealer.recv_multipart() == [b"", b"2", b"OK"]
    finally:
        dealer.close(0)
        srv.stop()


# -- the agent's acceptance rules, against a scripted FLP server ----------------


class ScriptedServer:
    """A bare ROUTER the test drives by hand, standing in for an FLP server."""

    def __init__(self, ctx: zmq.Context) -> None:
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"

    def recv(self, timeout: float = 3.0) -> list[bytes]:
        assert self.sock.poll(timeout * 1000), "scripted server heard nothing"
        return self.sock.recv_multipart()

    def next_request(self, answer_pings: bool = True) -> list[bytes]:
        """Skip (and answer) pings until a request arrives."""
        while True:
            frames = self.recv()
            if frames[1] == b"PING":
                if answer_pings:
                    self.sock.send_multipart([frames[0], b"PONG"])
                continue
            return frames

    def close(self) -> None:
        self.sock.close(0)


@pytest.fixture
def scripted(ctx: zmq.Context) -> Iterator[ScriptedServer]:
    s = ScriptedServer(ctx)
    try:
        yield s
    finally:
        s.close()


def make_client(ctx: zmq.Context, endpoints: list[str], **kw) -> FreelanceClient3:
    opts = {"timeout_ms": 150, "retries": 2, "ping_ms": 50, "ttl_ms": 400, "context": ctx}
    opts.update(kw)
    return FreelanceClient3(endpoints, **opts)


def test_pong_is_never_taken_for_a_reply(ctx: zmq.Context, scripted: ScriptedServer) -> None:
    client = make_client(ctx, [scripted.endpoint])
    pool = ThreadPoolExecutor(1)
    try:
        future = pool.submit(client.request, b"c:1")
        req = scripted.next_request()
        assert req[2:] == [b"c:1"] and req[1] == b"1"  # [C | CCF | body], no extra frame
        for _ in range(5):  # PONGs and a CCF-less reply arrive instead of an answer
            scripted.sock.send_multipart([req[0], b"PONG"])
        scripted.sock.send_multipart([req[0], b"1"])
        with pytest.raises(RequestAbandoned):
            future.result(timeout=5)
    finally:
        client.close()
        pool.shutdown()


def test_late_reply_after_failure_is_never_delivered(ctx: zmq.Context,
                                                      scripted: ScriptedServer) -> None:
    client = make_client(ctx, [scripted.endpoint], retries=1)
    pool = ThreadPoolExecutor(1)
    try:
        first = pool.submit(client.request, b"c:1")
        req1 = scripted.next_request()
        with pytest.raises(RequestAbandoned):
            first.result(timeout=5)
        second = pool.submit(client.request, b"c:2")
        req2 = scripted.next_request()
        assert req2[1] != req1[1]  # a fresh CCF for every request
        scripted.sock.send_multipart(req1)  # the late answer to the abandoned request
        scripted.sock.send_multipart([req2[0], req2[1], b"c:1"])  # right CCF, wrong body
        scripted.sock.send_multipart(req2)
        assert second.result(timeout=5) == b"c:2"
        assert client.agent.dropped >= 2
    finally:
        client.close()
        pool.shutdown()


def test_no_request_before_the_server_spoke(ctx: zmq.Context, scripted: ScriptedServer) -> None:
    """A server is live only after it answered a ping; the request waits for that."""
    client = make_client(ctx, [scripted.endpoint], timeout_ms=300)
    pool = ThreadPoolExecutor(1)
    try:
        ping = scripted.recv()
        assert ping[1:] == [b"PING"]
        future = pool.submit(client.request, b"c:1")
        # no PONG yet: only pings may arrive, never the request
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            if scripted.sock.poll(20):
                assert scripted.sock.recv_multipart()[1:] == [b"PING"]
        scripted.sock.send_multipart([ping[0], b"PONG"])
        req = scripted.next_request()
        scripted.sock.send_multipart(req)
        assert future.result(timeout=5) == b"c:1"
        assert client.last_server == scripted.endpoint
    finally:
        client.close()
        pool.shutdown()


def test_agent_drops_unknown_identity_and_garbage(ctx: zmq.Context) -> None:
    pipe = ctx.socket(zmq.PAIR)
    pipe.bind("inproc://agent-unit")
    agent = FlpAgent(ctx, "inproc://agent-unit", timeout=0.1, retries=1, ping=1, ttl=3, log=LOG)
    try:
        agent._connect(b"tcp://127.0.0.1:1")
        agent._on_server_message([b"tcp://elsewhere:9", b"1", b"x"])
        agent._on_server_message([b"tcp://127.0.0.1:1", b"\xff"])  # alive, but no reply
        assert agent.dropped == 2
        assert agent.actives == [b"tcp://127.0.0.1:1"]
        assert not pipe.poll(50)  # nothing forwarded to the application
    finally:
        agent.router.close(0)
        agent.pipe.close(0)
        pipe.close(0)


def test_model2_late_reply_with_old_sequence_is_refused(ctx: zmq.Context,
                                                        scripted: ScriptedServer) -> None:
    """All model 2 replies say "OK": only the sequence frame tells them apart."""
    from patterns.freelance.client2 import FreelanceClient2

    client = FreelanceClient2([scripted.endpoint], timeout_ms=150, retries=1, context=ctx)
    pool = ThreadPoolExecutor(1)
    try:
        first = pool.submit(client.request, b"c:1")
        req1 = scripted.recv()
        assert req1[1:] == [b"", b"1", b"c:1"]
        with pytest.raises(RequestAbandoned):
            first.result(timeout=5)
        second = pool.submit(client.request, b"c:2")
        req2 = scripted.recv()
        assert req2[2] == b"2"
        scripted.sock.send_multipart([req1[0], b"", b"1", b"OK"])  # late answer to request 1
        with pytest.raises(RequestAbandoned):
            second.result(timeout=5)
        third = pool.submit(client.request, b"c:3")
        req3 = scripted.recv()
        scripted.sock.send_multipart([req3[0], b"", req3[2], b"OK"])
        assert third.result(timeout=5) == b"OK"
    finally:
        client.close()
        pool.shutdown()


# -- property: whatever servers send, only the pending request's answer is forwarded --

KNOWN = [b"tcp://127.0.0.1:1", b"tcp://127.0.0.1:2"]
server_messages = st.lists(
    st.tuples(
        st.sampled_from([*KNOWN, b"tcp://stranger:9"]),
        st.one_of(
            st.just([b"PONG"]),
            st.just([b"PING"]),
            st.lists(st.sampled_from([b"1", b"2", b"3", b"body-2", b"body-3", b"", b"PONG"]),
                     min_size=0, max_size=3),
        ),
    ),
    max_size=25,
)


@given(before=server_messages, after=server_messages)
@settings(max_examples=100, deadline=None)
def test_agent_forwards_only_the_pending_answer(before, after) -> None:
    ctx = zmq.Context.instance()
    name = f"inproc://agent-prop-{time.monotonic_ns()}"
    pipe = ctx.socket(zmq.PAIR)
    pipe.setsockopt(zmq.LINGER, 0)
    pipe.bind(name)
    agent = FlpAgent(ctx, name, timeout=5, retries=1, ping=5, ttl=5, log=LOG)
    try:
        for ep in KNOWN:
            agent._connect(ep)
        for identity, rest in before:  # no request pending: nothing may be forwarded
            agent._on_server_message([identity, *rest])
        assert not pipe.poll(0)
        agent._on_command([b"REQUEST", b"3", b"body-3", b"body-3"])
        forwarded = []
        for identity, rest in after:
            agent._on_server_message([identity, *rest])
            while pipe.poll(0):
                forwarded.append((identity, rest, pipe.recv_multipart()))
        expected = [(i, r) for i, r in after if i in KNOWN and r == [b"3", b"body-3"]]
        assert len(forwarded) == min(1, len(expected))
        for identity, _rest, frames in forwarded:
            assert frames == [b"OK", b"3", identity, b"body-3"]
    finally:
        agent.router.close(0)
        agent.pipe.close(0)
        pipe.close(0)
