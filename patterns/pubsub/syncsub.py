"""Synchronised subscriber (``pubsub.syncsub``): tells the publisher it is ready, then listens.

``--connect`` twice: the publisher's PUB endpoint, then its sync (REP)
endpoint. The subscriber subscribes (its topics, ``END``, and ``HELLO``
last), waits for a ``HELLO`` beacon to prove its SUB connection is up and
its filters arrived, and only then sends its sync request and traces
``sync`` when the reply comes. From that instant the checkers may demand
zero loss (``bounded_loss`` with ``since: sync``).

If no beacon comes within ``--timeout-ms`` (the Guide's own syncpub sends
none) it syncs anyway, which is the Guide's behaviour after its one-second
sleep. A sync request that gets no reply within ``--timeout-ms`` is resent
on a fresh REQ socket (a REQ cannot send twice), so a publisher restarted
mid-handshake does not hang the subscriber.
"""

from __future__ import annotations

import logging
import time

import zmq

from patterns.common import role, trace
from patterns.common.streams import SocketLimits, new_socket
from patterns.pubsub import envelope
from patterns.pubsub.subscriber import (
    ENDED,
    POLL_MS,
    Subscriber,
    add_subscriber_options,
    consume,
)


def await_beacon(sub: Subscriber, timeout_ms: int) -> bool:
    """True once a HELLO arrived; False after ``timeout_ms`` without one."""
    deadline = time.monotonic() + max(0, timeout_ms) / 1000
    while True:
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0:
            return False
        if not sub.socket.poll(min(left, POLL_MS), zmq.POLLIN):
            continue
        frames = sub.socket.recv_multipart()
        if len(frames) == 1 and frames[0] == envelope.HELLO:
            return True
        sub.handle(frames)


def sync_with(sub: Subscriber, endpoint: str, *, timeout_ms: int, limits: SocketLimits,
              log: logging.Logger) -> bool:
    """Send the sync request and wait for the reply, still reading the SUB socket.

    False when the stream ended (END) before the reply came.
    """
    ctx = zmq.Context.instance()
    request = trace.node_name("syncsub").encode()
    while True:
        req = new_socket(ctx, zmq.REQ, limits)
        req.connect(endpoint)
        req.send(request)
        deadline = time.monotonic() + max(1, timeout_ms) / 1000
        poller = zmq.Poller()
        poller.register(req, zmq.POLLIN)
        poller.register(sub.socket, zmq.POLLIN)
        try:
            while time.monotonic() < deadline:
                ready = dict(poller.poll(POLL_MS))
                if req in ready:  # the reply first: it was sent before any message
                    req.recv_multipart()
                    return True
                if sub.socket in ready and sub.receive(0) == ENDED:
                    return False
        finally:
            req.close(linger=0)
        log.warning("no sync reply within %d ms; asking again", timeout_ms)


def main() -> int:
    p = role.parser("Synchronised subscriber: waits for a HELLO, syncs over REQ/REP, listens.")
    role.add_connect(p, "publisher: PUB endpoint, then sync (REP) endpoint")
    add_subscriber_options(p)
    p.add_argument("--timeout-ms", type=int, default=2000,
                   help="wait this long for a HELLO beacon, and for each sync reply")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect or len(args.connect) != 2:
        p.error("give --connect twice: the publisher's PUB endpoint, then its sync endpoint")
    sub = Subscriber([args.connect[0]], topics=envelope.parse_topics(args.topics),
                     limits=SocketLimits.from_args(args), extra_filters=(envelope.HELLO,),
                     log=log)
    try:
        beacon = await_beacon(sub, args.timeout_ms)
        if not beacon:
            log.warning("no HELLO within %d ms; syncing anyway", args.timeout_ms)
        if sync_with(sub, args.connect[1], timeout_ms=args.timeout_ms,
                     limits=SocketLimits.from_args(args), log=log):
            trace.emit("sync", hello=beacon)
            log.info("synced (beacon seen: %s)", beacon)
            consume(sub, messages=args.messages, log=log)
    finally:
        sub.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
