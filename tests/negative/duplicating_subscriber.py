"""NEGATIVE CONTROL: a subscriber that "reconnects" by opening a second socket.

It is the real ``pubsub.subscriber``, except that after 500 ms without a
message it decides its connection is dead and opens a fresh SUB socket to
the same endpoints, without closing the old one (which libzmq reconnects by
itself). From then on the publisher sends every message to both sockets and
the application takes each one twice. ``ordered_delivery`` must flag the
duplicates after the proxy's restart:

    zchaos run --impl pubsub.subscriber="python tests/negative/duplicating_subscriber.py" \\
        scenarios/pubsub/pubsub-proxy-restart.yaml

Do not use it for anything else.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import zmq

from patterns.common import role
from patterns.common.streams import SocketLimits, new_socket
from patterns.pubsub import subscriber

SILENCE_S = 0.5


class DuplicatingSubscriber(subscriber.Subscriber):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sockets = [self.socket]
        self.last = time.monotonic()

    def receive(self, timeout_ms: int = subscriber.POLL_MS) -> str | None:
        poller = zmq.Poller()
        for sock in self.sockets:
            poller.register(sock, zmq.POLLIN)
        ready = dict(poller.poll(timeout_ms))
        if not ready:
            if time.monotonic() - self.last > SILENCE_S and len(self.sockets) < 2:
                self.log.warning("no message for %.1f s: opening a new socket", SILENCE_S)
                sock = new_socket(zmq.Context.instance(), zmq.SUB, SocketLimits())
                for topic in self.filters:
                    sock.setsockopt(zmq.SUBSCRIBE, topic)
                for endpoint in self.endpoints:
                    sock.connect(endpoint)
                self.sockets.append(sock)
            return None
        self.last = time.monotonic()
        outcome = None
        for sock in ready:
            outcome = self.handle(sock.recv_multipart())
        return outcome

    def close(self) -> None:
        for sock in self.sockets:
            sock.close(linger=0)


if __name__ == "__main__":
    role.run_role(lambda: subscriber.main(DuplicatingSubscriber))
