"""The request-reply broker (the Guide's rrbroker): ROUTER frontend, DEALER backend, a poll loop.

Messages are forwarded whole and unexamined, as in the Guide, so any REQ/REP
or DEALER/ROUTER peers on either side work through it. Each wake-up drains
what is queued on a socket (bounded per turn so neither side starves the
other), using the frame helpers of the Majordomo broker's hot path.

Unlike the Guide's loop, a request is read from the frontend only while the
DEALER backend can take it (a worker is connected and below its high-water
mark), which is what ``zmq_proxy`` does too: with no worker, requests wait
in the clients' sockets instead of blocking the broker in ``send``.
"""

from __future__ import annotations

import logging
import threading
from contextlib import closing

import zmq

from patterns.common import role
from patterns.common.fastio import recv_frames, send_frames

POLL_MS = 200  # wake-up period so a stop request is noticed while idle
NO_WORKER_POLL_MS = 20  # re-check period while the backend cannot take a request
BATCH = 64  # messages forwarded per socket per turn at most


class RequestReplyBroker:
    """Binds a ROUTER for clients and a DEALER for workers and copies messages between them."""

    def __init__(
        self,
        frontend: str,
        backend: str,
        *,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger(__name__)
        self._frontend = ctx.socket(zmq.ROUTER)
        self._backend = ctx.socket(zmq.DEALER)
        for sock in (self._frontend, self._backend):
            sock.linger = 0
        self._frontend.bind(frontend)
        self._backend.bind(backend)
        self.frontend_endpoint: str = self._frontend.getsockopt_string(zmq.LAST_ENDPOINT)
        self.backend_endpoint: str = self._backend.getsockopt_string(zmq.LAST_ENDPOINT)
        self._both = zmq.Poller()
        self._both.register(self._frontend, zmq.POLLIN)
        self._both.register(self._backend, zmq.POLLIN)
        self._replies_only = zmq.Poller()
        self._replies_only.register(self._backend, zmq.POLLIN)
        self.forwarded = 0

    def _backend_writable(self) -> bool:
        return bool(self._backend.get(zmq.EVENTS) & zmq.POLLOUT)

    def _forward(self, source: zmq.Socket, sink: zmq.Socket) -> None:
        for _ in range(BATCH):
            if sink is self._backend and not self._backend_writable():
                return
            try:
                frames = recv_frames(source)
            except zmq.Again:
                return
            try:
                send_frames(sink, frames)
                self.forwarded += 1
            except zmq.ZMQError as exc:
                # DEALER with no worker connected, or a peer at its high-water mark: the
                # request is dropped here and the client's own timeout takes over.
                self._log.warning("message dropped (%s)", exc)

    def poll_once(self, timeout_ms: int = POLL_MS) -> None:
        if self._backend_writable():
            events = dict(self._both.poll(timeout_ms))
        else:
            events = dict(self._replies_only.poll(min(timeout_ms, NO_WORKER_POLL_MS)))
        if self._frontend in events:
            self._forward(self._frontend, self._backend)
        if self._backend in events:
            self._forward(self._backend, self._frontend)

    def run(self, stop: threading.Event | None = None) -> None:
        """Forward until ``stop`` is set or a stop signal arrives."""
        while stop is None or not stop.is_set():
            self.poll_once()

    def close(self) -> None:
        self._frontend.close(linger=0)
        self._backend.close(linger=0)


def main() -> int:
    p = role.parser("Request-reply broker (Guide rrbroker): ROUTER frontend for REQ clients, "
                    "DEALER backend for REP workers, messages forwarded unexamined.")
    role.add_bind(p, "frontend", "backend")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind or len(args.bind) != 2:
        p.error("give --bind twice: the frontend, then the backend")
    broker = RequestReplyBroker(args.bind[0], args.bind[1], log=log)
    log.info("rrbroker: frontend %s, backend %s", broker.frontend_endpoint,
             broker.backend_endpoint)
    with closing(broker):
        broker.run()
    return 0


if __name__ == "__main__":
    role.run_role(main)
