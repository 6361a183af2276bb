"""NEGATIVE CONTROL: a subscriber that hands messages to a pool of handler threads.

It is the real ``pubsub.subscriber``, except that each message goes to one
of eight handler threads, which take 0-40 ms (seeded) and record the delivery
when they finish. A common way to "speed up" a consumer, and it silently
gives up the one ordering promise ZeroMQ makes over a connection: messages
of one stream are now taken out of order. ``ordered_delivery`` must flag it:

    zchaos run --impl pubsub.subscriber="python tests/negative/reordering_subscriber.py" \\
        scenarios/pubsub/pubsub-proxy-restart.yaml

Do not use it for anything else.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from patterns.common import role
from patterns.common.streams import seeded_random
from patterns.pubsub import envelope, subscriber


class ReorderingSubscriber(subscriber.Subscriber):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool = ThreadPoolExecutor(max_workers=8)
        self._random = seeded_random("reorder")

    def on_delivery(self, stamp: envelope.Stamp) -> None:
        pause = self._random.uniform(0.0, 0.040)
        self._pool.submit(self._handle_later, stamp, pause)

    def _handle_later(self, stamp: envelope.Stamp, pause: float) -> None:
        time.sleep(pause)
        super().on_delivery(stamp)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        super().close()


if __name__ == "__main__":
    role.run_role(lambda: subscriber.main(ReorderingSubscriber))
