"""Paranoid Pirate (RFC 6/PPP): frames, heartbeats, expiry, re-registration, back-off.

The worker is checked against a raw ROUTER standing in for the queue, the
queue against raw DEALERs standing in for workers, so each test sees the
exact frames on the wire. Timings are scaled down (50-100 ms heartbeats).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patterns.lazy_pirate.client import LazyPirateClient
from patterns.paranoid_pirate import ppp
from patterns.paranoid_pirate.queue import ParanoidPirateQueue
from patterns.paranoid_pirate.worker import ParanoidPirateWorker
from tests.patterns.procs import (
    Procs,
    Runners,
    free_endpoint,
    garbage_then_request,
    help_text,
    recv,
    wait_until,
)

ANY = "tcp://127.0.0.1:*"
HB = 50  # ms


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def running() -> Iterator[Callable]:
    with Runners() as runners:
        yield runners.start


@pytest.fixture
def sockets(ctx) -> Iterator[Callable[..., zmq.Socket]]:
    made: list[zmq.Socket] = []

    def make(kind: int, identity: bytes | None = None) -> zmq.Socket:
        s = ctx.socket(kind)
        s.linger = 0
        if identity is not None:
            s.setsockopt(zmq.IDENTITY, identity)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close(linger=0)


def recv_data(sock: zmq.Socket, timeout_ms: int = 3000) -> list[bytes] | None:
    """The next message that is not a one-frame HEARTBEAT, or None on timeout."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0 or not sock.poll(left, zmq.POLLIN):
            return None
        frames = sock.recv_multipart()
        if frames[-1:] != [ppp.HEARTBEAT] or len(frames) > 2:
            return frames


# -- frame helpers -------------------------------------------------------------


def test_split_envelope_cuts_at_the_first_empty_frame() -> None:
    env = ppp.split_envelope([b"A", b"B", b"", b"x", b"", b"y"])
    assert env is not None
    assert (env.address, env.body) == ([b"A", b"B"], [b"x", b"", b"y"])
    assert env.frames() == [b"A", b"B", b"", b"x", b"", b"y"]
    assert ppp.split_envelope([b"", b"x"]) is None  # no address
    assert ppp.split_envelope([b"C", b""]) is None  # no body
    assert ppp.split_envelope([b"C", b"x"]) is None  # no delimiter


def test_control_frames_are_single_bytes() -> None:
    assert ppp.READY == b"\x01" and ppp.HEARTBEAT == b"\x02"
    assert ppp.is_control([b"\x01"], ppp.READY)
    assert not ppp.is_control([b"", b"\x01"], ppp.READY)
    assert not ppp.is_control([b"\x02"], ppp.READY)


def test_backoff_doubles_up_to_the_ceiling_and_resets() -> None:
    b = ppp.Backoff(100, 700)
    assert [b.next_ms() for _ in range(5)] == [100, 200, 400, 700, 700]
    b.reset()
    assert b.next_ms() == 100


# -- the worker, seen from a raw ROUTER ---------------------------------------------


def _worker(endpoint: str, ctx: zmq.Context, **kw) -> ParanoidPirateWorker:
    # Generous liveness unless a test is about expiry: the machine may be busy.
    opts = dict(heartbeat_ms=HB, liveness=20, reconnect_ms=50, backoff_max_ms=200)
    opts.update(kw)
    return ParanoidPirateWorker(endpoint, context=ctx, **opts)


def test_worker_sends_ready_first_then_heartbeats(ctx, running, sockets) -> None:
    q = sockets(zmq.ROUTER)
    q.bind(ANY)
    running(_worker(q.getsockopt_string(zmq.LAST_ENDPOINT), ctx))
    ident, first = recv(q)
    assert first == ppp.READY
    beats = 0
    started = time.monotonic()
    while beats < 3:
        q.send_multipart([ident, ppp.HEARTBEAT])  # keep the worker's liveness up
        assert recv(q) == [ident, ppp.HEARTBEAT]
        beats += 1
    assert time.monotonic() - started < 3 * HB / 1000 + 1.5


