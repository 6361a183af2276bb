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

from collections.abc import Sequence

from patterns.freelance.echo_server import server_main

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


def handle(frames: list[bytes]) -> tuple[list[bytes], bytes | None] | None:
    """:func:`answer`, plus the op id of a request (None for a PING: no work, not traced)."""
    reply = answer(frames)
    if reply is None:
        return None
    return reply, None if frames[1] == PING else reply[2]


def guide_routing_id(endpoint: str) -> bytes | None:
    """The ROUTER identity the Guide's clients address: the endpoint, when it is concrete."""
    if any(wild in endpoint for wild in ("*", "0.0.0.0", "[::]")):
        return None
    return endpoint.encode()


def main(argv: Sequence[str] | None = None) -> None:
    server_main("Freelance model 3 (FLP) server: PING -> PONG, [CCF|body] echoed", handle, argv,
                routing_id=guide_routing_id)


if __name__ == "__main__":
    main()
