"""The pub-sub wire format: the Guide's envelope, plus who sent it and where it sits.

A message is four frames::

    [ topic | publisher | "EPOCH:SEQ" | data ]

- ``topic``: the subscription key. SUB filters match a *prefix of the first
  frame only*, so a key in its own frame can never match the data by
  accident (Guide ch. 2, "Pub-Sub Message Envelopes").
- ``publisher``: the publisher's id (its node name), the Guide's "address"
  frame for a subscriber that listens to several publishers.
- ``EPOCH:SEQ``: ASCII decimals. ``SEQ`` counts 1, 2, 3 ... *per topic* and
  ``EPOCH`` is the publisher's incarnation; a restarted publisher starts a
  new epoch and numbers every topic from 1 again. Per-topic numbers are what
  make loss computable at a subscriber that filters: a gap in one topic's
  numbers is a lost message, whatever other topics it does not receive.
- ``data``: the payload, by default a weather update as the Guide's wuserver
  formats it (``"%05d %d %d"``: zipcode, temperature, relative humidity),
  padded to ``--size`` bytes.

Where this differs from the Guide: wuserver sends one frame and no numbers,
so neither loss nor order could be seen. Our subscriber still takes the
Guide's one-frame messages (counted as *untracked* deliveries), and the
single-frame control messages ``HELLO`` (a sync publisher's beacon) and
``END`` (the Guide's syncpub end-of-stream) are the same bytes as the Guide's.
"""

from __future__ import annotations

from typing import NamedTuple

HELLO = b"HELLO"  # sync beacon: "the PUB connection works", sent until subscribers confirm
END = b"END"  # end of stream (the Guide's syncpub sends it after its last update)


class Stamp(NamedTuple):
    """Where a message sits in its publisher's stream (a tuple: the subscriber's hot path)."""

    topic: bytes
    publisher: bytes
    epoch: int
    seq: int


def encode(topic: bytes, publisher: bytes, epoch: int, seq: int, data: bytes) -> list[bytes]:
    """The frames of one message."""
    return [topic, publisher, b"%d:%d" % (epoch, seq), data]


def decode(frames: list[bytes]) -> Stamp | None:
    """The stamp of one of our messages, or None for anything else (foreign, control, garbage)."""
    if len(frames) != 4:
        return None
    epoch_raw, sep, seq_raw = frames[2].partition(b":")
    if not (sep and epoch_raw.isdigit() and seq_raw.isdigit()):
        return None
    return Stamp(frames[0], frames[1], int(epoch_raw), int(seq_raw))


def weather(zipcode: int, temperature: int, humidity: int, size: int = 0) -> bytes:
    """A weather update as wuserver writes it, padded with spaces to ``size`` bytes."""
    text = b"%05d %d %d" % (zipcode, temperature, humidity)
    return text.ljust(size) if size > len(text) else text


def parse_topics(spec: str) -> list[bytes]:
    """``"10001,10002"`` -> ``[b"10001", b"10002"]``; an empty spec is ``[b""]`` (everything)."""
    topics = [t.strip().encode() for t in spec.split(",") if t.strip()]
    return topics or [b""]


def matches(topic: str, filters: list[str]) -> bool:
    """True when ``topic`` starts with one of ``filters`` (SUB semantics: a prefix match)."""
    return any(topic.startswith(f) for f in filters)