def test_worker_echoes_multi_frame_bodies_and_deep_envelopes(ctx, running, sockets) -> None:
    q = sockets(zmq.ROUTER)
    q.bind(ANY)
    running(_worker(q.getsockopt_string(zmq.LAST_ENDPOINT), ctx))
    ident, _ready = recv(q)
    cases = [
        [b"C1", b"", b"client:1"],
        [b"C2", b"", b"part1", b"", b"part3"],  # only the first "" is the delimiter
        [b"HOP1", b"C3", b"", b"client:3"],  # deeper address stack
    ]
    for request in cases:
        q.send_multipart([ident, *request])
        assert recv_data(q) == [ident, *request]


def test_worker_drops_garbage_and_keeps_serving(ctx, running, sockets) -> None:
    q = sockets(zmq.ROUTER)
    q.bind(ANY)
    worker = running(_worker(q.getsockopt_string(zmq.LAST_ENDPOINT), ctx))
    ident, _ready = recv(q)
    for junk in ([b"\x07"], [b"nodelimiter", b"x"], [b"", b"x"], [b"C", b""]):
        q.send_multipart([ident, *junk])
    q.send_multipart([ident, b"C", b"", b"client:9"])
    assert recv_data(q) == [ident, b"C", b"", b"client:9"]
    assert worker.handled == 1


def test_worker_keeps_heartbeating_while_busy(ctx, running, sockets) -> None:
    q = sockets(zmq.ROUTER)
    q.bind(ANY)
    running(_worker(q.getsockopt_string(zmq.LAST_ENDPOINT), ctx, work_ms=8 * HB))
    ident, _ready = recv(q)
    q.send_multipart([ident, b"C", b"", b"client:1"])
    heartbeats_while_busy = 0
    while True:
        frames = recv(q)
        if frames == [ident, ppp.HEARTBEAT]:
            heartbeats_while_busy += 1
            q.send_multipart([ident, ppp.HEARTBEAT])
            continue
        assert frames == [ident, b"C", b"", b"client:1"]
        break
    assert heartbeats_while_busy >= 3


def test_worker_reconnects_with_doubling_backoff_to_the_ceiling(ctx, running, sockets) -> None:
    q = sockets(zmq.ROUTER)
    q.bind(ANY)
    worker = running(_worker(q.getsockopt_string(zmq.LAST_ENDPOINT), ctx, liveness=2,
                             reconnect_ms=40, backoff_max_ms=160))
    readies: list[tuple[bytes, float]] = []
    deadline = time.monotonic() + 10
    while len(readies) < 5 and time.monotonic() < deadline:  # a silent queue
        if q.poll(100, zmq.POLLIN):
            ident, frame = q.recv_multipart()
            if frame == ppp.READY:
                readies.append((ident, time.monotonic()))
    assert len(readies) == 5
    assert worker.reconnect_delays_ms[:4] == [40, 80, 160, 160]
    assert len({ident for ident, _ in readies}) == 5  # a new socket, a new identity each time
    # Each reconnect waits out the silence (2 x 50 ms) plus its back-off; the
    # span is measured on this side, so only a loose lower bound is safe.
    span = readies[-1][1] - readies[0][1]
    assert span >= (40 + 80 + 160 + 160) / 1000
    # Any inbound message resets the back-off: answer READYs with heartbeats
    # until a reconnect starts again from the initial delay (without a reset
    # every delay from here on would be the 160 ms ceiling).
    deadline = time.monotonic() + 8
    while 40 not in worker.reconnect_delays_ms[4:] and time.monotonic() < deadline:
        if not q.poll(50, zmq.POLLIN):
            continue
        ident, frame = q.recv_multipart()
        if frame == ppp.READY:
            for _ in range(3):
                q.send_multipart([ident, ppp.HEARTBEAT])
                time.sleep(HB / 1000 / 2)  # pacing of the fake queue's heartbeats
    assert 40 in worker.reconnect_delays_ms[4:], worker.reconnect_delays_ms


# -- the queue, seen from raw DEALER workers ------------------------------------------


def _queue(ctx: zmq.Context, liveness: int = 20) -> ParanoidPirateQueue:
    return ParanoidPirateQueue(ANY, ANY, heartbeat_ms=HB, liveness=liveness, context=ctx)


def _register(sockets, q: ParanoidPirateQueue, name: bytes) -> zmq.Socket:
    w = sockets(zmq.DEALER, name)
    w.connect(q.backend_endpoint)
    w.send(ppp.READY)
    assert wait_until(lambda: name in q.idle)
    return w


