"""Load-balancing broker and worker: both READY spellings, LRU, trace events, robustness, CLIs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patterns.lazy_pirate.client import LazyPirateClient
from patterns.lbbroker.broker import LoadBalancingBroker
from patterns.simple_pirate.worker import SimplePirateWorker
from tests.patterns.procs import (
    Procs,
    Runners,
    free_endpoint,
    garbage_then_request,
    help_text,
    read_events,
    recv,
    wait_for,
    wait_until,
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


def req_worker(ctx: zmq.Context, endpoint: str, name: bytes, ready: bytes) -> zmq.Socket:
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    sock.setsockopt(zmq.IDENTITY, name)
    sock.connect(endpoint)
    sock.send(ready)
    return sock


@pytest.mark.parametrize("ready", [b"READY", b"\x01"])
def test_either_ready_spelling_registers_a_worker(ctx, running, ready: bytes) -> None:
    broker = running(LoadBalancingBroker(ANY, ANY, context=ctx))
    worker = req_worker(ctx, broker.backend_endpoint, b"W", ready)
    try:
        wait_for(lambda: b"W" in broker.idle, what="the worker in the idle FIFO")
    finally:
        worker.close(linger=0)


def test_other_one_frame_messages_do_not_register(ctx, running) -> None:
    broker = running(LoadBalancingBroker(ANY, ANY, context=ctx))
    rogue = req_worker(ctx, broker.backend_endpoint, b"R", b"HELLO")
    good = req_worker(ctx, broker.backend_endpoint, b"G", b"READY")
    try:
        wait_for(lambda: b"G" in broker.idle, what="the good worker")
        assert list(broker.idle) == [b"G"]
    finally:
        rogue.close(linger=0)
        good.close(linger=0)


def test_requests_go_to_the_worker_idle_longest(ctx, running) -> None:
    broker = running(LoadBalancingBroker(ANY, ANY, context=ctx))
    workers = []
    client = ctx.socket(zmq.DEALER)
    client.linger = 0
    try:
        for name in (b"A", b"B", b"C"):
            workers.append(req_worker(ctx, broker.backend_endpoint, name, b"READY"))
            wait_for(lambda name=name: name in broker.idle, what=f"worker {name!r}")
        client.connect(broker.frontend_endpoint)
        for body in (b"r1", b"r2"):
            client.send_multipart([b"", body])
        first = recv(workers[0])
        assert first[-1] == b"r1"
        assert recv(workers[1])[-1] == b"r2"
        # A answers: it is now the most recently used, so C (idle since the start) is next
        workers[0].send_multipart(first)
        assert recv(client) == [b"", b"r1"]
        for body in (b"r3", b"r4"):
            client.send_multipart([b"", body])
        assert recv(workers[2])[-1] == b"r3"
        assert recv(workers[0])[-1] == b"r4"
    finally:
        client.close(linger=0)
        for w in workers:
            w.close(linger=0)


def test_decisions_are_traced_for_the_contract(tmp_path: Path, monkeypatch, ctx, running) -> None:
    trace_file = tmp_path / "trace.jsonl"
    monkeypatch.setenv("ZCHAOS_TRACE", str(trace_file))
    monkeypatch.setenv("ZCHAOS_NODE", "broker")
    broker = running(LoadBalancingBroker(ANY, ANY, context=ctx))
    running(SimplePirateWorker(broker.backend_endpoint, context=ctx, identity=b"w1",
                               ready=b"READY"))
    with LazyPirateClient(broker.frontend_endpoint, timeout_ms=1000, retries=3,
                          context=ctx) as client:
        assert client.request(b"c:1") == b"c:1"
    wait_for(lambda: len([e for e in read_events(trace_file) if e["type"] == "idle"]) >= 2,
             what="the worker's second idle event")
    kinds = [(e["type"], e.get("worker"), e.get("op"))
             for e in read_events(trace_file) if e["node"] == "broker"]
    assert kinds[0] == ("serving", None, None)
    assert ("idle", "w1", None) in kinds
    assert ("route", "w1", "c:1") in kinds
    assert kinds.index(("route", "w1", "c:1")) > kinds.index(("idle", "w1", None))


frames_strategy = st.lists(
    st.one_of(st.sampled_from([b"", b"\x01", b"READY"]), st.binary(max_size=12)),
    min_size=1, max_size=5,
)


@pytest.fixture
def lb_system(ctx) -> Iterator[LoadBalancingBroker]:
    with Runners() as runners:
        broker = runners.start(LoadBalancingBroker(ANY, ANY, context=ctx))
        runners.start(SimplePirateWorker(broker.backend_endpoint, context=ctx, ready=b"READY"))
        yield broker


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from([zmq.ROUTER, zmq.DEALER, zmq.REQ]),
       side=st.sampled_from(["frontend", "backend"]), frames=frames_strategy)
def test_garbage_is_dropped_and_service_continues(ctx, lb_system, kind, side, frames) -> None:
    assert garbage_then_request(ctx, lb_system, kind, side, frames) == b"client:ok"


def test_worker_cli_names_itself_after_its_node(tmp_path: Path) -> None:
    front, back = free_endpoint(), free_endpoint()
    with Procs(tmp_path) as procs:
        procs.spawn("broker", ["-m", "patterns.lbbroker.broker", "--bind", front, "--bind", back])
        worker = procs.spawn("worker-3", ["-m", "patterns.lbbroker.worker", "--connect", back])
        wait_for(lambda: any(e["type"] == "idle" for e in procs.events("broker")),
                 timeout=20, what="the worker's READY at the broker")
        assert procs.events("broker", "idle")[0]["worker"] == "worker-3"
        with LazyPirateClient(front, timeout_ms=1000, retries=5) as client:
            assert client.request(b"x:1") == b"x:1"
        assert wait_until(lambda: procs.events("worker-3", "handled"))
        worker.terminate()
        assert worker.wait(5) == 0


def test_clis_exit_0_on_sigterm(tmp_path: Path) -> None:
    front, back = free_endpoint(), free_endpoint()
    with Procs(tmp_path) as procs:
        assert run_cli_until_logged(procs, "broker", ["-m", "patterns.lbbroker.broker",
                                                      "--bind", front, "--bind", back],
                                    "load-balancing broker") == 0
        assert run_cli_until_logged(procs, "worker", ["-m", "patterns.lbbroker.worker",
                                                      "--connect", back], "connected to") == 0


@pytest.mark.parametrize("module,flags", [
    ("patterns.lbbroker.broker", ["--bind"]),
    ("patterns.lbbroker.worker", ["--connect", "--work-ms"]),
])
def test_help_documents_the_options(module: str, flags: list[str]) -> None:
    out = help_text(module)
    for flag in flags:
        assert flag in out
