"""Negative control for ``zchaos explore``: a Binary Star client that keeps its sockets.

It takes the same options as ``binary_star.client`` and talks to the pair
the same way (primary first, alternate on silence, settle before a vote,
``--retries`` attempts) but saves reconnections: it keeps one DEALER socket
per server for the whole run (a DEALER may send again after a timeout, where
a REQ may not), and takes the next reply that arrives on it. The Guide's client
closes the socket on a timeout (PROTOCOLS.md §9, "What clients must do"):
a reply that comes after the timeout belongs to an attempt given up on, and
on a kept socket it is read as the answer to a later request.

Every shipped Binary Star scenario passes with it: a killed server never
answers late, and requests a server drops (a vote it refuses) get no reply
at all. A server that answers after the client's timeout (latency on a
client's link, a freeze) gets a stale reply accepted, and
``replies_match_requests`` flags it. ``zchaos explore`` finds that:

    zchaos explore scenarios/binary_star/bstar-primary-frozen.yaml \\
        --impl binary_star.client="python tests/negative/explore_bstar_kept_socket_client.py"

Do not use it for anything else.
"""

from __future__ import annotations

import sys
import time
from contextlib import closing
from pathlib import Path

import zmq

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from patterns.binary_star.client import DEFAULT_MAX_ATTEMPTS
from patterns.common import role, trace
from patterns.common.errors import RequestAbandoned
from patterns.common.workload import run_workload


class KeptSocketClient:
    """Broken on purpose: one long-lived DEALER per server, no reply check."""

    def __init__(self, primary: str, backup: str, *, timeout_ms: int, settle_ms: int,
                 max_attempts: int) -> None:
        self.servers = (primary, backup)
        self.timeout = timeout_ms / 1000.0
        self.settle = settle_ms / 1000.0
        self.max_attempts = max_attempts
        self.context = zmq.Context.instance()
        self.sockets = []
        for endpoint in self.servers:
            sock = self.context.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(endpoint)
            self.sockets.append(sock)
        self.index = 0
        self.last_server: str | None = None

    def request(self, body: bytes, op: str) -> bytes:
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1:
                trace.emit("retry", op=op, attempt=attempt, server=self.servers[self.index])
            sock = self.sockets[self.index]
            sock.send_multipart([b"", body])  # the REQ envelope: empty delimiter, body
            if sock.poll(self.timeout * 1000.0, zmq.POLLIN):
                reply = sock.recv_multipart()
                self.last_server = self.servers[self.index]
                return reply[-1]  # THE BUG: whatever comes next, maybe a late old reply
            if self.max_attempts and attempt >= self.max_attempts:
                raise RequestAbandoned(f"no reply after {attempt} attempts")
            time.sleep(self.settle)
            self.index = 1 - self.index

    def close(self) -> None:
        for sock in self.sockets:
            sock.close(0)


def main() -> None:
    p = role.parser("Binary Star client that keeps its sockets (negative control)")
    role.add_connect(p, "primary frontend, then the backup frontend")
    role.add_client_options(p, timeout_ms=1000, retries=DEFAULT_MAX_ATTEMPTS)
    p.add_argument("--settle-ms", type=int, default=2000)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)

    def body() -> int:
        client = KeptSocketClient(args.connect[0], args.connect[1], timeout_ms=args.timeout_ms,
                               settle_ms=args.settle_ms, max_attempts=max(0, args.retries))
        with closing(client):
            run_workload(lambda payload, op: (client.request(payload, op), client.last_server),
                         requests=args.requests, rate=args.rate, log=log)
        return 0

    role.run_role(body)


if __name__ == "__main__":
    main()
