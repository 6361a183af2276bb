"""NEGATIVE CONTROL: a Lazy Pirate client that accepts whatever reply arrives next.

It keeps ONE REQ socket with ``REQ_RELAXED`` (and no ``REQ_CORRELATE``), so
after a timeout it may resend on the same socket, and it takes the next reply
that comes in as the answer to its *current* request without comparing it.
When replies are delayed past the timeout, a late reply to an abandoned
request is handed over as the answer to the next one: exactly the bug that
``replies_match_requests`` exists to catch (PROTOCOLS.md §2, LP1/LP3).

Same options and trace events as ``patterns.lazy_pirate.client``, so the
harness can swap it in:

    zchaos run --impl lazy_pirate.client="python tests/negative/broken_lazy_pirate_client.py" \\
        scenarios/lazy_pirate/reply-latency.yaml

Do not use it for anything else.
"""

from __future__ import annotations

import sys
from contextlib import closing
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import zmq

from patterns.common import role
from patterns.common.errors import RequestAbandoned
from patterns.common.workload import run_workload


class TrustingClient:
    """One relaxed REQ socket for the whole run; the next reply is always "the" reply."""

    def __init__(self, endpoint: str, *, timeout_ms: int, retries: int) -> None:
        self._sock = zmq.Context.instance().socket(zmq.REQ)
        self._sock.linger = 0
        self._sock.setsockopt(zmq.REQ_RELAXED, 1)  # resend without waiting
        self._sock.connect(endpoint)
        self._timeout_ms = timeout_ms
        self._retries = max(retries, 1)

    def request(self, body: bytes) -> bytes:
        for _attempt in range(self._retries):
            self._sock.send(body)
            if self._sock.poll(self._timeout_ms, zmq.POLLIN):
                return b"|".join(self._sock.recv_multipart())  # BUG: no comparison
        raise RequestAbandoned(f"no reply after {self._retries} sends")

    def close(self) -> None:
        self._sock.close(linger=0)


def main() -> int:
    p = role.parser("BROKEN Lazy Pirate client (negative control): accepts any reply.")
    role.add_connect(p, "server or queue frontend")
    role.add_client_options(p)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    endpoint = args.connect[0]
    client = TrustingClient(endpoint, timeout_ms=args.timeout_ms, retries=args.retries)
    with closing(client):
        run_workload(lambda body, _op: (client.request(body), endpoint),
                     requests=args.requests, rate=args.rate, log=log)
    return 0


if __name__ == "__main__":
    role.run_role(main)
