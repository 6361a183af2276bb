"""Freelance model 1 client: REQ, retry, then fail over to the next server.

``python -m patterns.freelance.client1 --connect EP [--connect EP ...]``.

Each attempt opens a fresh REQ socket to one server, sends the request,
waits ``--timeout-ms`` and closes the socket (a REQ that saw no reply is
unusable). Every request starts again from the first server, as in the Guide,
so a dead first server costs a full timeout per request. Attempts per request
are ``max(--retries, number of servers)``, cycling through the servers in
order, so each server is tried at least once (with one server this is the
Guide's ``MAX_RETRIES``; with several, the Guide's "each once").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import zmq

from patterns.common import role, trace
from patterns.common.errors import RequestAbandoned
from patterns.common.workload import run_workload


class FreelanceClient1:
    """``request(body)`` returns the reply equal to ``expect`` (default: the body)."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        timeout_ms: int = 1000,
        retries: int = 3,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one server endpoint is required")
        self.endpoints = list(endpoints)
        self.timeout_ms = timeout_ms
        self.attempts = max(retries, len(self.endpoints), 1)
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger("freelance.client1")
        self.last_server: str | None = None

    def request(self, body: bytes, *, expect: bytes | None = None, op: str | None = None) -> bytes:
        wanted = [body if expect is None else expect]
        for attempt in range(self.attempts):
            endpoint = self.endpoints[attempt % len(self.endpoints)]
            if attempt and op is not None:
                trace.emit("retry", op=op, attempt=attempt + 1, server=endpoint)
            reply = self._try(endpoint, body)
            if reply == wanted:
                self.last_server = endpoint
                return reply[0]
            if reply is not None:
                self._log.warning("dropped mismatched reply %r from %s", reply[:4], endpoint)
                if op is not None:
                    trace.emit("refused", op=op, reply=b"|".join(reply))
            else:
                self._log.info("no reply from %s", endpoint)
        raise RequestAbandoned(f"no reply after {self.attempts} attempts")

    def _try(self, endpoint: str, body: bytes) -> list[bytes] | None:
        sock = self._ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.connect(endpoint)
            sock.send(body)
            if sock.poll(self.timeout_ms, zmq.POLLIN):
                return sock.recv_multipart()
            return None
        finally:
            sock.close(0)


def main(argv: Sequence[str] | None = None) -> None:
    p = role.parser("Freelance model 1 client: REQ, retry then fail over")
    role.add_connect(p, "server (repeat once per server, tried in this order)")
    role.add_client_options(p, timeout_ms=1000, retries=3)
    args = p.parse_args(argv)
    if not args.connect:
        p.error("at least one --connect is required")
    log = role.configure_logging(args.verbose)

    def body() -> int:
        client = FreelanceClient1(args.connect, timeout_ms=args.timeout_ms,
                                  retries=args.retries, log=log)

        run_workload(lambda payload, op: (client.request(payload, op=op), client.last_server),
                     requests=args.requests, rate=args.rate, log=log)
        return 0

    role.run_role(body)


if __name__ == "__main__":
    main()
