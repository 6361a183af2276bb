"""Plain REQ client (the Guide's hwclient): send, then wait for the reply forever.

Deliberately no timeout and no retry: this is the suite's negative control.
When the server dies mid-request the client hangs in ``recv`` exactly as the
Guide warns, and ``every_request_answered`` must flag it. ``--timeout-ms``
and ``--retries`` are accepted (every client role takes them) and ignored.
"""

from __future__ import annotations

import logging

import zmq

from patterns.common import role, trace
from patterns.common.errors import RequestAbandoned
from patterns.common.workload import run_workload

POLL_SLICE_MS = 100


def blocking_request(sock: zmq.Socket, body: bytes, log: logging.Logger) -> bytes:
    """Send ``body`` and wait for its reply for as long as it takes.

    A reply that differs from ``body`` is refused and the request given up
    (a REQ socket gets one reply per send, so nothing else can come).
    """
    sock.send(body)
    # Waits forever if the server is gone (by design); polled in slices
    # only so that a stop signal is always noticed promptly.
    while not sock.poll(POLL_SLICE_MS, zmq.POLLIN):
        pass
    reply = sock.recv_multipart()
    if reply == [body]:
        return reply[0]
    log.warning("reply %r does not match request %r: refused", reply, body)
    trace.emit("refused", op=trace.text(body), reply=b"|".join(reply))
    raise RequestAbandoned("mismatched reply")


def main() -> int:
    p = role.parser("Hello World REQ client: blocking recv, no timeout, no retries.")
    role.add_connect(p, "hello server")
    role.add_client_options(p)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    endpoint = args.connect[0]
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    sock.connect(endpoint)
    try:
        run_workload(lambda body, _op: (blocking_request(sock, body, log), endpoint),
                     requests=args.requests, rate=args.rate, log=log)
    finally:
        sock.close(linger=0)
    return 0


if __name__ == "__main__":
    role.run_role(main)
