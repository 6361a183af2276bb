"""RFC 6/PPP constants and frame helpers shared by the queue and the worker.

PPP tells control from data only by frame count: a one-frame message is
READY or HEARTBEAT, anything longer is a request or reply carrying an
address envelope. Keeping that rule in one place keeps both sides agreeing.
"""

from __future__ import annotations

from dataclasses import dataclass

READY = b"\x01"  # worker -> queue, first message of every connection
HEARTBEAT = b"\x02"  # both directions

# Defaults from the Guide; every one is configurable on the command line.
HEARTBEAT_INTERVAL_MS = 1000
HEARTBEAT_LIVENESS = 3
INTERVAL_INIT_MS = 1000
INTERVAL_MAX_MS = 32000


@dataclass(frozen=True)
class Envelope:
    """A data message split at its first empty frame.

    ``address`` holds the address frames (one or more) without the delimiter;
    ``body`` the one or more frames after it.
    """

    address: list[bytes]
    body: list[bytes]

    def frames(self) -> list[bytes]:
        return [*self.address, b"", *self.body]


def split_envelope(frames: list[bytes]) -> Envelope | None:
    """Split at the first empty frame; None if there is no non-empty address or no body."""
    try:
        cut = frames.index(b"")
    except ValueError:
        return None
    if cut == 0 or cut == len(frames) - 1:
        return None
    return Envelope(address=list(frames[:cut]), body=list(frames[cut + 1 :]))


def is_control(frames: list[bytes], command: bytes) -> bool:
    """True for the one-frame control message ``command`` (READY or HEARTBEAT)."""
    return len(frames) == 1 and frames[0] == command


class Backoff:
    """Reconnect delay: starts at ``initial_ms``, doubles after each use, capped at ``ceiling_ms``.

    ``reset`` goes back to the start; the worker calls it on any inbound message.
    """

    def __init__(self, initial_ms: int, ceiling_ms: int) -> None:
        self.initial_ms = max(initial_ms, 0)
        self.ceiling_ms = max(ceiling_ms, self.initial_ms)
        self._next_ms = self.initial_ms

    def next_ms(self) -> int:
        """The delay to wait now; the following call returns twice as much (up to the ceiling)."""
        delay = self._next_ms
        self._next_ms = min(max(delay * 2, 1), self.ceiling_ms)
        return delay

    def reset(self) -> None:
        self._next_ms = self.initial_ms
