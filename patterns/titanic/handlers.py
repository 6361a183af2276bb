"""The three TSP services as pure functions: request frames in, reply frames out.

Separated from the sockets so every validation rule (PROTOCOLS.md §8.4) is
unit-testable without a broker, and so no malformed input can reach a place
where it could raise: each handler answers 400 for bad input and 500 when the
store fails, and never lets an exception escape.
"""

from __future__ import annotations

import logging

from patterns.titanic.frames import (
    ERROR,
    OK,
    PENDING,
    TITANIC_PREFIX,
    UNKNOWN,
    normalise_uuid,
)
from patterns.titanic.storage import ReplyState, TitanicStore

log = logging.getLogger("titanic.service")


def handle_request(store: TitanicStore, frames: list[bytes]) -> list[bytes]:
    """``titanic.request [service | body...]`` -> ``["200" | uuid]``.

    Fewer than two frames, an empty service name, or a ``titanic.*`` target
    (which would make Titanic queue work for itself) is refused with 400.
    """
    if len(frames) < 2:
        log.warning("titanic.request with %d frame(s) refused: needs service and body",
                    len(frames))
        return [UNKNOWN]
    service, body = frames[0], frames[1:]
    if not service or service.startswith(TITANIC_PREFIX):
        log.warning("titanic.request for service %r refused", service)
        return [UNKNOWN]
    try:
        uuid = store.add_request(service, body)
    except Exception:
        log.exception("could not store a request")
        return [ERROR]
    return [OK, uuid.encode("ascii")]


def handle_reply(store: TitanicStore, frames: list[bytes]) -> list[bytes]:
    """``titanic.reply [uuid]`` -> ``["200" | reply...]``, ``["300"]`` or ``["400"]``."""
    uuid = normalise_uuid(frames[0]) if len(frames) == 1 else None
    if uuid is None:
        return [UNKNOWN]
    try:
        state, reply = store.reply_for(uuid)
    except Exception:
        log.exception("could not read the reply for %s", uuid)
        return [ERROR]
    if state is ReplyState.READY:
        return [OK, *reply]
    if state is ReplyState.PENDING:
        return [PENDING]
    return [UNKNOWN]


def handle_close(store: TitanicStore, frames: list[bytes]) -> list[bytes]:
    """``titanic.close [uuid]`` -> ``["200"]``, also for an unknown UUID.

    A frame that is not a UUID at all gets 400: nothing could ever have been
    stored under it, and saying 200 would hide a client bug.
    """
    uuid = normalise_uuid(frames[0]) if len(frames) == 1 else None
    if uuid is None:
        return [UNKNOWN]
    try:
        store.close_request(uuid)
    except Exception:
        log.exception("could not close %s", uuid)
        return [ERROR]
    return [OK]
