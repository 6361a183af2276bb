"""What the one-way roles share (patterns/common/streams.py)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest
import zmq

from patterns.common import role
from patterns.common.fastio import recv_frames
from patterns.common.io_threads import STOP_SIGNALS
from patterns.common.role import StopRequested, raise_if_stopped
from patterns.common.streams import Pacer, PeerCounter, seeded_random, set_hwm
from tests.patterns.procs import free_endpoint


@pytest.fixture
def latched(monkeypatch: pytest.MonkeyPatch):
    """Every role's stop handlers, installed for this test only (restored after)."""
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    monkeypatch.setattr(role, "_stop_signals", [])
    ignored: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", ignored.append)
    for signum in STOP_SIGNALS:
        signal.signal(signum, role._raise_stop)
    try:
        yield ignored
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_a_swallowed_stop_is_raised_by_the_loop(latched: list[object]) -> None:
    class Dies:
        def __del__(self) -> None:
            signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)  # raises, ignored

    Dies()  # the exception goes to sys.unraisablehook, as in zmq.Frame.__dealloc__
    assert latched and isinstance(latched[0].exc_value, StopRequested)
    with pytest.raises(StopRequested):
        raise_if_stopped()


def test_every_sigterm_stops_a_flooded_receive_loop(latched: list[object]) -> None:
    """50 SIGTERMs, each while frames are received flat out: every one stops the loop.

    Measured before the latch: about one in four ran its handler inside
    ``zmq.Frame.__dealloc__`` and was lost.
    """
    ctx = zmq.Context()
    try:
        push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
        for sock in (push, pull):
            sock.linger = 0
            set_hwm(sock, 0)
        push.bind("inproc://flood")
        pull.connect("inproc://flood")
        for _ in range(120_000):
            push.send_multipart([b"t", b"p", b"0:1", b"x" * 64])
        stopped = 0
        for _ in range(50):
            role._stop_signals.clear()
            timer = threading.Timer(0.002, os.kill, (os.getpid(), signal.SIGTERM))
            try:
                timer.start()  # the signal may land in here already: it counts
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    if pull.poll(0):
                        recv_frames(pull)  # raises a stop swallowed in a Frame's dealloc
            except StopRequested:
                stopped += 1
            finally:
                timer.join()
        assert stopped == 50
    finally:
        ctx.destroy(linger=0)


def test_pacer_keeps_its_schedule() -> None:
    pacer = Pacer(100.0)
    assert pacer.delay(0) == 0.0 and 0.0 < pacer.delay(50) <= 0.5
    assert Pacer(0).delay(10_000) == 0.0


def test_seeded_random_depends_on_seed_and_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZCHAOS_SEED", "7")
    monkeypatch.setenv("ZCHAOS_NODE", "a")
    first = seeded_random().random()
    assert seeded_random().random() == first
    monkeypatch.setenv("ZCHAOS_NODE", "b")
    assert seeded_random().random() != first


def test_peer_counter_counts_handshakes_and_disconnects() -> None:
    ctx = zmq.Context()
    try:
        push = ctx.socket(zmq.PUSH)
        push.linger = 0
        counter = PeerCounter(push)
        endpoint = free_endpoint()
        push.bind(endpoint)
        pulls = [ctx.socket(zmq.PULL) for _ in range(3)]
        for pull in pulls:
            pull.linger = 0
            pull.connect(endpoint)
        assert counter.wait_for(3, 5.0) == 3
        pulls[0].close()
        deadline = time.monotonic() + 5
        while counter.update(50) != 2 and time.monotonic() < deadline:
            pass
        assert counter.peers == 2 and counter.handshakes == 3
        counter.close()
    finally:
        ctx.destroy(linger=0)
