"""Asynchronous server: threads and processes behind one backend, pipelined client, clean stop."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zmq

from patterns.async_server.client import SERVICE, AsyncDealerClient
from patterns.async_server.server import AsyncServer
from patterns.async_server.worker import AsyncWorker
from patterns.majordomo.async_client import PipelinedEcho
from tests.patterns.procs import (
    Procs,
    Runners,
    free_endpoint,
    help_text,
    read_events,
    recv,
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


def pipeline(client: AsyncDealerClient, requests: int, window: int = 8) -> PipelinedEcho:
    echo = PipelinedEcho(client, SERVICE, window=window, timeout_ms=1000, retries=3,
                         requests=requests, rate=0, server="test")
    echo.run()
    return echo


def test_worker_threads_answer_a_window_of_requests(ctx, running) -> None:
    server = running(AsyncServer(ANY, ANY, threads=3, context=ctx))
    client = AsyncDealerClient(server.frontend_endpoint, context=ctx)
    try:
        echo = pipeline(client, 200)
        assert (echo.answered, echo.failed) == (200, 0)
        assert sum(w.handled for w in server.workers) == 200
        assert all(w.handled for w in server.workers)
    finally:
        client.close()


def test_worker_processes_share_the_backend_with_threads(ctx, running) -> None:
    server = running(AsyncServer(ANY, ANY, threads=1, context=ctx))
    outside = running(AsyncWorker(server.backend_endpoint, context=ctx))
    client = AsyncDealerClient(server.frontend_endpoint, context=ctx)
    try:
        wait_for(lambda: pipeline(client, 50).answered == 50 and outside.handled > 0,
                 timeout=10, what="a request served by the worker outside the server")
    finally:
        client.close()


def test_replies_are_one_frame_echoes_in_any_order(ctx, running) -> None:
    server = running(AsyncServer(ANY, ANY, threads=0, context=ctx))
    worker = ctx.socket(zmq.DEALER)  # a hand-driven worker: answers in reverse order
    worker.linger = 0
    client = ctx.socket(zmq.DEALER)
    client.linger = 0
    try:
        worker.connect(server.backend_endpoint)
        client.connect(server.frontend_endpoint)
        client.send(b"c:1")
        client.send(b"c:2")
        first, second = recv(worker), recv(worker)
        assert [first[-1], second[-1]] == [b"c:1", b"c:2"] and len(first) == 2
        worker.send_multipart(second)
        worker.send_multipart(first)
        assert [recv(client), recv(client)] == [[b"c:2"], [b"c:1"]]
    finally:
        worker.close(linger=0)
        client.close(linger=0)


def test_client_accepts_each_op_once_and_refuses_repeats(tmp_path, monkeypatch, ctx,
                                                         running) -> None:
    trace_file = tmp_path / "t.jsonl"
    monkeypatch.setenv("ZCHAOS_TRACE", str(trace_file))
    monkeypatch.setenv("ZCHAOS_NODE", "client")
    router = ctx.socket(zmq.ROUTER)  # a server that answers every request twice
    router.linger = 0
    try:
        router.bind(ANY)
        client = AsyncDealerClient(router.getsockopt_string(zmq.LAST_ENDPOINT), context=ctx)
        echo = PipelinedEcho(client, SERVICE, window=1, timeout_ms=2000, retries=1,
                             requests=2, rate=0, server="x")
        done = threading.Event()
        thread = threading.Thread(target=lambda: (echo.run(), done.set()), daemon=True)
        thread.start()
        for _ in range(2):
            ident, body = recv(router)
            router.send_multipart([ident, body])
            router.send_multipart([ident, body])
        assert done.wait(5)
        client.close()
        kinds = [e["type"] for e in read_events(trace_file)]
        assert kinds.count("ok") == 2
        assert "refused" in kinds
    finally:
        router.close(linger=0)


def test_clis_serve_and_exit_0_on_sigterm(tmp_path: Path) -> None:
    front, back = free_endpoint(), free_endpoint()
    with Procs(tmp_path) as procs:
        server = procs.spawn("server", ["-m", "patterns.async_server.server", "--bind", front,
                                        "--bind", back, "--threads", "0"])
        worker = procs.spawn("worker", ["-m", "patterns.async_server.worker", "--connect", back])
        client = procs.spawn("client", ["-m", "patterns.async_server.client", "--connect", front,
                                        "--requests", "30", "--window", "5"])
        assert client.wait(30) == 0, procs.log("client")
        assert len(procs.events("client", "ok")) == 30
        assert len(procs.events("worker", "handled")) == 30
        for proc in (worker, server):
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0, procs.log("server")


def test_worker_cli_exits_0_on_sigterm(tmp_path: Path) -> None:
    with Procs(tmp_path) as procs:
        assert run_cli_until_logged(procs, "worker", ["-m", "patterns.async_server.worker",
                                                      "--connect", free_endpoint()],
                                    "connected to") == 0


@pytest.mark.parametrize("module,flags", [
    ("patterns.async_server.server", ["--bind", "--threads", "--work-ms"]),
    ("patterns.async_server.worker", ["--connect", "--work-ms"]),
    ("patterns.async_server.client", ["--connect", "--window", "--timeout-ms", "--retries"]),
])
def test_help_documents_the_options(module: str, flags: list[str]) -> None:
    out = help_text(module)
    for flag in flags:
        assert flag in out
