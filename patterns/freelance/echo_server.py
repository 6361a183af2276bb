"""The serving loop of the model 1 and model 2 servers (ROUTER speaking REP framing).

One thread, one socket. Each well-formed request is handed to a ``respond``
function that returns the reply body (or None to drop it); malformed input is
logged and dropped, and the loop keeps serving. ``--work-ms`` simulates work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import zmq

from patterns.common import trace
from patterns.freelance.envelope import split_envelope

# respond(body frames) -> (reply body frames, op id for the ``handled`` event) or None
Responder = Callable[[list[bytes]], tuple[list[bytes], bytes] | None]


def serve(
    endpoint: str,
    respond: Responder,
    *,
    work_ms: int = 0,
    log: logging.Logger,
    context: zmq.Context | None = None,
    stopping: threading.Event | None = None,
    poll_ms: int = 200,
) -> int:
    """Bind ``endpoint`` and answer until SIGTERM (or ``stopping`` is set)."""
    ctx = context or zmq.Context.instance()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    try:
        sock.bind(endpoint)
        log.info("serving on %s", endpoint)
        while stopping is None or not stopping.is_set():
            if not sock.poll(poll_ms, zmq.POLLIN):
                continue
            frames = sock.recv_multipart()
            parts = split_envelope(frames)
            answer = respond(parts[1]) if parts else None
            if parts is None or answer is None:
                log.warning("dropped malformed request %r", frames[:4])
                continue
            if work_ms > 0:
                time.sleep(work_ms / 1000.0)
            reply, op = answer
            trace.handled(op)  # before the reply, so the history stays causal
            try:
                sock.send_multipart(parts[0] + reply, zmq.NOBLOCK)
            except zmq.ZMQError as exc:  # the client went away (ROUTER_MANDATORY) or HWM
                log.info("reply undeliverable: %s", exc)
        return 0
    finally:
        sock.close(0)


def server_main(description: str, respond: Responder, argv: list[str] | None = None) -> None:
    """CLI shared by server1 and server2: ``--bind`` once, ``--work-ms``, ``--verbose``."""
    from patterns.common import role

    p = role.parser(description)
    role.add_bind(p, "the server socket")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request")
    args = p.parse_args(argv)
    if not args.bind or len(args.bind) != 1:
        p.error("--bind ENDPOINT is required exactly once")
    log = role.configure_logging(args.verbose)
    role.run_role(lambda: serve(args.bind[0], respond, work_ms=args.work_ms, log=log))
