"""Simple Pirate worker: a REQ socket with a random printable identity, READY then echo.

A REQ worker is what makes Simple Pirate fragile: after the queue restarts,
the worker sits in ``recv`` and never says READY again. That is the Guide's
design and our negative control, so it is kept.
"""

from __future__ import annotations

import logging
import random
import time

import zmq

from patterns.common import role, trace
from patterns.common.io_threads import start_io_threads
from patterns.simple_pirate import READY

POLL_MS = 200


def printable_identity(rng: random.Random | None = None) -> bytes:
    """``XXXX-XXXX`` in hex, as the Guide's workers name themselves."""
    r = rng or random.SystemRandom()
    return f"{r.randrange(0x10000):04X}-{r.randrange(0x10000):04X}".encode()


class SimplePirateWorker:
    """Echo worker: receives ``[C | "" | body...]`` and returns the same envelope and body."""

    def __init__(
        self,
        endpoint: str,
        *,
        work_ms: int = 0,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
        identity: bytes | None = None,
    ) -> None:
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger(__name__)
        self._work_s = max(work_ms, 0) / 1000.0
        self.identity = identity or printable_identity()
        self._socket = self._ctx.socket(zmq.REQ)
        self._socket.linger = 0
        self._socket.setsockopt(zmq.IDENTITY, self.identity)
        self._socket.connect(endpoint)
        self._socket.send(READY)
        self.handled = 0

    def serve_one(self, timeout_ms: int = POLL_MS) -> bool:
        """Handle at most one request; False when none arrived."""
        if not self._socket.poll(max(timeout_ms, 0), zmq.POLLIN):
            return False
        frames = self._socket.recv_multipart()
        if len(frames) < 3 or frames[1] != b"":
            # REQ must send next; READY puts this worker back in the idle FIFO.
            self._log.warning("malformed request (%d frames) dropped", len(frames))
            self._socket.send(READY)
            return True
        if self._work_s:
            time.sleep(self._work_s)
        self.handled += 1
        trace.handled(frames[2])
        self._socket.send_multipart(frames)
        return True

    def run(self, stop: object | None = None) -> None:
        while stop is None or not stop.is_set():  # type: ignore[attr-defined]
            self.serve_one()

    def close(self) -> None:
        self._socket.close(linger=0)


def main() -> int:
    p = role.parser("Simple Pirate worker: REQ echo worker that announces itself with READY.")
    role.add_connect(p, "queue backend")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    start_io_threads()
    worker = SimplePirateWorker(args.connect[0], work_ms=args.work_ms, log=log)
    log.info("simple pirate worker %s connected to %s", worker.identity.decode(), args.connect[0])
    try:
        worker.run()
    finally:
        worker.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
