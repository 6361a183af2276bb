"""Synchronised publisher (``pubsub.syncpub``): the Guide's syncpub with a sturdier handshake.

It binds a PUB (first ``--bind``) and a REP sync socket (second ``--bind``)
and publishes nothing until ``--subscribers`` subscribers have sent a sync
request; each request gets an empty reply, as in the Guide. Then it streams
like ``pubsub.publisher`` (envelopes, per-topic sequence numbers), and sends
``END`` when done.

Sturdier than the Guide (its "more robust model", ch. 2 "Node
Coordination"): while waiting it publishes ``HELLO`` beacons every 50 ms, and
our ``pubsub.syncsub`` sends its sync request only after a beacon has come
through its SUB socket. The Guide's syncsub instead sleeps a second and
hopes its SUB is connected by then; the REQ/REP exchange alone proves only
that the REQ connection works. A sync request arriving after the stream
started (a late or restarted subscriber) is still answered, between messages.
"""

from __future__ import annotations

import zmq

from patterns.common import role, trace
from patterns.common.streams import SocketLimits, new_socket
from patterns.pubsub import envelope
from patterns.pubsub.publisher import Publisher, add_stream_options, stream

HELLO_INTERVAL_MS = 50


class SyncService:
    """The REP socket subscribers sync on; counts who has."""

    def __init__(self, endpoint: str, *, limits: SocketLimits = SocketLimits(),
                 context: zmq.Context | None = None) -> None:
        ctx = context or zmq.Context.instance()
        self.socket = new_socket(ctx, zmq.REP, limits)
        self.socket.bind(endpoint)
        self.synced = 0

    def answer(self, timeout_ms: int = 0) -> bool:
        """Answer one sync request if one arrives within ``timeout_ms``."""
        if not self.socket.poll(timeout_ms, zmq.POLLIN):
            return False
        peer = self.socket.recv_multipart()
        self.socket.send(b"")
        self.synced += 1
        trace.emit("synced", peer=b"|".join(peer)[:64], subscribers=self.synced)
        return True

    def close(self) -> None:
        self.socket.close(linger=0)


def wait_for_subscribers(publisher: Publisher, sync: SyncService, expected: int) -> None:
    """Beacon HELLO until ``expected`` sync requests were answered."""
    while sync.synced < expected:
        publisher.socket.send(envelope.HELLO)
        sync.answer(HELLO_INTERVAL_MS)


def main() -> int:
    p = role.parser("Synchronised publisher: waits for N subscribers (REQ/REP) before streaming.")
    role.add_bind(p, "publish (PUB)", "sync (REP)")
    add_stream_options(p)
    p.add_argument("--subscribers", type=int, default=1,
                   help="sync requests to wait for before publishing")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind or len(args.bind) != 2:
        p.error("give --bind twice: the PUB endpoint, then the sync (REP) endpoint")
    publisher = Publisher([args.bind[0]], topics=envelope.parse_topics(args.topics),
                          publisher_id=trace.node_name("syncpub").encode(),
                          limits=SocketLimits.from_args(args), size=args.size)
    sync = SyncService(args.bind[1], limits=SocketLimits.from_args(args))
    try:
        log.info("waiting for %d subscribers on %s", args.subscribers, args.bind[1])
        wait_for_subscribers(publisher, sync, args.subscribers)
        log.info("%d subscribers synced; publishing", sync.synced)
        trace.emit("stream_start", publisher=trace.text(publisher.publisher_id),
                   epoch=publisher.epoch, subscribers=sync.synced)
        stream(publisher, messages=args.messages, rate=args.rate, log=log,
               between=lambda: sync.answer(0))
    finally:
        sync.close()
        publisher.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
