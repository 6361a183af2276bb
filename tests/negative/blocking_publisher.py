"""NEGATIVE CONTROL: a publisher that waits for its slowest subscriber.

It is the real ``pubsub.publisher`` with ``ZMQ_XPUB_NODROP`` set on its PUB
socket: instead of dropping a slow subscriber's messages at the HWM, every
send blocks until that subscriber's queue has room. A plausible setting for
someone who wants "no loss", and exactly what the Guide warns against: one
slow subscriber now slows the whole feed, so ``delivery_latency`` must flag
the subscribers that no fault touched:

    zchaos run --impl pubsub.publisher="python tests/negative/blocking_publisher.py" \\
        scenarios/pubsub/pubsub-slow-subscriber.yaml

Do not use it for anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import zmq

from patterns.common import role
from patterns.pubsub import publisher


def no_drop(sock: zmq.Socket) -> None:
    sock.setsockopt(zmq.XPUB_NODROP, 1)


if __name__ == "__main__":
    role.run_role(lambda: publisher.main(configure=no_drop))
