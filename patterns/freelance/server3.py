"""Freelance model 3 server (RFC 10/FLP): ``python -m patterns.freelance.server3 --bind EP``.

A ROUTER. ``[C | "PING"]`` is answered ``[C | "PONG"]``; a request
``[C | CCF | body...]`` is answered ``[C | CCF | body...]``: the CCF
unchanged, and the body echoed (the Guide's server answers ``"OK"``; echoing
keeps replies checkable against requests and is still valid FLP). Anything
shorter is logged and dropped.

The Guide's server sets its ROUTER identity to its public endpoint so that
clients can address it by that string. We do the same when the bind endpoint
is concrete, for clients built on the Guide; our client does not rely on it
(it names each server with ``CONNECT_ROUTING_ID``), because behind a proxy a
server never knows the address its clients used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import zmq

from patterns.common import role, trace

PING = b"PING"
PONG = b"PONG"


def answer(frames: list[bytes]) -> list[bytes] | None:
    """The reply to one message as received by the ROUTER, or None to drop it."""
    if len(frames) < 2:
        return None
    identity, command = frames[0], frames[1]
    if command == PING:
        return [identity, PONG]
    if len(frames) < 3:
        return None  # a CCF without a body
    return frames


def serve(
    endpoint: str,
    *,
    work_ms: int = 0,
    log: logging.Logger,
    context: zmq.Context | None = None,
    stopping: threading.Event | None = None,
    poll_ms: int = 200,
) -> int:
    ctx = context or zmq.Context.instance()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    if not any(wild in endpoint for wild in ("*", "0.0.0.0", "[::]")):
        sock.setsockopt(zmq.ROUTING_ID, endpoint.encode())  # for clients built on the Guide
    try:
        sock.bind(endpoint)
        log.info("FLP server on %s", endpoint)
        while stopping is None or not stopping.is_set():
            if not sock.poll(poll_ms, zmq.POLLIN):
                continue
            frames = sock.recv_multipart()
            reply = answer(frames)
            if reply is None:
                log.warning("dropped malformed message %r", frames[:4])
                continue
            is_request = frames[1] != PING
            if is_request and work_ms > 0:
                time.sleep(work_ms / 1000.0)
            if is_request:
                trace.handled(reply[2])  # before the reply, so the history stays causal
            try:
                sock.send_multipart(reply, zmq.NOBLOCK)
            except zmq.ZMQError as exc:
                log.info("reply undeliverable: %s", exc)
        return 0
    finally:
        sock.close(0)


def main(argv: Sequence[str] | None = None) -> None:
    p = role.parser("Freelance model 3 (FLP) server: PING -> PONG, [CCF|body] echoed")
    role.add_bind(p, "the server socket")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request")
    args = p.parse_args(argv)
    if not args.bind or len(args.bind) != 1:
        p.error("--bind ENDPOINT is required exactly once")
    log = role.configure_logging(args.verbose)
    role.run_role(lambda: serve(args.bind[0], work_ms=args.work_ms, log=log))


if __name__ == "__main__":
    main()
