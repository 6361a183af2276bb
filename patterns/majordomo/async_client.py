"""Asynchronous Majordomo client (PROTOCOLS.md §7) and the ``majordomo.async_client`` role.

The API is the Guide's ``mdcliapi2`` shape — ``send()`` returns at once,
``recv()`` returns any one reply — on a DEALER that adds the empty delimiter
itself. Unlike the example it checks the empty frame, the header and that the
service is one it asked for, and a timeout is just ``None``.

MDP 0.1 has no correlation field, so the role correlates through the body:
each request body is its op id, the role keeps a table of outstanding ops,
accepts a reply only for an op that is outstanding, resends ops whose timeout
passed (up to ``--retries`` sends each) and fails those that exhaust it.
That is the recovery recipe the Guide gives for surviving a broker restart.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

import zmq

from patterns.common import role, trace
from patterns.common.fastio import poll_in, recv_frames, send_frames
from patterns.majordomo import mdp
from patterns.majordomo.client import pace

log = logging.getLogger("majordomo.async_client")


class MajordomoAsyncClient:
    """Pipelined MDP client: many requests in flight on one DEALER."""

    def __init__(self, broker: str, *, context: zmq.Context | None = None) -> None:
        self.broker = broker
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.connect(broker)
        self._asked: set[bytes] = set()

    def send(self, service: bytes, body: list[bytes]) -> None:
        """Queue one request; never waits for the reply."""
        self._asked.add(service)
        send_frames(self.socket, mdp.client_request(service, body), noblock=False)

    def recv(self, timeout_ms: int | None = None) -> tuple[bytes, list[bytes]] | None:
        """The next valid reply as ``(service, body)``; None if ``timeout_ms`` passes first."""
        deadline = None if timeout_ms is None else time.monotonic() + max(0, timeout_ms) / 1000
        while True:
            wait = -1 if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            if not poll_in(self.socket, wait):
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                continue
            try:
                frames = recv_frames(self.socket)
            except zmq.Again:
                continue
            reply = mdp.parse_client_reply(frames)
            if reply is None or reply.service not in self._asked:
                log.warning("dropped a malformed or unsolicited reply (%d frames)", len(frames))
                continue
            return reply.service, reply.body

    def close(self) -> None:
        self.socket.close(linger=0)
        if self._own_context:
            self.context.term()


@dataclass
class _Outstanding:
    body: list[bytes]
    attempts: int
    deadline: float


class PipelinedEcho:
    """The role's bookkeeping: a window of outstanding ops, resends and give-ups."""

    def __init__(
        self,
        client: MajordomoAsyncClient,
        service: bytes,
        *,
        window: int,
        timeout_ms: int,
        retries: int,
        requests: int,
        rate: float,
        server: str,
    ) -> None:
        self.client = client
        self.service = service
        self.window = max(1, window)
        self.timeout = max(1, timeout_ms) / 1000.0
        self.retries = max(1, retries)
        self.requests = requests
        self.server = server
        self.wait = pace(rate)
        self.rate = rate
        self.outstanding: OrderedDict[str, _Outstanding] = OrderedDict()  # by deadline order
        self.sent = 0
        self.answered = 0
        self.failed = 0

    def _more_to_send(self) -> bool:
        return self.requests == 0 or self.sent < self.requests

    def _send_new(self) -> None:
        self.sent += 1
        op = trace.op_id(self.sent)
        body = [op.encode()]
        trace.invoke(op, op)
        self.outstanding[op] = _Outstanding(body, 1, time.monotonic() + self.timeout)
        self.client.send(self.service, body)

    def _expire(self) -> None:
        now = time.monotonic()
        while self.outstanding:
            op, entry = next(iter(self.outstanding.items()))
            if entry.deadline > now:
                return
            del self.outstanding[op]
            if entry.attempts >= self.retries:
                self.failed += 1
                trace.fail(op, f"no reply after {entry.attempts} attempts")
                continue
            entry.attempts += 1
            entry.deadline = now + self.timeout
            self.outstanding[op] = entry  # back of the line: latest deadline
            trace.emit("retry", op=op, attempt=entry.attempts)
            self.client.send(self.service, entry.body)

    def _on_reply(self, service: bytes, body: list[bytes]) -> None:
        op = trace.text(body[0]) if len(body) == 1 else None
        if op is None or service != self.service or op not in self.outstanding:
            trace.emit("refused", op=op or "", reply=trace.text(body[0]) if body else "")
            return
        del self.outstanding[op]
        self.answered += 1
        trace.ok(op, body[0], server=self.server)

    def run(self) -> None:
        while self._more_to_send() or self.outstanding:
            while self._more_to_send() and len(self.outstanding) < self.window:
                if self.rate > 0:
                    self.wait()
                self._send_new()
                if self.rate > 0:
                    break  # paced: look at replies between sends
            now = time.monotonic()
            wake = [self.timeout]
            if self.outstanding:
                wake.append(next(iter(self.outstanding.values())).deadline - now)
            timeout = max(0.0, min(wake))
            if self.rate > 0 and self._more_to_send() and len(self.outstanding) < self.window:
                timeout = min(timeout, 1.0 / self.rate)
            reply = self.client.recv(int(timeout * 1000) + 1)
            if reply is not None:
                self._on_reply(*reply)
                # drain whatever else already arrived without waiting
                while (more := self.client.recv(0)) is not None:
                    self._on_reply(*more)
            self._expire()


def main() -> int:
    p = role.parser("Asynchronous Majordomo client: a window of pipelined echo requests.")
    role.add_connect(p, "broker")
    p.add_argument("--service", default="echo", help="service to call")
    p.add_argument("--window", type=int, default=10, help="requests in flight")
    role.add_client_options(p)
    args = p.parse_args()
    role.configure_logging(args.verbose)
    endpoint = (args.connect or ["tcp://127.0.0.1:5555"])[0]
    client = MajordomoAsyncClient(endpoint, context=zmq.Context.instance())
    try:
        PipelinedEcho(
            client,
            args.service.encode(),
            window=args.window,
            timeout_ms=args.timeout_ms,
            retries=args.retries,
            requests=args.requests,
            rate=args.rate,
            server=endpoint,
        ).run()
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
