"""Shared queue: rrbroker and msgqueue forward REQ/REP traffic, wait for workers, stop cleanly."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patterns.lazy_pirate.client import LazyPirateClient
from patterns.shared_queue.msgqueue import MessageQueue
from patterns.shared_queue.rrbroker import RequestReplyBroker
from patterns.shared_queue.worker import RepWorker
from tests.patterns.procs import (
    Procs,
    Runners,
    free_endpoint,
    help_text,
    recv,
    send_garbage,
    wait_for,
)
from tests.patterns.test_simple_pirate import run_cli_until_logged

ANY = "tcp://127.0.0.1:*"
BROKERS = [RequestReplyBroker, MessageQueue]


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def running() -> Iterator[Callable]:
    with Runners() as runners:
        yield runners.start


@pytest.mark.parametrize("broker_class", BROKERS, ids=lambda c: c.__name__)
def test_requests_reach_rep_workers_and_replies_come_back(ctx, running, broker_class) -> None:
    broker = running(broker_class(ANY, ANY, context=ctx))
    workers = [running(RepWorker(broker.backend_endpoint, context=ctx)) for _ in range(2)]
    with LazyPirateClient(broker.frontend_endpoint, timeout_ms=1000, retries=3,
                          context=ctx) as client:
        for i in range(20):
            assert client.request(b"c:%d" % i) == b"c:%d" % i
    # the DEALER backend round-robins: both workers served some
    assert all(w.handled > 0 for w in workers), [w.handled for w in workers]


@pytest.mark.parametrize("broker_class", BROKERS, ids=lambda c: c.__name__)
def test_a_request_waits_for_the_first_worker(ctx, running, broker_class) -> None:
    broker = running(broker_class(ANY, ANY, context=ctx))
    client = ctx.socket(zmq.REQ)
    client.linger = 0
    try:
        client.connect(broker.frontend_endpoint)
        client.send(b"early")
        assert not client.poll(200)
        running(RepWorker(broker.backend_endpoint, context=ctx))
        assert recv(client) == [b"early"]
    finally:
        client.close(linger=0)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from([zmq.DEALER, zmq.REQ, zmq.ROUTER]),
       side=st.sampled_from(["frontend", "backend"]),
       frames=st.lists(st.binary(max_size=8), min_size=1, max_size=4))
def test_rrbroker_survives_garbage(ctx, kind, side, frames) -> None:
    with Runners() as runners:
        broker = runners.start(RequestReplyBroker(ANY, ANY, context=ctx))
        runners.start(RepWorker(broker.backend_endpoint, context=ctx))
        endpoint = broker.frontend_endpoint if side == "frontend" else broker.backend_endpoint
        send_garbage(ctx, kind, endpoint, frames)
        with LazyPirateClient(broker.frontend_endpoint, timeout_ms=300, retries=6,
                              context=ctx) as client:
            assert client.request(b"c:ok") == b"c:ok"


@pytest.mark.parametrize("module", ["patterns.shared_queue.rrbroker",
                                    "patterns.shared_queue.msgqueue"])
def test_broker_clis_serve_and_exit_0_on_sigterm(tmp_path: Path, module: str) -> None:
    front, back = free_endpoint(), free_endpoint()
    with Procs(tmp_path) as procs:
        broker = procs.spawn("broker", ["-m", module, "--bind", front, "--bind", back])
        worker = procs.spawn("worker", ["-m", "patterns.shared_queue.worker", "--connect", back])
        with LazyPirateClient(front, timeout_ms=1000, retries=10) as client:
            assert client.request(b"c:1") == b"c:1"
        wait_for(lambda: procs.events("worker", "handled"), what="the worker's handled event")
        for proc in (worker, broker):
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0, procs.log("broker")


def test_worker_cli_exits_0_on_sigterm(tmp_path: Path) -> None:
    with Procs(tmp_path) as procs:
        assert run_cli_until_logged(procs, "worker", ["-m", "patterns.shared_queue.worker",
                                                      "--connect", free_endpoint()],
                                    "connected to") == 0


@pytest.mark.parametrize("module,flags", [
    ("patterns.shared_queue.rrbroker", ["--bind"]),
    ("patterns.shared_queue.msgqueue", ["--bind"]),
    ("patterns.shared_queue.worker", ["--connect", "--work-ms"]),
])
def test_help_documents_the_options(module: str, flags: list[str]) -> None:
    out = help_text(module)
    for flag in flags:
        assert flag in out
