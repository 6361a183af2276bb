"""Synchronous Majordomo client API (MDP/Client 0.1) and the ``majordomo.client`` role.

``send(service, body)`` returns the reply body or raises
:class:`~patterns.common.errors.RequestAbandoned` after ``retries`` sends in
total. Each attempt uses a fresh socket (close with linger 0, reopen, resend),
so no reply to an earlier attempt can ever be delivered for a later one
(Lazy Pirate's LP3).

The socket is a DEALER that adds and strips the empty delimiter itself: on
the wire it is indistinguishable from the Guide's REQ client, but unlike REQ
it can keep waiting, within the same attempt, after it dropped a reply that
failed validation (wrong header, wrong service, or a body the caller's
``accept`` refuses). Fixed relative to ``mdcliapi.py`` (PROTOCOLS.md §5.7):
there is no pointless reconnect after the last attempt, and the reply's
header and service are checked rather than asserted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import zmq

from patterns.common import role, trace
from patterns.common.errors import RequestAbandoned
from patterns.majordomo import mdp

log = logging.getLogger("majordomo.client")

Accept = Callable[[list[bytes]], bool]


class MajordomoClient:
    """Request-reply over MDP with timeout, close-and-reopen and a retry budget."""

    def __init__(
        self,
        broker: str,
        *,
        timeout_ms: int = 2500,
        retries: int = 3,
        context: zmq.Context | None = None,
    ) -> None:
        self.broker = broker
        self.timeout = max(1, timeout_ms) / 1000.0
        self.retries = max(1, retries)
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.socket: zmq.Socket | None = None
        self._open()

    def _open(self) -> None:
        if self.socket is not None:
            self.socket.close(linger=0)
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.connect(self.broker)

    def send(
        self,
        service: bytes,
        body: list[bytes],
        *,
        accept: Accept | None = None,
        on_retry: Callable[[int], None] | None = None,
        on_refused: Callable[[list[bytes]], None] | None = None,
    ) -> list[bytes]:
        """Send ``body`` to ``service``; return the reply body frames.

        ``accept(reply_body)`` may refuse a reply (it is then dropped and the
        wait goes on); ``on_retry(attempt)`` is called before attempts 2, 3...;
        ``on_refused(frames)`` for every dropped reply.
        """
        request = mdp.client_request(service, body)
        for attempt in range(1, self.retries + 1):
            if attempt > 1:
                self._open()  # a fresh identity: replies to old attempts cannot reach us
                if on_retry is not None:
                    on_retry(attempt)
            sock = self.socket
            assert sock is not None
            sock.send_multipart(request)
            reply = self._await(sock, service, accept, on_refused)
            if reply is not None:
                return reply
            log.warning(
                "no reply from %s for %r (attempt %d/%d)",
                self.broker,
                service,
                attempt,
                self.retries,
            )
        self._open()  # the last attempt's reply, if it ever comes, must not reach the next call
        raise RequestAbandoned(f"no reply after {self.retries} attempts")

    def _await(
        self,
        sock: zmq.Socket,
        service: bytes,
        accept: Accept | None,
        on_refused: Callable[[list[bytes]], None] | None,
    ) -> list[bytes] | None:
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not sock.poll(int(remaining * 1000) + 1, zmq.POLLIN):
                continue
            frames = sock.recv_multipart()
            reply = mdp.parse_client_reply(frames)
            if (
                reply is not None
                and reply.service == service
                and (accept is None or accept(reply.body))
            ):
                return reply.body
            log.warning(
                "refused a reply that does not answer this request (%d frames)", len(frames)
            )
            if on_refused is not None:
                on_refused(frames)

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None
        if self._own_context:
            self.context.term()


def pace(rate: float) -> Callable[[], None]:
    """A function that sleeps just enough to keep calls at ``rate`` per second (0 = no pause)."""
    if rate <= 0:
        return lambda: None
    interval = 1.0 / rate
    next_at = [time.monotonic()]

    def wait() -> None:
        delay = next_at[0] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        next_at[0] = max(next_at[0] + interval, time.monotonic() - interval)

    return wait


def main() -> int:
    p = role.parser("Synchronous Majordomo client: echo requests with timeout and retries.")
    role.add_connect(p, "broker")
    p.add_argument("--service", default="echo", help="service to call")
    role.add_client_options(p)
    args = p.parse_args()
    role.configure_logging(args.verbose)
    endpoint = (args.connect or ["tcp://127.0.0.1:5555"])[0]
    service = args.service.encode()
    client = MajordomoClient(
        endpoint, timeout_ms=args.timeout_ms, retries=args.retries, context=zmq.Context.instance()
    )
    wait = pace(args.rate)
    seq = 0
    try:
        while args.requests == 0 or seq < args.requests:
            seq += 1
            wait()
            op = trace.op_id(seq)
            body = [op.encode()]
            trace.invoke(op, op)
            try:
                reply = client.send(
                    service,
                    body,
                    accept=lambda frames, expected=body: frames == expected,
                    on_retry=lambda attempt, op=op: trace.emit("retry", op=op, attempt=attempt),
                    on_refused=lambda frames, op=op: trace.emit(
                        "refused", op=op, reply=trace.text(frames[-1]) if frames else ""
                    ),
                )
            except RequestAbandoned as exc:
                trace.fail(op, str(exc))
                continue
            trace.ok(op, reply[0], server=endpoint)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
