"""Plain REP echo server (the Guide's hwserver, echoing instead of "World").

Echoing the request body lets the client and the checkers match each reply
to its request; the Guide's fixed "World" reply could not be checked.
"""

from __future__ import annotations

import logging
import time

import zmq

from patterns.common import role, trace
from patterns.common.io_threads import start_io_threads

POLL_MS = 200  # wake-up period so a stop signal is noticed even while idle


class EchoServer:
    """A REP socket that hands every request back unchanged after ``work_ms``."""

    def __init__(
        self,
        endpoint: str,
        *,
        work_ms: int = 0,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger(__name__)
        self._work_s = max(work_ms, 0) / 1000.0
        self._socket = self._ctx.socket(zmq.REP)
        self._socket.linger = 0
        self._socket.bind(endpoint)
        self.endpoint: str = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def serve_one(self, timeout_ms: int = POLL_MS) -> bool:
        """Answer at most one request; False when none arrived within ``timeout_ms``."""
        if not self._socket.poll(max(timeout_ms, 0), zmq.POLLIN):
            return False
        frames = self._socket.recv_multipart()
        self._log.debug("request %r", frames)
        if self._work_s:
            time.sleep(self._work_s)
        trace.handled(frames[0] if frames else b"")
        self._socket.send_multipart(frames)
        return True

    def serve_forever(self, stop: object | None = None) -> None:
        """Serve until ``stop.is_set()`` (a threading.Event) or a stop signal."""
        while stop is None or not stop.is_set():  # type: ignore[attr-defined]
            self.serve_one()

    def close(self) -> None:
        self._socket.close(linger=0)


def main() -> int:
    p = role.parser("Hello World REP server: echoes each request (plain REQ/REP, no reliability).")
    role.add_bind(p, "frontend")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind:
        p.error("--bind is required")
    start_io_threads()
    server = EchoServer(args.bind[0], work_ms=args.work_ms, log=log)
    log.info("hello server bound at %s", server.endpoint)
    try:
        server.serve_forever()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
