"""Plain REQ client (the Guide's hwclient): send, then wait for the reply forever.

Deliberately no timeout and no retry: this is the suite's negative control.
When the server dies mid-request the client hangs in ``recv`` exactly as the
Guide warns, and ``every_request_answered`` must flag it. ``--timeout-ms``
and ``--retries`` are accepted (every client role takes them) and ignored.
"""

from __future__ import annotations

import itertools
import time

import zmq

from patterns.common import role, trace
from patterns.common.io_threads import start_io_threads

POLL_SLICE_MS = 100


def main() -> int:
    p = role.parser("Hello World REQ client: blocking recv, no timeout, no retries.")
    role.add_connect(p, "hello server")
    role.add_client_options(p)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    endpoint = args.connect[0]
    start_io_threads()
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    sock.connect(endpoint)
    start = time.monotonic()
    try:
        for seq in itertools.count(1):
            if args.requests and seq > args.requests:
                break
            if args.rate > 0:
                time.sleep(max(0.0, start + (seq - 1) / args.rate - time.monotonic()))
            op = trace.op_id(seq)
            body = op.encode()
            trace.invoke(op, body)
            sock.send(body)
            # Waits forever if the server is gone (by design); polled in slices
            # only so that a stop signal is always noticed promptly.
            while not sock.poll(POLL_SLICE_MS, zmq.POLLIN):
                pass
            reply = sock.recv_multipart()
            if reply == [body]:
                trace.ok(op, reply[0], server=endpoint)
            else:
                log.warning("reply %r does not match request %r: refused", reply, body)
                trace.emit("refused", op=op, reply=b"|".join(reply))
                trace.fail(op, "mismatched reply")
        log.info("done")
    finally:
        sock.close(linger=0)
    return 0


if __name__ == "__main__":
    role.run_role(main)
