"""Lazy Pirate client: REQ with a timeout, close-and-reopen, bounded retries.

Close-and-reopen (rather than REQ_RELAXED/REQ_CORRELATE) keeps the wire
format the plain ``["" | body]`` that REP servers and Pirate queues expect,
and guarantees that a late reply to an earlier attempt can never reach the
caller: it was addressed to a socket that no longer exists (PROTOCOLS.md §2,
LP1-LP4).
"""

from __future__ import annotations

import logging
import time

import zmq

from patterns.common import role, trace
from patterns.common.errors import RequestAbandoned
from patterns.common.workload import run_workload

POLL_SLICE_MS = 100


class LazyPirateClient:
    """Synchronous request-reply with a per-attempt timeout and ``retries`` sends in total.

    ``request`` accepts only a reply that is byte-identical to the request (an
    echo service); anything else is logged, traced as ``refused`` and ignored
    while the attempt's deadline runs.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        timeout_ms: int = 2500,
        retries: int = 3,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        if retries < 1:
            raise ValueError("retries counts sends in total and must be at least 1")
        self.endpoint = endpoint
        self.timeout_s = max(timeout_ms, 0) / 1000.0
        self.retries = retries
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger(__name__)
        self._socket: zmq.Socket | None = None
        self.sends = 0  # total sends over the client's life (tests count them)

    def _open(self) -> zmq.Socket:
        sock = self._ctx.socket(zmq.REQ)
        sock.linger = 0
        sock.connect(self.endpoint)
        return sock

    def _discard_socket(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def _await_reply(self, sock: zmq.Socket, body: bytes, deadline: float) -> bytes | None:
        """Wait on ``sock`` until ``deadline`` for a reply equal to ``body``."""
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                return None
            # Short slices: a stop signal that lands on a libzmq thread does not
            # interrupt the poll, so bound how long it can go unnoticed.
            if not sock.poll(min(remaining_ms, POLL_SLICE_MS), zmq.POLLIN):
                continue
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                continue
            if frames == [body]:
                return frames[0]
            self._log.warning("refused reply %r to request %r", frames, body)
            trace.emit("refused", op=trace.text(body), reply=b"|".join(frames))
            # A REQ socket gets at most one reply per send, so nothing else can
            # arrive on it; keep waiting out the deadline all the same, which is
            # what the contract promises (the caller sees a timeout, not junk).

    def request(self, body: bytes) -> bytes:
        """Send ``body`` and return the matching reply, or raise RequestAbandoned."""
        op = trace.text(body)
        for attempt in range(1, self.retries + 1):
            if attempt > 1:
                self._log.info("no reply to %s, resending (attempt %d)", op, attempt)
                trace.emit("retry", op=op, attempt=attempt)
            if self._socket is None:
                self._socket = self._open()
            sock = self._socket
            sock.send(body)
            self.sends += 1
            reply = self._await_reply(sock, body, time.monotonic() + self.timeout_s)
            if reply is not None:
                return reply
            # The REQ socket is stuck waiting for a reply: abandon it.
            self._discard_socket()
        raise RequestAbandoned(f"no reply after {self.retries} sends")

    def close(self) -> None:
        self._discard_socket()

    def __enter__(self) -> LazyPirateClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def main() -> int:
    p = role.parser(
        "Lazy Pirate client: sends --requests echo requests, each with a --timeout-ms per "
        "attempt and --retries sends in total, reopening its REQ socket on every retry."
    )
    role.add_connect(p, "server or queue frontend")
    role.add_client_options(p)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    if args.retries < 1:
        p.error("--retries must be at least 1")
    endpoint = args.connect[0]
    with LazyPirateClient(
        endpoint, timeout_ms=args.timeout_ms, retries=args.retries, log=log
    ) as client:
        run_workload(
            lambda body, _op: (client.request(body), endpoint),
            requests=args.requests, rate=args.rate, log=log,
        )
    return 0


if __name__ == "__main__":
    role.run_role(main)
