"""The broken PPP queue (tests/negative) loses slow requests; the real queue does not.

A request takes longer than heartbeat x liveness. The real queue heartbeats
the busy worker, so the worker stays and answers; the broken queue (the
Guide's ppqueue flaw: heartbeats to idle workers only) lets the worker decide
the queue is dead, reconnect and drop the request.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
import zmq

from patterns.common.errors import RequestAbandoned
from patterns.lazy_pirate.client import LazyPirateClient
from patterns.paranoid_pirate.queue import ParanoidPirateQueue
from patterns.paranoid_pirate.worker import ParanoidPirateWorker
from tests.patterns.procs import REPO, Runners


def _broken_queue_class() -> type[ParanoidPirateQueue]:
    spec = importlib.util.spec_from_file_location(
        "broken_ppp_queue", REPO / "tests" / "negative" / "broken_ppp_queue.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BrokenQueue


@pytest.fixture(params=["real", "broken"])
def system(request) -> Iterator[tuple[str, str, zmq.Context]]:
    ctx = zmq.Context()
    cls = ParanoidPirateQueue if request.param == "real" else _broken_queue_class()
    try:
        with Runners() as runners:
            queue = runners.start(cls("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", heartbeat_ms=50,
                                      liveness=6, context=ctx))
            runners.start(ParanoidPirateWorker(queue.backend_endpoint, heartbeat_ms=50,
                                               liveness=6, reconnect_ms=50, backoff_max_ms=100,
                                               work_ms=700, context=ctx))
            yield request.param, queue.frontend_endpoint, ctx
    finally:
        ctx.destroy(linger=0)


def test_slow_request_survives_only_with_heartbeats_to_busy_workers(system) -> None:
    kind, endpoint, ctx = system
    with LazyPirateClient(endpoint, timeout_ms=1600, retries=2, context=ctx) as client:
        if kind == "real":
            assert client.request(b"client:1") == b"client:1"
        else:
            with pytest.raises(RequestAbandoned):
                client.request(b"client:1")
