"""The sockets and idle-worker FIFO that the Simple and Paranoid Pirate queues share.

Both queues bind a ROUTER for clients and a ROUTER for workers, keep the idle
workers least recently used first, read the frontend only while a worker is
idle (so requests wait in the clients' sockets rather than in the queue) and
hand each request to the first idle worker that takes it. What differs is the
protocol: the frames a worker expects, and whether a worker can expire;
those stay in each queue.

Every routing decision is traced (docs/trace-events.md), so the
``lru_dispatch`` contract can replay the idle FIFO and judge each one:
``idle`` when a worker joins the FIFO (``why``: ``ready`` or ``reply``),
``route`` when a request leaves for a worker (``op`` = the request's last
frame, ``worker``, ``capacity`` = idle workers at that moment, the chosen one
included), ``forget`` when a worker is dropped (unreachable, expired), and
``serving`` once at start-up, so a replay knows where a new process (with an
empty FIFO) begins.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import closing
from typing import Any

import zmq

from patterns.common import role, trace
from patterns.common.fastio import send_prefixed


class LruQueue:
    """Frontend ROUTER for clients, backend ROUTER for workers, idle workers LRU first.

    Subclasses implement :meth:`poll_once`, one turn of their loop.
    """

    def __init__(
        self,
        frontend: str,
        backend: str,
        *,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger(type(self).__module__)
        self._frontend = self._ctx.socket(zmq.ROUTER)
        self._backend = self._ctx.socket(zmq.ROUTER)
        for sock in (self._frontend, self._backend):
            sock.linger = 0
        # A worker that reconnects under its fixed identity replaces its old pipe.
        self._backend.setsockopt(zmq.ROUTER_HANDOVER, 1)
        # Sending to a vanished worker raises instead of losing the request silently.
        self._backend.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self._frontend.bind(frontend)
        self._backend.bind(backend)
        self.frontend_endpoint: str = self._frontend.getsockopt_string(zmq.LAST_ENDPOINT)
        self.backend_endpoint: str = self._backend.getsockopt_string(zmq.LAST_ENDPOINT)
        self.idle: OrderedDict[bytes, None] = OrderedDict()  # least recently used first
        self._tracing = trace.enabled()
        # Built once: a poller per loop turn costs more than the turn's forwarding.
        self._workers_only = zmq.Poller()
        self._workers_only.register(self._backend, zmq.POLLIN)
        self._both = zmq.Poller()
        self._both.register(self._backend, zmq.POLLIN)
        self._both.register(self._frontend, zmq.POLLIN)
        # A new process starts with no idle worker: tells checkers where its replay begins.
        trace.emit("serving")

    def _mark_idle(self, worker: bytes, why: str = "ready") -> None:
        """Put ``worker`` at the end of the idle FIFO (re-registering moves it there too)."""
        self.idle.pop(worker, None)
        self.idle[worker] = None
        if self._tracing:
            trace.emit("idle", worker=worker, why=why)

    def _forget(self, worker: bytes, reason: str = "unreachable") -> None:
        self.idle.pop(worker, None)
        trace.emit("forget", worker=worker, reason=reason)

    def _poll(self, timeout_ms: int) -> dict[zmq.Socket, int]:
        """Wait for input: from workers always, from clients only while a worker is idle."""
        poller = self._both if self.idle else self._workers_only
        return dict(poller.poll(max(timeout_ms, 0)))

    def _send_to_idle_worker(
        self,
        frames: list[bytes],
        usable: Callable[[bytes], bool] | None = None,
        prefix: tuple[bytes, ...] = (),
        **trace_fields: Any,
    ) -> bool:
        """Send ``prefix`` + ``frames`` to the least recently used idle worker that is ``usable``.

        A worker that cannot take it (disconnected: EHOSTUNREACH; not reading:
        EAGAIN) is forgotten and the next one tried. False when none was left.
        ``trace_fields`` are added to the ``route`` event (a peering broker says
        where the request came from).
        """
        while self.idle:
            capacity = len(self.idle)
            worker, _ = self.idle.popitem(last=False)
            if usable is not None and not usable(worker):
                continue
            try:
                send_prefixed(self._backend, (worker, *prefix), frames, 0)
            except zmq.ZMQError as exc:
                self._log.warning("worker %r unreachable (%s), forgetting it", worker, exc)
                self._forget(worker)
                continue
            if self._tracing:
                trace.emit("route", op=frames[-1], worker=worker, capacity=capacity,
                           **trace_fields)
            return True
        return False

    def poll_once(self) -> None:
        """One turn of the queue's loop: wait (bounded) for input, then act on it."""
        raise NotImplementedError

    def run(self, stop: threading.Event | None = None) -> None:
        """Serve until ``stop`` is set or a stop signal arrives."""
        while stop is None or not stop.is_set():
            self.poll_once()

    def close(self) -> None:
        self._frontend.close(linger=0)
        self._backend.close(linger=0)


# make(frontend, backend, parsed options, log) -> the queue, bound
QueueFactory = Callable[[str, str, argparse.Namespace, logging.Logger], LruQueue]


def run_queue_cli(p: argparse.ArgumentParser, name: str, make: QueueFactory) -> int:
    """The rest of a queue role's ``main`` once ``p`` has its options (``--bind`` twice).

    Parses the command line, builds the queue with ``make``, logs where it is
    bound (``"<name>: frontend ..., backend ..."``) and serves until a stop signal.
    """
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind or len(args.bind) != 2:
        p.error("give --bind twice: the frontend, then the backend")
    queue = make(args.bind[0], args.bind[1], args, log)
    log.info("%s: frontend %s, backend %s", name, queue.frontend_endpoint, queue.backend_endpoint)
    with closing(queue):
        queue.run()
    return 0
