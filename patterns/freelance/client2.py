"""Freelance model 2 client: one DEALER to every server, first matching reply wins.

``python -m patterns.freelance.client2 --connect EP [--connect EP ...]``.

Each request gets a new sequence number and is sent as ``["" | seq | body]``
once per server (the DEALER spreads the copies round-robin). Only a reply
``["" | seq | "OK"]`` whose sequence is the current one is accepted; any
other reply (late, stale, malformed) is dropped, never returned, even when
the deadline runs out (the Guide's Python client returns it).

The CLI numbers requests by their op's sequence and traces the frames it
actually accepted (``seq|OK``) against an expected ``seq|OK``, so a client
that took another request's reply is caught by ``replies_match_requests``
(every reply says "OK": only the sequence tells them apart). ``--timeout-ms``
is the Guide's GLOBAL_TIMEOUT per round; ``--retries`` rounds are sent before
the request is abandoned (default 1: the Guide does not resend). Servers may
execute a request several times: they must be idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import closing

import zmq

from patterns.common import role, trace
from patterns.common.errors import RequestAbandoned
from patterns.common.workload import run_workload

OK = b"OK"


class FreelanceClient2:
    """Shotgun requests over one DEALER; :meth:`request` returns the accepted reply body."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        timeout_ms: int = 2500,
        retries: int = 1,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("at least one server endpoint is required")
        self.endpoints = list(endpoints)
        self.timeout = timeout_ms / 1000.0
        self.rounds = max(1, retries)
        self.sequence = 0
        self.last_reply: list[bytes] = []  # the frames of the last accepted reply: [seq, OK]
        self._log = log or logging.getLogger("freelance.client2")
        self._ctx = context or zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        for endpoint in self.endpoints:
            self._sock.connect(endpoint)

    def close(self) -> None:
        self._sock.close(0)

    def request(self, body: bytes, *, expect: bytes = OK, op: str | None = None,
                sequence: int | None = None) -> bytes:
        """Send ``body`` to every server; return the accepted reply body.

        ``sequence`` numbers the request (it must grow from call to call);
        by default the next number after the last one.
        """
        self.sequence = self.sequence + 1 if sequence is None else sequence
        seq = str(self.sequence).encode()
        for round_no in range(1, self.rounds + 1):
            if round_no > 1 and op is not None:
                trace.emit("retry", op=op, attempt=round_no)
            for _ in self.endpoints:
                try:
                    self._sock.send_multipart([b"", seq, body], zmq.NOBLOCK)
                except zmq.Again:  # every pipe full: the servers are gone or swamped
                    break
            if self._await(seq, expect, time.monotonic() + self.timeout, op):
                return self.last_reply[-1]
        raise RequestAbandoned(f"no reply with sequence {seq.decode()} after "
                               f"{self.rounds} round(s)")

    def _await(self, seq: bytes, expect: bytes, deadline: float, op: str | None) -> bool:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sock.poll(left * 1000.0, zmq.POLLIN):
                return False
            frames = self._sock.recv_multipart()
            if frames == [b"", seq, expect]:
                self.last_reply = frames[1:]
                return True
            self._log.debug("dropped reply %r (want sequence %r)", frames[:4], seq)
            if op is not None and len(frames) == 3 and frames[1] != seq:
                continue  # a late copy of an earlier request: expected with a shotgun
            if op is not None:
                trace.emit("refused", op=op, reply=b"|".join(frames))


def op_sequence(op: str) -> int:
    """The request number in an op id (``client-1.2:17`` -> 17): the wire sequence."""
    return int(op.rsplit(":", 1)[1])


def main(argv: Sequence[str] | None = None) -> None:
    p = role.parser("Freelance model 2 client: DEALER shotgun to every server")
    role.add_connect(p, "server (repeat once per server)")
    role.add_client_options(p, timeout_ms=2500, retries=1)
    args = p.parse_args(argv)
    if not args.connect:
        p.error("at least one --connect is required")
    log = role.configure_logging(args.verbose)

    def body() -> int:
        client = FreelanceClient2(args.connect, timeout_ms=args.timeout_ms,
                                  retries=args.retries, log=log)

        def request(payload: bytes, op: str) -> tuple[bytes, None]:
            client.request(payload, op=op, sequence=op_sequence(op))
            return b"|".join(client.last_reply), None  # what was received, always

        with closing(client):
            run_workload(request, requests=args.requests, rate=args.rate, log=log,
                         expect=lambda op: b"%d|%s" % (op_sequence(op), OK))
        return 0

    role.run_role(body)


if __name__ == "__main__":
    main()
