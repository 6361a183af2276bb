"""Weather-style publisher: topics, envelopes, a sequence number per topic (``pubsub.publisher``).

The Guide's wuserver, made observable: it binds a PUB socket and publishes
weather updates round-robin over ``--topics`` (zip codes), each in the
envelope of ``envelope.py`` with its own per-topic sequence number, at
``--rate`` messages per second. With ``--messages N`` it stops after N and
then repeats ``END`` every 100 ms until stopped, so subscribers of a finite
stream know it is over (and may exit) even if one ``END`` was lost.

Each message is traced as ``publish`` *before* it is sent: a publisher killed
between the two has then announced a message nobody got (counted as lost, at
the instant of the kill), never sent one nobody announced.

A PUB socket drops messages for a subscriber whose queue is at the HWM
(``--hwm``) and never blocks, which is what keeps one slow subscriber from
slowing the others (Guide ch. 2). The epoch is the node's incarnation under
the harness (``ZCHAOS_INCARNATION``), else the start time in milliseconds, so
a restarted publisher is always a new epoch.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable

import zmq

from patterns.common import role, trace
from patterns.common.fastio import send_frames
from patterns.common.streams import (
    Pacer,
    SocketLimits,
    add_limit_options,
    default_epoch,
    new_socket,
    seeded_random,
)
from patterns.pubsub import envelope

END_REPEAT_S = 0.1
UPDATE_RING = 64  # distinct weather updates per topic, cycled


class Publisher:
    """A PUB socket that stamps every message with (publisher, epoch, per-topic seq)."""

    def __init__(
        self,
        endpoints: list[str],
        *,
        topics: list[bytes],
        publisher_id: bytes,
        epoch: int | None = None,
        limits: SocketLimits = SocketLimits(),
        size: int = 0,
        context: zmq.Context | None = None,
        configure: Callable[[zmq.Socket], None] | None = None,
    ) -> None:
        ctx = context or zmq.Context.instance()
        self.socket = new_socket(ctx, zmq.PUB, limits)
        if configure is not None:
            configure(self.socket)
        for endpoint in endpoints:
            self.socket.bind(endpoint)
        self.topics = topics
        self.publisher_id = publisher_id
        self.epoch = default_epoch() if epoch is None else epoch
        self.size = size
        self.seqs: dict[bytes, int] = dict.fromkeys(topics, 0)
        self.sent = 0
        self._random = seeded_random("publisher")
        self._updates: dict[bytes, list[bytes]] = {}
        self._traced = trace.enabled()
        self._publisher_text = trace.text(publisher_id)

    def _weather(self, topic: bytes, seq: int) -> bytes:
        """A weather update for ``topic``: one of a ring drawn once (randrange per
        message cost more than the whole send)."""
        ring = self._updates.get(topic)
        if ring is None:
            zipcode = int(topic) if topic.isdigit() else self._random.randrange(1, 100000)
            ring = self._updates[topic] = [
                envelope.weather(zipcode % 100000, self._random.randrange(-80, 135),
                                 self._random.randrange(10, 60), self.size)
                for _ in range(UPDATE_RING)]
        return ring[seq % UPDATE_RING]

    def publish(self, topic: bytes, data: bytes | None = None) -> int:
        """Publish one message on ``topic``; its sequence number."""
        seq = self.seqs.get(topic, 0) + 1
        self.seqs[topic] = seq
        if data is None:
            data = self._weather(topic, seq)
        if self._traced:
            trace.emit("publish", publisher=self._publisher_text, epoch=self.epoch,
                       topic=trace.text(topic), seq=seq)
        send_frames(self.socket, envelope.encode(topic, self.publisher_id, self.epoch, seq, data),
                    noblock=False)
        self.sent += 1
        return seq

    def publish_next(self) -> int:
        """Publish on the next topic, round-robin; its sequence number."""
        return self.publish(self.topics[self.sent % len(self.topics)])

    def end(self) -> None:
        """Send ``END`` once (a single frame, as the Guide's syncpub does)."""
        send_frames(self.socket, [envelope.END], noblock=False)

    def close(self) -> None:
        self.socket.close(linger=0)


def stream(publisher: Publisher, *, messages: int, rate: float, log: logging.Logger,
           between: Callable[[], None] | None = None) -> None:
    """Publish ``messages`` (0 = until stopped) at ``rate``, then repeat END until stopped.

    ``between``, if given, runs after every message (a sync publisher
    answers late sync requests there).
    """
    pacer = Pacer(rate)
    n = 0
    while messages <= 0 or n < messages:
        pacer.wait(n)
        publisher.publish_next()
        n += 1
        if between is not None:
            between()
    log.info("published %d messages; repeating END until stopped", n)
    trace.emit("end", publisher=trace.text(publisher.publisher_id), epoch=publisher.epoch,
               messages=n)
    while True:
        publisher.end()
        time.sleep(END_REPEAT_S)


def add_stream_options(p: argparse.ArgumentParser) -> None:
    """Options of every publishing role."""
    add = p.add_argument
    add("--topics", default="10001,10002,10003",
        help="comma-separated topics (zip codes) to publish on, round-robin")
    add("--rate", type=float, default=100.0, help="messages per second (0 = as fast as possible)")
    add("--messages", type=int, default=0,
        help="messages to publish, then repeat END (0 = until stopped)")
    add("--size", type=int, default=0, help="pad each update's data to this many bytes")
    add_limit_options(p)


def main(configure: Callable[[zmq.Socket], None] | None = None) -> int:
    """The role; ``configure`` may set extra options on the PUB socket (a negative control does)."""
    p = role.parser("Weather publisher: PUB with topic envelopes and per-topic sequence numbers.")
    role.add_bind(p, "publish (PUB)")
    add_stream_options(p)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind:
        p.error("--bind is required")
    publisher = Publisher(args.bind, topics=envelope.parse_topics(args.topics),
                          publisher_id=trace.node_name("publisher").encode(),
                          limits=SocketLimits.from_args(args), size=args.size,
                          configure=configure)
    log.info("publishing on %s, epoch %d, topics %s", ", ".join(args.bind), publisher.epoch,
             args.topics)
    try:
        stream(publisher, messages=args.messages, rate=args.rate, log=log)
    finally:
        publisher.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
