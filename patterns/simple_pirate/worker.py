"""Simple Pirate worker: a REQ socket with a random printable identity, READY then echo.

A REQ worker is what makes Simple Pirate fragile: after the queue restarts,
the worker sits in ``recv`` and never says READY again. That is the Guide's
design and our negative control, so it is kept.
"""

from __future__ import annotations

import logging
import random
from contextlib import closing

import zmq

from patterns.common import role
from patterns.common.echo import EchoLoop
from patterns.common.seeding import role_random
from patterns.simple_pirate import READY


def printable_identity(rng: random.Random | None = None) -> bytes:
    """``XXXX-XXXX`` in hex, as the Guide's workers name themselves.

    Drawn from the node's seeded generator (``ZCHAOS_SEED``, name,
    incarnation), so a replay names its workers the same way.
    """
    r = rng or role_random("identity")
    return f"{r.randrange(0x10000):04X}-{r.randrange(0x10000):04X}".encode()


class SimplePirateWorker(EchoLoop):
    """Echo worker: receives ``[C | "" | body...]`` and returns the same envelope and body."""

    def __init__(
        self,
        endpoint: str,
        *,
        work_ms: int = 0,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
        identity: bytes | None = None,
        ready: bytes = READY,
    ) -> None:
        self.identity = identity or printable_identity()
        self.ready = ready
        sock = (context or zmq.Context.instance()).socket(zmq.REQ)
        sock.linger = 0
        sock.setsockopt(zmq.IDENTITY, self.identity)
        sock.connect(endpoint)
        super().__init__(sock, work_ms=work_ms, log=log or logging.getLogger(__name__))
        sock.send(ready)

    def request_op(self, frames: list[bytes]) -> bytes | None:
        # [C | "" | body]; a peering broker's request from the cloud carries one more
        # address, [ORIGIN | "" | C | "" | body]: the body is always last
        if len(frames) < 3 or frames[1] != b"":
            return None
        return frames[-1]

    def on_malformed(self, frames: list[bytes]) -> None:
        # REQ must send next; READY puts this worker back in the idle FIFO.
        super().on_malformed(frames)
        self._socket.send(self.ready)


def main() -> int:
    p = role.parser("Simple Pirate worker: REQ echo worker that announces itself with READY.")
    role.add_connect(p, "queue backend")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    worker = SimplePirateWorker(args.connect[0], work_ms=args.work_ms, log=log)
    log.info("simple pirate worker %s connected to %s", worker.identity.decode(), args.connect[0])
    with closing(worker):
        worker.run()
    return 0


if __name__ == "__main__":
    role.run_role(main)