def test_queue_routes_request_and_reply_with_ppp_frames(ctx, running, sockets) -> None:
    q = running(_queue(ctx))
    w = _register(sockets, q, b"W1")
    client = sockets(zmq.REQ)
    client.connect(q.frontend_endpoint)
    client.send(b"client:1")
    request = recv_data(w)
    assert request is not None and request[1:] == [b"", b"client:1"]
    w.send_multipart(request)
    assert recv(client) == [b"client:1"]


def test_queue_heartbeats_every_worker_even_busy_ones_without_traffic(ctx, running,
                                                                       sockets) -> None:
    q = running(_queue(ctx, liveness=50))
    busy = _register(sockets, q, b"BUSY")
    idle = _register(sockets, q, b"IDLE")
    client = sockets(zmq.DEALER)
    client.connect(q.frontend_endpoint)
    client.send_multipart([b"", b"client:1"])
    assert recv_data(busy) is not None  # BUSY now holds a request, sends nothing
    for sock in (busy, idle):
        count = 0
        deadline = time.monotonic() + 2
        while count < 3 and time.monotonic() < deadline:
            if sock.poll(100, zmq.POLLIN) and sock.recv_multipart() == [ppp.HEARTBEAT]:
                count += 1
        assert count == 3


def test_heartbeat_from_a_busy_worker_does_not_make_it_idle(ctx, running, sockets) -> None:
    q = running(_queue(ctx))
    w = _register(sockets, q, b"W1")
    client = sockets(zmq.DEALER)
    client.connect(q.frontend_endpoint)
    client.send_multipart([b"", b"client:1"])
    client.send_multipart([b"", b"client:2"])
    first = recv_data(w)
    assert first is not None and first[-1] == b"client:1"
    for _ in range(6):  # heartbeat while busy for ~6 intervals
        w.send(ppp.HEARTBEAT)
        assert recv_data(w, HB) is None, "a busy worker was handed a second request"
    w.send_multipart(first)  # the reply makes it idle again
    second = recv_data(w)
    assert second is not None and second[-1] == b"client:2"


