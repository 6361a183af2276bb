"""TSP (RFC 9) vocabulary: service names, status codes, UUID checks, frame lists.

Kept apart from the service and the client so both sides (and the negative
controls) agree on one definition of a valid UUID and of a status code.
"""

from __future__ import annotations

import random
import re
import struct

SERVICE_REQUEST = b"titanic.request"
SERVICE_REPLY = b"titanic.reply"
SERVICE_CLOSE = b"titanic.close"
TITANIC_PREFIX = b"titanic."

OK = b"200"
PENDING = b"300"
UNKNOWN = b"400"
ERROR = b"500"

_UUID_RE = re.compile(rb"[0-9A-Fa-f]{32}")


def new_uuid(rng: random.Random | None = None) -> str:
    """32 lower-case hex characters: 128 bits from ``rng`` (the node's seeded
    generator, patterns/common/seeding.py), or from the OS when none is given."""
    bits = rng.getrandbits(128) if rng is not None else random.SystemRandom().getrandbits(128)
    return f"{bits:032x}"


def normalise_uuid(frame: bytes) -> str | None:
    """The UUID in ``frame`` in lower case, or None unless it is exactly 32 hex digits.

    Anything else (path separators, dots, non-ASCII, a trailing newline) is
    refused here, so no caller ever builds a key or a path from client input.
    """
    if _UUID_RE.fullmatch(frame) is None:
        return None
    return frame.decode("ascii").lower()


def status_of(frame: bytes) -> bytes:
    """The 3-digit code of a status frame (``b"200 OK"`` -> ``b"200"``)."""
    return frame[:3]


# --- a list of frames as one byte string (for storage) ---------------------

_U32 = struct.Struct(">I")


def pack_frames(frames: list[bytes]) -> bytes:
    """``count`` then ``length + bytes`` per frame, big-endian u32s."""
    parts = [_U32.pack(len(frames))]
    for frame in frames:
        parts.append(_U32.pack(len(frame)))
        parts.append(frame)
    return b"".join(parts)


def unpack_frames(data: bytes, offset: int = 0) -> list[bytes]:
    """Inverse of :func:`pack_frames`; ValueError on any inconsistency."""
    if offset + 4 > len(data):
        raise ValueError("frame count missing")
    (count,) = _U32.unpack_from(data, offset)
    pos = offset + 4
    frames: list[bytes] = []
    for _ in range(count):
        if pos + 4 > len(data):
            raise ValueError("frame length missing")
        (length,) = _U32.unpack_from(data, pos)
        pos += 4
        if pos + length > len(data):
            raise ValueError("frame shorter than its length")
        frames.append(data[pos : pos + length])
        pos += length
    if pos != len(data):
        raise ValueError("trailing bytes after frames")
    return frames
