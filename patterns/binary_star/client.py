"""Binary Star client: primary first, then alternate on silence.

``python -m patterns.binary_star.client --connect PRIMARY --connect BACKUP``.

The Guide's client (PROTOCOLS.md §9, "What clients must do"): send on a REQ
socket, wait ``--timeout-ms``; on silence close the socket, wait
``--settle-ms`` (at least the servers' failover timeout, so the passive
server's peer has expired when our vote arrives), connect to the *other*
server and resend. The client stays with whichever server answered last.

The Guide alternates without limit. Here ``--retries`` bounds the number of
attempts (sends) per request, alternating servers; after the last one the
request is abandoned (``fail``), so a client facing no server at all gives
up within ``retries x timeout + (retries - 1) x settle``. ``--retries 0``
means no limit, as in the Guide.
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

DEFAULT_MAX_ATTEMPTS = 1000


class BinaryStarClient:
    """Synchronous request/reply against a Binary Star pair.

    :meth:`request` returns the reply (which must equal ``expect``, the
    request body by default: the servers echo) and sets :attr:`last_server`
    to the endpoint that answered. A reply that differs is dropped and the
    wait goes on; it is never returned.
    """

    def __init__(
        self,
        primary: str,
        backup: str,
        *,
        timeout_ms: int = 1000,
        settle_ms: int = 2000,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.servers = (primary, backup)
        self.timeout = timeout_ms / 1000.0
        self.settle = settle_ms / 1000.0
        self.max_attempts = max_attempts  # 0 = no limit
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger("binary_star.client")
        self._index = 0
        self._socket: zmq.Socket | None = None
        self.last_server: str | None = None

    @property
    def current_server(self) -> str:
        return self.servers[self._index]

    def _open(self) -> zmq.Socket:
        if self._socket is None:
            sock = self._ctx.socket(zmq.REQ)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self.current_server)
            self._socket = sock
        return self._socket

    def _discard(self) -> None:
        if self._socket is not None:
            self._socket.close(0)
            self._socket = None

    def close(self) -> None:
        self._discard()

    def request(self, body: bytes, *, expect: bytes | None = None, op: str | None = None) -> bytes:
        """Send ``body`` until the matching reply arrives; raise RequestAbandoned at the bound."""
        wanted = body if expect is None else expect
        attempt = 0
        while True:
            attempt += 1
            if attempt > 1 and op is not None:
                trace.emit("retry", op=op, attempt=attempt, server=self.current_server)
            sock = self._open()
            sock.send(body)
            reply = self._await(sock, wanted, op)
            if reply is not None:
                self.last_server = self.current_server
                return reply
            self._log.info("no reply from %s, failing over", self.current_server)
            self._discard()
            if self.max_attempts and attempt >= self.max_attempts:
                raise RequestAbandoned(f"no reply after {attempt} attempts")
            time.sleep(self.settle)
            self._index = 1 - self._index

    def _await(self, sock: zmq.Socket, wanted: bytes, op: str | None) -> bytes | None:
        """The matching reply within the timeout, or None (the socket is then unusable)."""
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sock.poll(max(0.0, left) * 1000.0, zmq.POLLIN):
                return None
            frames = sock.recv_multipart()
            if len(frames) == 1 and frames[0] == wanted:
                return frames[0]
            self._log.warning("dropped mismatched reply %r", frames[:4])
            if op is not None:
                trace.emit("refused", op=op, reply=b"|".join(frames))
            # A REQ socket cannot be read twice for one send: resend on this socket is
            # impossible, so treat it like silence and fail over.
            return None


def main(argv: Sequence[str] | None = None) -> None:
    p = role.parser("Binary Star client: primary first, then alternate on silence")
    role.add_connect(p, "primary frontend, then the backup frontend")
    role.add_client_options(p, timeout_ms=1000, retries=DEFAULT_MAX_ATTEMPTS)
    p.add_argument("--settle-ms", type=int, default=2000,
                   help="wait after a timeout before trying the other server "
                        "(at least the servers' failover timeout, 2 x heartbeat)")
    for action in p._actions:
        if action.dest == "retries":
            action.help = "max attempts per request, alternating servers (0 = no limit)"
    args = p.parse_args(argv)
    if not args.connect or len(args.connect) != 2:
        p.error("--connect PRIMARY --connect BACKUP are required, in that order")
    log = role.configure_logging(args.verbose)

    def body() -> int:
        client = BinaryStarClient(
            args.connect[0], args.connect[1],
            timeout_ms=args.timeout_ms, settle_ms=args.settle_ms,
            max_attempts=max(0, args.retries), log=log,
        )
        with closing(client):
            run_workload(lambda payload, op: (client.request(payload, op=op), client.last_server),
                         requests=args.requests, rate=args.rate, log=log)
        return 0

    role.run_role(body)


if __name__ == "__main__":
    main()
