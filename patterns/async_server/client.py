"""Asynchronous client: a DEALER with ``--window`` requests in flight, correlated by op id.

Each request is one frame, its op id, as the Guide's asyncsrv client sends
one frame per request. The window, resends and give-ups are the pipelined
bookkeeping the async Majordomo client uses (``PipelinedEcho``): a reply is
accepted only for an op still outstanding, a late or repeated one is traced
``refused`` and dropped, and an op with no reply after ``--retries`` sends of
``--timeout-ms`` each is given up.
"""

from __future__ import annotations

import zmq

from patterns.common import role
from patterns.common.fastio import poll_in, recv_frames, send_frames
from patterns.majordomo.async_client import PipelinedEcho

SERVICE = b""  # PipelinedEcho speaks of services; this pattern has none


class AsyncDealerClient:
    """The two calls ``PipelinedEcho`` makes, on a plain DEALER (no envelope, no service)."""

    def __init__(self, endpoint: str, *, context: zmq.Context | None = None) -> None:
        self.socket = (context or zmq.Context.instance()).socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.connect(endpoint)

    def send(self, _service: bytes, body: list[bytes]) -> None:
        send_frames(self.socket, body, noblock=False)

    def recv(self, timeout_ms: int | None = None) -> tuple[bytes, list[bytes]] | None:
        if not poll_in(self.socket, -1 if timeout_ms is None else max(0, timeout_ms)):
            return None
        try:
            return SERVICE, recv_frames(self.socket)
        except zmq.Again:
            return None

    def close(self) -> None:
        self.socket.close(linger=0)


def main() -> int:
    p = role.parser("Asynchronous client: DEALER with a window of echo requests in flight, "
                    "resent after --timeout-ms, given up after --retries sends.")
    role.add_connect(p, "server frontend")
    p.add_argument("--window", type=int, default=10, help="requests in flight")
    role.add_client_options(p)
    args = p.parse_args()
    role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    endpoint = args.connect[0]
    client = AsyncDealerClient(endpoint)
    try:
        PipelinedEcho(client, SERVICE, window=args.window, timeout_ms=args.timeout_ms,
                      retries=args.retries, requests=args.requests, rate=args.rate,
                      server=endpoint).run()
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
