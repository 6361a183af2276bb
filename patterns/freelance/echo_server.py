"""The serving loop and CLI of the Freelance servers (one ROUTER, one thread).

All three models serve the same way: read a message, hand it to a
protocol-specific ``handle`` function that returns the reply (or None to drop
it), simulate ``--work-ms`` of work for a request (not for a control message
such as FLP's PING), trace ``handled`` and send the reply without blocking.
Malformed input is logged and dropped, and the loop keeps serving. Models 1
and 2 speak REP framing over the ROUTER (:func:`rep_framed` turns a
``respond`` function that sees only the body into a handler); model 3 handles
FLP frames itself (``server3.handle``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import zmq

from patterns.common import role, trace
from patterns.freelance.envelope import split_envelope

# handle(frames as received) -> (reply frames, op id of a request or None for a
# control message) or None to drop the message
Handler = Callable[[list[bytes]], tuple[list[bytes], bytes | None] | None]
# respond(body frames) -> (reply body frames, op id for the ``handled`` event) or None
Responder = Callable[[list[bytes]], tuple[list[bytes], bytes] | None]


def serve(
    endpoint: str,
    handle: Handler,
    *,
    work_ms: int = 0,
    log: logging.Logger,
    context: zmq.Context | None = None,
    stopping: threading.Event | None = None,
    poll_ms: int = 200,
    routing_id: bytes | None = None,
) -> int:
    """Bind a ROUTER on ``endpoint`` and answer until SIGTERM (or ``stopping`` is set)."""
    ctx = context or zmq.Context.instance()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    if routing_id is not None:
        sock.setsockopt(zmq.ROUTING_ID, routing_id)
    try:
        sock.bind(endpoint)
        log.info("serving on %s", endpoint)
        while stopping is None or not stopping.is_set():
            if not sock.poll(poll_ms, zmq.POLLIN):
                continue
            frames = sock.recv_multipart()
            answer = handle(frames)
            if answer is None:
                log.warning("dropped malformed request %r", frames[:4])
                continue
            reply, op = answer
            if op is not None:
                if work_ms > 0:
                    time.sleep(work_ms / 1000.0)
                trace.handled(op)  # before the reply, so the history stays causal
            try:
                sock.send_multipart(reply, zmq.NOBLOCK)
            except zmq.ZMQError as exc:  # the client went away (ROUTER_MANDATORY) or HWM
                log.info("reply undeliverable: %s", exc)
        return 0
    finally:
        sock.close(0)


def rep_framed(respond: Responder) -> Handler:
    """A handler that strips the REP envelope, lets ``respond`` answer the body, puts it back."""

    def handle(frames: list[bytes]) -> tuple[list[bytes], bytes | None] | None:
        parts = split_envelope(frames)
        answer = respond(parts[1]) if parts else None
        if parts is None or answer is None:
            return None
        reply, op = answer
        return parts[0] + reply, op

    return handle


def no_routing_id(_endpoint: str) -> bytes | None:
    """Let libzmq name the ROUTER (models 1 and 2 need no fixed identity)."""
    return None


def server_main(
    description: str,
    handle: Handler,
    argv: Sequence[str] | None = None,
    routing_id: Callable[[str], bytes | None] = no_routing_id,
) -> None:
    """CLI shared by the Freelance servers: ``--bind`` once, ``--work-ms``, ``--verbose``."""
    p = role.parser(description)
    role.add_bind(p, "the server socket")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request")
    args = p.parse_args(argv)
    if not args.bind or len(args.bind) != 1:
        p.error("--bind ENDPOINT is required exactly once")
    log = role.configure_logging(args.verbose)
    endpoint = args.bind[0]
    role.run_role(lambda: serve(endpoint, handle, work_ms=args.work_ms, log=log,
                                routing_id=routing_id(endpoint)))
