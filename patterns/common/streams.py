"""What the one-way roles (pub-sub, pipeline) share: HWMs, pacing, seeds, peer counts.

Request-reply roles have a workload loop (``workload.py``); one-way roles
instead *stream*: a publisher or ventilator sends at a rate, subscribers and
workers take what comes. Four small things recur in all of them and live
here so that every role does them the same way:

- :class:`SocketLimits`, :func:`new_socket`: the high-water mark of every
  socket (``--hwm``; 0 is libzmq's "no limit", 1000 its default), on both
  directions since a socket type has one or the other (Guide ch. 2,
  "High-Water Marks"), and its kernel buffers (``--buffer``).
- :class:`Pacer`: a fixed-rate schedule (``--rate``) that never drifts, so a
  stalled sender catches up instead of publishing at a lower rate forever.
- :func:`default_epoch`: what a restarted stream source numbers its epoch.
- :func:`seeded_random`: randomness from ``ZCHAOS_SEED`` and the node name, so
  a replayed run draws the same workloads (one stable hash: ``hash()`` of a
  ``str`` changes per process).
- :class:`PeerCounter`: how many peers completed the ZMTP handshake with a
  socket, from libzmq's socket monitor.
  A ventilator waits for its workers this way: a completed handshake proves
  the peer is there, where a TCP accept through Toxiproxy proves only that
  the proxy is.

A stop signal that pyzmq swallows in a receive loop is raised again by
``role.raise_if_stopped`` (every role's handlers latch it).
"""

from __future__ import annotations

import argparse
import os
import random
import time
import zlib
from dataclasses import dataclass

import zmq
from zmq.utils.monitor import recv_monitor_message

from patterns.common import trace

DEFAULT_HWM = 1000  # libzmq's own default, made explicit

@dataclass(frozen=True)
class SocketLimits:
    """How much a role's sockets may queue (``--hwm``, ``--buffer``).

    ``hwm`` counts messages in libzmq's pipes (0 = no limit); ``buffer`` is
    the kernel's SO_SNDBUF/SO_RCVBUF in bytes (0 = the OS default, which on
    Linux autotunes up to ``net.ipv4.tcp_rmem`` max: tens of MB). Messages
    wait in both (Guide ch. 2: "some will sit in B's network buffers ... in
    A's network buffers"), so a scenario that must push a subscriber past
    its HWM bounds the kernel's share too.
    """

    hwm: int = DEFAULT_HWM
    buffer: int = 0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SocketLimits:
        return cls(hwm=args.hwm, buffer=args.buffer)


def add_limit_options(p: argparse.ArgumentParser) -> None:
    """``--hwm`` and ``--buffer``, which every one-way role takes."""
    p.add_argument("--hwm", type=int, default=DEFAULT_HWM,
                   help="high-water mark of every socket (messages; 0 = no limit)")
    p.add_argument("--buffer", type=int, default=0,
                   help="kernel send/receive buffer of every socket, bytes (0 = OS default)")


def set_hwm(sock: zmq.Socket, hwm: int) -> None:
    """Set SNDHWM and RCVHWM of ``sock`` (before bind/connect: pipes take it at creation)."""
    sock.setsockopt(zmq.SNDHWM, max(0, hwm))
    sock.setsockopt(zmq.RCVHWM, max(0, hwm))


def new_socket(ctx: zmq.Context, kind: int, limits: SocketLimits) -> zmq.Socket:
    """A socket with linger 0 and ``limits`` on both directions (set before bind/connect)."""
    sock = ctx.socket(kind)
    sock.linger = 0
    set_hwm(sock, limits.hwm)
    if limits.buffer > 0:
        sock.setsockopt(zmq.SNDBUF, limits.buffer)
        sock.setsockopt(zmq.RCVBUF, limits.buffer)
    return sock


def default_epoch() -> int:
    """A stream's epoch: the incarnation under the harness, else the start time in ms.

    A restarted publisher or ventilator must never reuse an epoch, or its
    sequence numbers (restarting at 1) would read as duplicates.
    """
    raw = os.environ.get("ZCHAOS_INCARNATION")
    if raw is not None and raw.isdigit():
        return int(raw)
    return int(time.time() * 1000)


def seeded_random(salt: str = "") -> random.Random:
    """A generator seeded by ``ZCHAOS_SEED`` and this node's name (plus ``salt``)."""
    try:
        seed = int(os.environ.get("ZCHAOS_SEED", "0"))
    except ValueError:
        seed = 0
    name = (trace.node_name("node") + salt).encode()
    return random.Random(seed ^ zlib.crc32(name))


class Pacer:
    """Item ``n`` (0-based) is due at ``start + n / rate``; rate 0 means "no pause"."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.start = time.monotonic()

    def delay(self, n: int) -> float:
        """Seconds until item ``n`` is due (0 when due already or unpaced)."""
        if self.rate <= 0:
            return 0.0
        return max(0.0, self.start + n / self.rate - time.monotonic())

    def wait(self, n: int) -> None:
        pause = self.delay(n)
        if pause > 0:
            time.sleep(pause)


class PeerCounter:
    """Peers of one socket with a completed handshake, from its monitor socket."""

    EVENTS = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED

    def __init__(self, sock: zmq.Socket) -> None:
        self.monitor = sock.get_monitor_socket(self.EVENTS)
        self.peers = 0
        self.handshakes = 0

    def update(self, timeout_ms: int = 0) -> int:
        """Read the events that arrived (waiting up to ``timeout_ms`` for the first)."""
        wait = max(0, timeout_ms)
        while self.monitor.poll(wait, zmq.POLLIN):
            wait = 0
            event = recv_monitor_message(self.monitor)["event"]
            if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.peers += 1
                self.handshakes += 1
            elif event == zmq.EVENT_DISCONNECTED:
                self.peers = max(0, self.peers - 1)
        return self.peers

    def wait_for(self, count: int, timeout_s: float) -> int:
        """Until ``count`` peers are connected or ``timeout_s`` passes; the count reached."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while self.update() < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.update(min(100, int(left * 1000) + 1))
        return self.peers

    def close(self) -> None:
        self.monitor.close(linger=0)
