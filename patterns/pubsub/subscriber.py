"""Subscriber with topic filters (``pubsub.subscriber``), the Guide's wuclient made observable.

It connects a SUB socket to every ``--connect`` endpoint (publishers or a
proxy's backend), subscribes to each of ``--topics`` (prefix filters; empty
means everything) and traces every message it receives as ``deliver`` with
the envelope's publisher, epoch, topic and sequence number, from which the
checkers compute loss, reordering and duplication.

``subscribe`` is traced *before* the socket connects: the slow-joiner window
(Guide ch. 1) starts when the application decides to listen, not when libzmq
finally has a connection, and that window is what the checkers measure.

A message that is not ours (the Guide's one-frame weather updates, its
syncpub's ``Rhubarb``) is an *untracked* delivery: counted and traced without
a sequence number, never judged. ``END`` (one frame) ends the stream: the
subscriber exits 0, as the Guide's syncsub does. ``--messages N`` exits after
N deliveries, as wuclient stops after 100 updates. Garbage never stops it.
"""

from __future__ import annotations

import argparse
import logging

import zmq

from patterns.common import role, trace
from patterns.common.fastio import poll_in, recv_frames
from patterns.common.role import raise_if_stopped
from patterns.common.streams import (
    SocketLimits,
    add_limit_options,
    new_socket,
)
from patterns.pubsub import envelope

POLL_MS = 200  # wake-up period, so a stop signal is noticed while idle

DELIVERED, UNTRACKED, CONTROL, ENDED = "delivered", "untracked", "control", "ended"


class Subscriber:
    """A SUB socket with prefix filters; :meth:`receive` handles one message."""

    def __init__(
        self,
        endpoints: list[str],
        *,
        topics: list[bytes],
        limits: SocketLimits = SocketLimits(),
        extra_filters: tuple[bytes, ...] = (),
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        ctx = context or zmq.Context.instance()
        self.log = log or logging.getLogger("pubsub.subscriber")
        self.topics = topics
        self.endpoints = list(endpoints)
        self.filters = (*topics, envelope.END, *extra_filters)
        self.delivered = 0
        self.untracked = 0
        self._traced = trace.enabled()
        trace.emit("subscribe", topics=[trace.text(t) for t in topics],
                   endpoints=list(endpoints))
        self.socket = new_socket(ctx, zmq.SUB, limits)
        # Order matters to a sync subscriber: its last filter (HELLO) arriving
        # proves the earlier ones reached the publisher on the same connection.
        for topic in self.filters:
            self.socket.setsockopt(zmq.SUBSCRIBE, topic)
        for endpoint in endpoints:
            self.socket.connect(endpoint)

    def receive(self, timeout_ms: int = POLL_MS) -> str | None:
        """Handle at most one message; what it was, or None when none came in time.

        Tries a non-blocking receive first and polls only when nothing is
        waiting: under load that saves a poll per message. A stop signal
        swallowed inside libzmq's frame cleanup is raised here
        (``role.raise_if_stopped``).
        """
        raise_if_stopped()
        try:
            frames = recv_frames(self.socket)
        except zmq.Again:
            if not poll_in(self.socket, timeout_ms):
                return None
            frames = recv_frames(self.socket)
        return self.handle(frames)

    def handle(self, frames: list[bytes]) -> str:
        stamp = envelope.decode(frames)
        if stamp is not None:
            self.delivered += 1
            self.on_delivery(stamp)
            return DELIVERED
        if len(frames) == 1 and frames[0] == envelope.END:
            trace.emit("end")
            return ENDED
        if len(frames) == 1 and frames[0] == envelope.HELLO:
            return CONTROL
        self.untracked += 1
        if self.untracked == 1 or self.untracked % 10000 == 0:
            self.log.info("untracked (foreign) message #%d: %d frame(s), %r", self.untracked,
                          len(frames), frames[0][:40])
        if self._traced:
            trace.emit("deliver", untracked=True, frames=len(frames), head=frames[0][:40])
        return UNTRACKED

    def on_delivery(self, stamp: envelope.Stamp) -> None:
        """The application takes one of our messages: trace it."""
        if self._traced:
            trace.emit("deliver", publisher=trace.text(stamp.publisher), epoch=stamp.epoch,
                       topic=trace.text(stamp.topic), seq=stamp.seq)

    def close(self) -> None:
        self.socket.close(linger=0)


def consume(sub: Subscriber, *, messages: int, log: logging.Logger) -> None:
    """Receive until END, ``messages`` deliveries (0 = no limit) or a stop signal."""
    while True:
        outcome = sub.receive()
        if outcome == ENDED:
            log.info("END received")
            break
        if messages > 0 and sub.delivered + sub.untracked >= messages:
            break
    log.info("received %d messages (%d untracked)", sub.delivered + sub.untracked, sub.untracked)


def add_subscriber_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--topics", default="",
                   help="comma-separated topic prefixes to subscribe to (empty = everything)")
    p.add_argument("--messages", type=int, default=0,
                   help="exit after this many messages (0 = until END or stopped)")
    add_limit_options(p)


def main(subscriber_class: type[Subscriber] = Subscriber) -> int:
    """The role; a negative control passes a broken ``subscriber_class``."""
    p = role.parser("Weather subscriber: SUB with topic filters; traces every delivery.")
    role.add_connect(p, "publisher or proxy backend")
    add_subscriber_options(p)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    sub = subscriber_class(args.connect, topics=envelope.parse_topics(args.topics),
                           limits=SocketLimits.from_args(args), log=log)
    try:
        consume(sub, messages=args.messages, log=log)
    finally:
        sub.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
