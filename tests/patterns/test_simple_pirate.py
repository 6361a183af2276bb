"""Simple Pirate: READY framing, LRU dispatch, worker loss, garbage robustness.

The queue and workers run in threads of this process; peers that misbehave
are raw zmq sockets, so each test controls the frames exactly.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patterns.lazy_pirate.client import LazyPirateClient
from patterns.simple_pirate import READY
from patterns.simple_pirate.queue import SimplePirateQueue
from patterns.simple_pirate.worker import SimplePirateWorker
from tests.patterns.procs import (
    Procs,
    Runners,
    free_endpoint,
    garbage_then_request,
    help_text,
    recv,
    wait_for,
    wait_until,
)

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


def test_worker_says_ready_as_one_byte_then_echoes_the_envelope(ctx, running) -> None:
    queue = ctx.socket(zmq.ROUTER)
    queue.linger = 0
    try:
        queue.bind(ANY)
        endpoint = queue.getsockopt_string(zmq.LAST_ENDPOINT)
        worker = running(SimplePirateWorker(endpoint, context=ctx))
        ident, empty, ready = recv(queue)
        assert (ident, empty, ready) == (worker.identity, b"", b"\x01")
        assert len(ident) == 9 and ident.decode().isprintable()
        queue.send_multipart([ident, b"", b"CLIENT", b"", b"client:1"])
        assert recv(queue) == [ident, b"", b"CLIENT", b"", b"client:1"]
    finally:
        queue.close(linger=0)


def test_queue_routes_request_to_worker_and_reply_back(ctx, running) -> None:
    q = running(SimplePirateQueue(ANY, ANY, context=ctx))
    worker = ctx.socket(zmq.REQ)
    client = ctx.socket(zmq.REQ)
    try:
        for s in (worker, client):
            s.linger = 0
        worker.setsockopt(zmq.IDENTITY, b"W1")
        worker.connect(q.backend_endpoint)
        worker.send(READY)
        client.connect(q.frontend_endpoint)
        client.send(b"client:1")
        cid, empty, body = recv(worker)
        assert (empty, body) == (b"", b"client:1")
        worker.send_multipart([cid, b"", b"client:1"])
        assert recv(client) == [b"client:1"]
    finally:
        worker.close(linger=0)
        client.close(linger=0)


def test_requests_go_to_the_least_recently_used_worker(ctx, running) -> None:
    q = running(SimplePirateQueue(ANY, ANY, context=ctx))
    workers = []
    client = ctx.socket(zmq.DEALER)
    client.linger = 0
    try:
        for name in (b"A", b"B"):
            w = ctx.socket(zmq.REQ)
            w.linger = 0
            w.setsockopt(zmq.IDENTITY, name)
            w.connect(q.backend_endpoint)
            w.send(READY)
            workers.append(w)
            # wait until the queue knows it, so the FIFO order is A then B
            wait_until(lambda name=name: name in q.idle)
        client.connect(q.frontend_endpoint)
        client.send_multipart([b"", b"r1"])
        client.send_multipart([b"", b"r2"])
        assert recv(workers[0])[2] == b"r1"
        assert recv(workers[1])[2] == b"r2"
    finally:
        client.close(linger=0)
        for w in workers:
            w.close(linger=0)


def test_requests_wait_in_the_client_until_a_worker_is_idle(ctx, running) -> None:
    q = running(SimplePirateQueue(ANY, ANY, context=ctx))
    client = ctx.socket(zmq.REQ)
    worker = ctx.socket(zmq.REQ)
    try:
        for s in (client, worker):
            s.linger = 0
        client.connect(q.frontend_endpoint)
        client.send(b"client:early")  # no worker yet: the queue must not read it
        worker.connect(q.backend_endpoint)
        worker.send(READY)
        cid, _empty, body = recv(worker)
        assert body == b"client:early"
        worker.send_multipart([cid, b"", body])
        assert recv(client) == [b"client:early"]
    finally:
        client.close(linger=0)
        worker.close(linger=0)


def test_a_dead_worker_costs_one_retry_not_the_request(ctx, running) -> None:
    q = running(SimplePirateQueue(ANY, ANY, context=ctx))
    silent = ctx.socket(zmq.REQ)  # registers, then never answers
    silent.linger = 0
    try:
        silent.setsockopt(zmq.IDENTITY, b"SILENT")
        silent.connect(q.backend_endpoint)
        silent.send(READY)
        wait_until(lambda: b"SILENT" in q.idle)
        running(SimplePirateWorker(q.backend_endpoint, context=ctx))
        with LazyPirateClient(q.frontend_endpoint, timeout_ms=300, retries=3,
                              context=ctx) as client:
            assert client.request(b"client:1") == b"client:1"
            assert client.sends == 2  # first send swallowed by the silent worker
    finally:
        silent.close(linger=0)


def test_malformed_messages_never_make_a_peer_an_idle_worker(ctx, running) -> None:
    q = running(SimplePirateQueue(ANY, ANY, context=ctx))
    rogue = ctx.socket(zmq.DEALER)
    rogue.linger = 0
    try:
        rogue.setsockopt(zmq.IDENTITY, b"ROGUE")
        rogue.connect(q.backend_endpoint)
        for frames in ([b"x"], [b"", b"\x02"], [b"", b"C", b"x"], [b"nodelim", b"\x01"]):
            rogue.send_multipart(frames)
        rogue.send_multipart([b"", READY])  # a valid READY, sent last as a marker
        wait_until(lambda: b"ROGUE" in q.idle)
        assert list(q.idle) == [b"ROGUE"]
    finally:
        rogue.close(linger=0)


# -- garbage from every kind of peer -------------------------------------------

frames_strategy = st.lists(
    st.one_of(st.sampled_from([b"", b"\x01", b"\x02", b"READY"]), st.binary(max_size=12)),
    min_size=1, max_size=5,
)


@pytest.fixture
def sp_system(ctx) -> Iterator[SimplePirateQueue]:
    with Runners() as runners:
        queue = runners.start(SimplePirateQueue(ANY, ANY, context=ctx))
        runners.start(SimplePirateWorker(queue.backend_endpoint, context=ctx))
        yield queue


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from([zmq.ROUTER, zmq.DEALER, zmq.REQ]),
    side=st.sampled_from(["frontend", "backend"]),
    frames=frames_strategy,
)
def test_garbage_is_dropped_and_service_continues(ctx, sp_system, kind, side, frames) -> None:
    assert garbage_then_request(ctx, sp_system, kind, side, frames) == b"client:ok"


# -- the CLIs -----------------------------------------------------------------

def run_cli_until_logged(procs: Procs, node: str, argv: list[str], marker: str) -> int:
    """Start a role, wait (bounded) for ``marker`` in its log, SIGTERM it, return its exit code."""
    proc = procs.spawn(node, argv)
    wait_for(lambda: marker in procs.log(node) or proc.poll() is not None, timeout=20,
             what=f"{marker!r} in the log of {node}")
    assert proc.poll() is None, procs.log(node)
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=5)


def test_queue_and_worker_clis_exit_0_on_sigterm(tmp_path: Path) -> None:
    front, back = free_endpoint(), free_endpoint()
    with Procs(tmp_path) as procs:
        assert run_cli_until_logged(procs, "queue", ["-m", "patterns.simple_pirate.queue",
                                                     "--bind", front, "--bind", back],
                                    "simple pirate queue") == 0
        assert run_cli_until_logged(procs, "worker", ["-m", "patterns.simple_pirate.worker",
                                                      "--connect", back],
                                    "connected to") == 0


@pytest.mark.parametrize("module,flags", [
    ("patterns.simple_pirate.queue", ["--bind"]),
    ("patterns.simple_pirate.worker", ["--connect", "--work-ms"]),
])
def test_help_documents_the_options(module: str, flags: list[str]) -> None:
    out = help_text(module)
    for flag in flags:
        assert flag in out
