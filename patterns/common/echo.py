"""The echo service behind Hello World, Lazy Pirate and Simple Pirate.

Every one of these servers and workers does the same thing with a request:
wait ``--work-ms`` (simulated work), trace it as ``handled``, and hand the
frames back unchanged so that clients and checkers can match each reply to
its request. Only where the op id sits in the frames, and what a malformed
request costs, differ per socket type; :class:`EchoLoop` keeps the rest in
one place so that the patterns differ in behaviour, never in bookkeeping.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import closing

import zmq

from patterns.common import role, trace

POLL_MS = 200  # wake-up period so a stop signal is noticed even while idle


class EchoLoop:
    """Polls one socket and echoes each well-formed request after ``work_ms``.

    Subclasses say where the op id is (:meth:`request_op`) and how to recover
    from a malformed request (:meth:`on_malformed`).
    """

    def __init__(self, socket: zmq.Socket, *, work_ms: int, log: logging.Logger) -> None:
        self._socket = socket
        self._log = log
        self._work_s = max(work_ms, 0) / 1000.0
        self.handled = 0

    def request_op(self, frames: list[bytes]) -> bytes | None:
        """The op id of a request, or None when the request is malformed."""
        raise NotImplementedError

    def on_malformed(self, frames: list[bytes]) -> None:
        """Drop a malformed request (a subclass may also have to answer it)."""
        self._log.warning("malformed request (%d frames) dropped", len(frames))

    def serve_one(self, timeout_ms: int = POLL_MS) -> bool:
        """Handle at most one request; False when none arrived within ``timeout_ms``."""
        if not self._socket.poll(max(timeout_ms, 0), zmq.POLLIN):
            return False
        frames = self._socket.recv_multipart()
        self._log.debug("request %r", frames)
        op = self.request_op(frames)
        if op is None:
            self.on_malformed(frames)
            return True
        if self._work_s:
            time.sleep(self._work_s)
        self.handled += 1
        trace.handled(op)
        self._socket.send_multipart(frames)
        return True

    def run(self, stop: threading.Event | None = None) -> None:
        """Serve until ``stop`` is set or a stop signal arrives."""
        while stop is None or not stop.is_set():
            self.serve_one()

    def close(self) -> None:
        self._socket.close(linger=0)


class EchoServer(EchoLoop):
    """A bound REP socket that hands every request back unchanged after ``work_ms``."""

    def __init__(
        self,
        endpoint: str,
        *,
        work_ms: int = 0,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        sock = (context or zmq.Context.instance()).socket(zmq.REP)
        sock.linger = 0
        sock.bind(endpoint)
        super().__init__(sock, work_ms=work_ms, log=log or logging.getLogger(__name__))
        self.endpoint: str = sock.getsockopt_string(zmq.LAST_ENDPOINT)

    def request_op(self, frames: list[bytes]) -> bytes | None:
        # A REP socket must answer whatever it read, so nothing is malformed here.
        return frames[0] if frames else b""


def echo_server_main(description: str, name: str) -> int:
    """The CLI of a plain REP echo server: ``--bind`` once and ``--work-ms``."""
    p = role.parser(description)
    role.add_bind(p, "frontend")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind:
        p.error("--bind is required")
    server = EchoServer(args.bind[0], work_ms=args.work_ms, log=log)
    log.info("%s bound at %s", name, server.endpoint)
    with closing(server):
        server.run()
    return 0