def test_expired_worker_is_never_handed_a_request(ctx, running, sockets) -> None:
    q = running(_queue(ctx, liveness=3))
    stale = _register(sockets, q, b"STALE")  # registers, then goes silent
    assert wait_until(lambda: b"STALE" not in q.expiry, 2)
    fresh = _register(sockets, q, b"FRESH")
    client = sockets(zmq.DEALER)
    client.connect(q.frontend_endpoint)
    client.send_multipart([b"", b"client:1"])
    request = None
    deadline = time.monotonic() + 3
    while request is None and time.monotonic() < deadline:
        fresh.send(ppp.HEARTBEAT)  # FRESH stays alive; STALE stays silent
        request = recv_data(fresh, HB // 2)
    assert request is not None and request[-1] == b"client:1"
    assert recv_data(stale, 200) is None


def test_purges_an_expired_idle_worker_within_expiry_plus_one_interval(ctx, running,
                                                                       sockets) -> None:
    q = running(_queue(ctx, liveness=3))
    _register(sockets, q, b"W1")
    registered = time.monotonic()
    assert wait_until(lambda: b"W1" not in q.expiry, 3)
    assert time.monotonic() - registered <= 3 * HB / 1000 + HB / 1000 + 0.5


def test_re_registration_replaces_the_old_entry(ctx, running, sockets) -> None:
    q = running(_queue(ctx, liveness=50))
    w = _register(sockets, q, b"W1")
    client = sockets(zmq.DEALER)
    client.connect(q.frontend_endpoint)
    client.send_multipart([b"", b"client:1"])
    assert recv_data(w) is not None  # busy
    w.send(ppp.READY)  # the worker restarted its conversation: idle again, once
    assert wait_until(lambda: list(q.idle) == [b"W1"])
    w.send(ppp.READY)
    time.sleep(0.05)  # observation window: a duplicate entry would show up here
    assert list(q.idle) == [b"W1"]
    client.send_multipart([b"", b"client:2"])
    client.send_multipart([b"", b"client:3"])
    second = recv_data(w)
    assert second is not None and second[-1] == b"client:2"
    assert recv_data(w, 200) is None  # one entry, so one request until it replies


def test_request_for_a_disconnected_worker_goes_to_the_next_one(ctx, running,
                                                                 sockets) -> None:
    q = running(_queue(ctx))
    gone = _register(sockets, q, b"GONE")
    alive = _register(sockets, q, b"ALIVE")
    gone.close(linger=0)  # disconnects without a word; still first in the FIFO
    beats = 0
    while beats < 2:  # two heartbeat rounds: the queue's I/O thread saw the disconnect
        assert recv(alive) == [ppp.HEARTBEAT]
        beats += 1
    assert b"GONE" in q.idle  # not expired: liveness is 20 intervals
    client = sockets(zmq.DEALER)
    client.connect(q.frontend_endpoint)
    client.send_multipart([b"", b"client:1"])
    request = recv_data(alive)
    assert request is not None and request[-1] == b"client:1"


def test_queue_drops_garbage_from_workers(ctx, running, sockets) -> None:
    q = running(_queue(ctx, liveness=50))
    rogue = sockets(zmq.DEALER, b"ROGUE")
    rogue.connect(q.backend_endpoint)
    for frames in ([b"\x07"], [b"\x02"], [b"C", b"x"], [b"", b"x"], [b"C", b""]):
        rogue.send_multipart(frames)
    rogue.send(ppp.READY)
    assert wait_until(lambda: b"ROGUE" in q.idle)
    assert list(q.idle) == [b"ROGUE"]


# -- end to end, and garbage from every kind of peer ----------------------------------


@pytest.fixture
def ppp_system(ctx) -> Iterator[ParanoidPirateQueue]:
    with Runners() as runners:
        queue = runners.start(_queue(ctx))
        runners.start(_worker(queue.backend_endpoint, ctx))
        yield queue


def test_end_to_end_through_real_worker(ctx, ppp_system) -> None:
    with LazyPirateClient(ppp_system.frontend_endpoint, timeout_ms=500, retries=3,
                          context=ctx) as client:
        for i in range(20):
            body = f"client:{i}".encode()
            assert client.request(body) == body


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from([zmq.ROUTER, zmq.DEALER, zmq.REQ]),
    side=st.sampled_from(["frontend", "backend"]),
    frames=st.lists(
        st.one_of(st.sampled_from([b"", b"\x01", b"\x02"]), st.binary(max_size=12)),
        min_size=1, max_size=5,
    ),
)
def test_garbage_is_dropped_and_service_continues(ctx, ppp_system, kind, side, frames) -> None:
    assert garbage_then_request(ctx, ppp_system, kind, side, frames) == b"client:ok"


# -- the CLIs -----------------------------------------------------------------

def test_cli_queue_and_worker_serve_and_exit_0_on_sigterm(tmp_path: Path) -> None:
    front, back = free_endpoint(), free_endpoint()
    with Procs(tmp_path) as procs:
        queue = procs.spawn("queue", ["-m", "patterns.paranoid_pirate.queue", "--bind", front,
                                      "--bind", back, "--heartbeat-ms", "100", "--liveness", "3"])
        worker = procs.spawn("worker", ["-m", "patterns.paranoid_pirate.worker", "--connect", back,
                                        "--heartbeat-ms", "100", "--liveness", "3",
                                        "--reconnect-ms", "100", "--backoff-max-ms", "400",
                                        "--work-ms", "1"])
        ctx = zmq.Context.instance()
        with LazyPirateClient(front, timeout_ms=1000, retries=10, context=ctx) as client:
            assert client.request(b"client:1") == b"client:1"
        assert "ready" in procs.log("queue")
        codes = []
        for proc in (worker, queue):
            proc.send_signal(signal.SIGTERM)
            codes.append(proc.wait(timeout=5))
        assert codes == [0, 0]


@pytest.mark.parametrize("module,flags", [
    ("patterns.paranoid_pirate.queue", ["--bind", "--heartbeat-ms", "--liveness"]),
    ("patterns.paranoid_pirate.worker", ["--connect", "--heartbeat-ms", "--liveness",
                                         "--reconnect-ms", "--backoff-max-ms", "--work-ms"]),
])
def test_help_documents_the_options(module: str, flags: list[str]) -> None:
    out = help_text(module)
    for flag in flags:
        assert flag in out
