"""The Majordomo negative controls are broken in exactly the intended way.

A negative control that accidentally works proves nothing, so each broken
broker is checked here against the behaviour our broker gets right: the
immortal-worker broker keeps a dead worker (MMI says 200, a request goes to
the dead worker and vanishes), the misrouting broker hands a reply to a
client that did not ask for it.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import zmq

from patterns.majordomo import mdp
from patterns.majordomo.broker import MajordomoBroker
from tests.patterns.mdp_helpers import HB_MS, WAIT_S, BrokerThread, connect, recv, register

NEGATIVE = Path(__file__).resolve().parents[1] / "negative"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, NEGATIVE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ctx() -> Iterator[zmq.Context]:
    c = zmq.Context()
    try:
        yield c
    finally:
        c.destroy(linger=0)


def serve(ctx: zmq.Context, cls: type[MajordomoBroker]) -> BrokerThread:
    """A ``cls`` broker on a random loopback port, expiring workers after 150 ms."""
    return BrokerThread(liveness=3, broker_cls=cls, context=ctx)


def mmi_code(ctx: zmq.Context, endpoint: str) -> bytes | None:
    c = connect(ctx, zmq.REQ, endpoint)
    try:
        c.send_multipart([mdp.C_CLIENT, mdp.MMI_SERVICE, b"echo"])
        reply = recv(c)
        return reply[-1] if reply else None
    finally:
        c.close(linger=0)


def test_immortal_broker_keeps_a_dead_worker_and_feeds_it(ctx: zmq.Context) -> None:
    immortal = load("majordomo_immortal_worker_broker")
    serving = serve(ctx, immortal.ImmortalWorkerBroker)
    try:
        worker = register(ctx, serving.endpoint)
        assert recv(worker) is not None  # registered: heartbeats flow
        worker.close(linger=0)  # the worker dies
        time.sleep(10 * HB_MS / 1000)  # far past its 150 ms expiry
        assert mmi_code(ctx, serving.endpoint) == mdp.MMI_FOUND  # the bug: still "alive"
        client = connect(ctx, zmq.REQ, serving.endpoint)
        client.send_multipart([mdp.C_CLIENT, b"echo", b"lost"])
        assert recv(client, timeout=5 * HB_MS / 1000) is None  # swallowed by the dead worker
    finally:
        serving.stop()


def test_our_broker_forgets_the_same_dead_worker(ctx: zmq.Context) -> None:
    serving = serve(ctx, MajordomoBroker)
    try:
        worker = register(ctx, serving.endpoint)
        assert recv(worker) is not None
        worker.close(linger=0)
        deadline = time.monotonic() + WAIT_S
        while mmi_code(ctx, serving.endpoint) != mdp.MMI_NOT_FOUND:
            assert time.monotonic() < deadline, "dead worker never forgotten"
            time.sleep(HB_MS / 1000)
    finally:
        serving.stop()


def test_misrouting_broker_sends_a_reply_to_the_wrong_client(ctx: zmq.Context) -> None:
    misrouting = load("majordomo_misrouting_broker")
    serving = serve(ctx, misrouting.MisroutingBroker)
    try:
        worker = register(ctx, serving.endpoint)
        clients = [connect(ctx, zmq.DEALER, serving.endpoint) for _ in range(2)]
        got: dict[int, list[bytes]] = {0: [], 1: []}
        for round_no in range(20):  # alternate clients; each reply should go home
            i = round_no % 2
            clients[i].send_multipart(mdp.client_request(b"echo", [b"%d:%d" % (i, round_no)]))
            request = recv(worker)
            while request is not None and request[2] != mdp.W_REQUEST:
                request = recv(worker)
            assert request is not None
            worker.send_multipart(mdp.worker_reply(request[3], [request[-1]]))
            for j, c in enumerate(clients):
                while c.poll(20):
                    got[j].append(c.recv_multipart()[-1])
        foreign = [
            body for j, bodies in got.items() for body in bodies if not body.startswith(b"%d:" % j)
        ]
        assert foreign, "the misrouting broker delivered every reply correctly"
    finally:
        serving.stop()
