"""Load generation for bench/majordomo_bench.py: the broker, workers, clients and references.

Every process here only produces load and reports when it is connected;
nothing in this module times anything (that is
:mod:`majordomo_measure`). Workers and clients are minimal raw-socket loops
(``fastio``, as the broker uses) so that, between our broker and the C
``zmq.proxy`` reference, the broker is the only thing that differs; the
``api_*`` variants put the same load on our own client and worker classes.
Targets of ``multiprocessing`` (spawn): they must stay importable functions.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import time
from typing import Any

import zmq
from common import ROOT

from patterns.common.fastio import poll_in, recv_frames, send_frames
from patterns.majordomo import mdp

ECHO = b"echo"

# The same broker with its hot path on pyzmq's send_multipart/recv_multipart,
# i.e. what a straightforward implementation does; shows what fastio buys.
SUGAR_BROKER = """
import sys, zmq
import patterns.majordomo.broker as b
from patterns.common import role
b.send_frames = lambda s, f, noblock=True: s.send_multipart(f, zmq.NOBLOCK if noblock else 0)
b.send_prefixed = lambda s, head, f, start: s.send_multipart([*head, *f[start:]], zmq.NOBLOCK)
b.recv_frames = lambda s, noblock=True: s.recv_multipart(zmq.NOBLOCK if noblock else 0)
b.set_recv_timeout = lambda s, ms: s.setsockopt(zmq.RCVTIMEO, ms)
sys.argv[0] = "broker"
role.run_role(b.main)
"""


def start_broker(
    endpoint: str, heartbeat_ms: int = 2500, sugar: bool = False
) -> subprocess.Popen[bytes]:
    """Our broker as its own process (``sugar``: on pyzmq's convenience layer)."""
    launcher = ["-c", SUGAR_BROKER] if sugar else ["-m", "patterns.majordomo.broker"]
    return subprocess.Popen(
        [
            sys.executable,
            *launcher,
            "--bind",
            endpoint,
            "--heartbeat-ms",
            str(heartbeat_ms),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_service(endpoint: str, service: bytes, timeout: float = 10.0) -> None:
    """Ask mmi.service until the broker knows a worker for ``service``."""
    ctx = zmq.Context.instance()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        s.connect(endpoint)
        s.send_multipart(mdp.client_request(mdp.MMI_SERVICE, [service]))
        if s.poll(500) and s.recv_multipart()[-1] == mdp.MMI_FOUND:
            s.close()
            return
        s.close()
        time.sleep(0.05)
    raise RuntimeError(f"no worker for {service!r} registered at {endpoint}")


def echo_worker(endpoint: str, speak_mdp: bool, stop_at: float, ready: mp.Queue) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    if speak_mdp:
        s.send_multipart(mdp.worker_ready(ECHO))
    ready.put(os.getpid())
    request, reply, header = mdp.W_REQUEST, mdp.W_REPLY, mdp.W_WORKER
    while time.time() < stop_at:
        if not poll_in(s, 100):
            continue
        while True:
            try:
                frames = recv_frames(s)
            except zmq.Again:
                break
            if not speak_mdp:
                send_frames(s, frames, noblock=False)
            elif len(frames) >= 6 and frames[2] == request:
                send_frames(s, [b"", header, reply, frames[3], b"", *frames[5:]], noblock=False)
    s.close()
    ctx.term()


def pipelined_client(
    endpoint: str,
    speak_mdp: bool,
    window: int,
    clock: Any,
    seconds: float,
    ready: mp.Queue,
    results: mp.Queue,
) -> None:
    """Keep ``window`` requests in flight; count replies in [start + 1 s, start + 1 s + seconds).

    ``clock`` (a shared double) is 0 until every process of the run is up;
    then it holds the common start time, so no client starts late.
    """
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    prefix = [b"", mdp.C_CLIENT, ECHO] if speak_mdp else []
    ready.put(os.getpid())
    while clock.value == 0 or time.time() < clock.value:
        time.sleep(0.005)
    measure_from = clock.value + 1.0
    stop_at = measure_from + seconds
    for i in range(window):
        send_frames(s, [*prefix, b"%d" % i], noblock=False)
    counted = 0
    sent = window
    while True:
        now = time.time()
        if now >= stop_at:
            break
        if not poll_in(s, 100):
            continue
        while True:
            try:
                recv_frames(s)
            except zmq.Again:
                break
            if now >= measure_from:
                counted += 1
            sent += 1
            send_frames(s, [*prefix, b"%d" % sent], noblock=False)
    results.put(counted)
    s.close()
    ctx.term()


def api_worker(endpoint: str, ready: mp.Queue) -> None:
    """An echo worker on our ``MajordomoWorker`` API (what the ``majordomo.worker`` role runs)."""
    from patterns.majordomo.worker import MajordomoWorker

    worker = MajordomoWorker(endpoint, ECHO)
    ready.put(os.getpid())
    while True:  # killed at the end of the run
        body = worker.recv()
        if body is not None:
            worker.send(body)


def api_client(
    endpoint: str, window: int, clock: Any, seconds: float, ready: mp.Queue, results: mp.Queue
) -> None:
    """:func:`pipelined_client` on our ``MajordomoAsyncClient`` API (replies are validated)."""
    from patterns.majordomo.async_client import MajordomoAsyncClient

    client = MajordomoAsyncClient(endpoint)
    ready.put(os.getpid())
    while clock.value == 0 or time.time() < clock.value:
        time.sleep(0.005)
    measure_from = clock.value + 1.0
    stop_at = measure_from + seconds
    for i in range(window):
        client.send(ECHO, [b"%d" % i])
    counted = 0
    sent = window
    while time.time() < stop_at:
        if client.recv(100) is None:
            continue
        if time.time() >= measure_from:
            counted += 1
        sent += 1
        client.send(ECHO, [b"%d" % sent])
    results.put(counted)
    client.close()


def run_proxy(frontend: str, backend: str) -> None:
    ctx = zmq.Context()
    f = ctx.socket(zmq.ROUTER)
    b = ctx.socket(zmq.DEALER)
    f.bind(frontend)
    b.bind(backend)
    try:
        zmq.proxy(f, b)
    except zmq.ContextTerminated:
        pass


def rep_server(endpoint: str) -> None:
    ctx = zmq.Context()
    s = ctx.socket(zmq.REP)
    s.bind(endpoint)
    while True:
        s.send_multipart(s.recv_multipart())


def wait_ready(ready: mp.Queue, count: int, timeout: float = 60.0) -> list[int]:
    """The pids of ``count`` processes once each has reported that it is connected."""
    deadline = time.monotonic() + timeout
    return [ready.get(timeout=max(0.1, deadline - time.monotonic())) for _ in range(count)]
