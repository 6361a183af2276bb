"""Asynchronous server worker: a DEALER that echoes ``[client | request]`` after ``--work-ms``.

The same loop runs as one of the server's threads (over ``inproc``) or as
this role's process (over TCP to the server's backend bind). A message that
is not ``[identity | body...]`` is logged and dropped.
"""

from __future__ import annotations

import logging
from contextlib import closing

import zmq

from patterns.common import role
from patterns.common.echo import EchoLoop


class AsyncWorker(EchoLoop):
    """A DEALER connected to the server's backend: one echo reply per request."""

    def __init__(
        self,
        endpoint: str,
        *,
        work_ms: int = 0,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        sock = (context or zmq.Context.instance()).socket(zmq.DEALER)
        sock.linger = 0
        sock.connect(endpoint)
        super().__init__(sock, work_ms=work_ms, log=log or logging.getLogger(__name__))

    def request_op(self, frames: list[bytes]) -> bytes | None:
        # [client identity | body...]: the identity routes the reply back through the ROUTER
        return frames[-1] if len(frames) >= 2 else None


def main() -> int:
    p = role.parser("Asynchronous server worker: DEALER connected to the server's backend, "
                    "echoes each request once.")
    role.add_connect(p, "server backend")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    worker = AsyncWorker(args.connect[0], work_ms=args.work_ms, log=log)
    log.info("async server worker connected to %s", args.connect[0])
    with closing(worker):
        worker.run()
    return 0


if __name__ == "__main__":
    role.run_role(main)
