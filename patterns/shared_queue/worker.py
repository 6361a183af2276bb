"""Shared-queue worker (the Guide's rrworker, echoing): a REP socket that connects to the broker.

It connects rather than binds, so the DEALER backend of ``rrbroker`` or
``msgqueue`` round-robins requests to it; it answers each with the request
itself after ``--work-ms``. A REP socket needs no READY: after a broker
restart libzmq reconnects it and it is served again.
"""

from __future__ import annotations

import logging
from contextlib import closing

import zmq

from patterns.common import role
from patterns.common.echo import EchoLoop


class RepWorker(EchoLoop):
    """A REP socket connected to ``endpoint`` that echoes every request."""

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
        sock.connect(endpoint)
        super().__init__(sock, work_ms=work_ms, log=log or logging.getLogger(__name__))

    def request_op(self, frames: list[bytes]) -> bytes | None:
        # A REP socket must answer whatever it read, so nothing is malformed here.
        return frames[0] if frames else b""


def main() -> int:
    p = role.parser("Shared-queue worker (Guide rrworker): REP connected to the broker's "
                    "backend, echoes each request.")
    role.add_connect(p, "broker backend")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    worker = RepWorker(args.connect[0], work_ms=args.work_ms, log=log)
    log.info("shared-queue worker connected to %s", args.connect[0])
    with closing(worker):
        worker.run()
    return 0


if __name__ == "__main__":
    role.run_role(main)
