"""Majordomo Protocol 0.1 (RFC 7) and MMI (RFC 8): constants and frame shapes.

Every MDP peer we ship (broker, worker, clients, Titanic) builds and parses
frames through this module, so the wire layout lives in one place and can be
compared frame for frame with PROTOCOLS.md §5-§7. Builders return plain lists
of ``bytes`` ready for ``send_multipart``; parsers never raise on bad input,
they return ``None`` so the caller can log and drop.
"""

from __future__ import annotations

from dataclasses import dataclass

# Protocol headers: 6 ASCII bytes, no terminator.
C_CLIENT = b"MDPC01"
W_WORKER = b"MDPW01"

# Worker commands: one raw byte each.
W_READY = b"\x01"
W_REQUEST = b"\x02"
W_REPLY = b"\x03"
W_HEARTBEAT = b"\x04"
W_DISCONNECT = b"\x05"

COMMAND_NAMES = {
    W_READY: "READY",
    W_REQUEST: "REQUEST",
    W_REPLY: "REPLY",
    W_HEARTBEAT: "HEARTBEAT",
    W_DISCONNECT: "DISCONNECT",
}

# MMI (RFC 8): the reserved namespace and its status codes.
MMI_PREFIX = b"mmi."
MMI_SERVICE = b"mmi.service"
MMI_FOUND = b"200"
MMI_NOT_FOUND = b"404"
MMI_NOT_IMPLEMENTED = b"501"

EMPTY = b""


def is_mmi(service: bytes) -> bool:
    """A service name in the broker-internal namespace (a prefix test on the name)."""
    return service[:4] == MMI_PREFIX


# --- client side (app view of a DEALER that adds the empty frame itself) ---


def client_request(service: bytes, body: list[bytes]) -> list[bytes]:
    """``["" | MDPC01 | service | body...]`` as a DEALER client sends it."""
    return [EMPTY, C_CLIENT, service, *body]


@dataclass(frozen=True)
class ClientReply:
    """A reply the broker sent to a client: which service answered, with what."""

    service: bytes
    body: list[bytes]


def parse_client_reply(frames: list[bytes]) -> ClientReply | None:
    """Parse ``["" | MDPC01 | service | body (1+)]`` received on a DEALER; None if malformed."""
    if len(frames) < 4 or frames[0] != EMPTY or frames[1] != C_CLIENT:
        return None
    return ClientReply(service=frames[2], body=frames[3:])


# --- worker side (app view of the worker's DEALER) ---


def worker_ready(service: bytes) -> list[bytes]:
    return [EMPTY, W_WORKER, W_READY, service]


def worker_reply(client: bytes, body: list[bytes]) -> list[bytes]:
    return [EMPTY, W_WORKER, W_REPLY, client, EMPTY, *body]


def worker_heartbeat() -> list[bytes]:
    return [EMPTY, W_WORKER, W_HEARTBEAT]


def worker_disconnect() -> list[bytes]:
    return [EMPTY, W_WORKER, W_DISCONNECT]


@dataclass(frozen=True)
class WorkerCommand:
    """A command the broker sent to a worker. ``client``/``body`` only for REQUEST."""

    command: bytes
    client: bytes = EMPTY
    body: tuple[bytes, ...] = ()


def parse_worker_command(frames: list[bytes]) -> WorkerCommand | None:
    """Parse a broker-to-worker message as the worker's DEALER sees it; None if malformed.

    REQUEST is ``["" | MDPW01 | 0x02 | <C> | "" | body (1+)]``; HEARTBEAT and
    DISCONNECT are exactly three frames. Anything else (READY/REPLY sent to a
    worker, unknown commands, wrong header) is malformed.
    """
    if len(frames) < 3 or frames[0] != EMPTY or frames[1] != W_WORKER:
        return None
    command = frames[2]
    if command == W_REQUEST:
        if len(frames) < 6 or frames[4] != EMPTY:
            return None
        return WorkerCommand(command, client=frames[3], body=tuple(frames[5:]))
    if command in (W_HEARTBEAT, W_DISCONNECT) and len(frames) == 3:
        return WorkerCommand(command)
    return None


# --- broker side (ROUTER view: the peer's identity comes first) ---


def broker_to_worker(worker: bytes, command: bytes) -> list[bytes]:
    """HEARTBEAT or DISCONNECT addressed to ``worker``."""
    return [worker, EMPTY, W_WORKER, command]


def broker_request(worker: bytes, client: bytes, body: list[bytes]) -> list[bytes]:
    return [worker, EMPTY, W_WORKER, W_REQUEST, client, EMPTY, *body]


def broker_reply(client: bytes, service: bytes, body: list[bytes]) -> list[bytes]:
    return [client, EMPTY, C_CLIENT, service, *body]
