"""REP-compatible framing for servers built on ROUTER.

A REP socket cannot drop a request without answering it (its next ``recv``
fails with EFSM), so our model 1 and 2 servers use a ROUTER and do the REP
envelope handling here: everything up to and including the first empty frame
is the envelope, put back in front of the reply. On the wire a ROUTER is a
valid peer for REQ and DEALER clients, so the Guide's clients still work.
"""

from __future__ import annotations


def split_envelope(frames: list[bytes]) -> tuple[list[bytes], list[bytes]] | None:
    """``(envelope, body)`` of a request, or None when there is no delimiter or no body."""
    if len(frames) < 2 or b"" not in frames[1:]:
        return None
    cut = frames.index(b"", 1) + 1
    envelope, body = frames[:cut], frames[cut:]
    if not body:
        return None
    return envelope, body
