"""NEGATIVE CONTROL: a subscriber too slow for its feed.

It is the real ``pubsub.subscriber``, except that it spends 20 ms on every
message, so it takes about 50 a second from a feed that sends 250. Its
queue at the publisher fills and the PUB drops the excess, with no fault
anywhere: loss outside every fault window, which ``bounded_loss`` must flag
(the unfaulted subscriber of the scenario is this slow one too):

    zchaos run --impl pubsub.subscriber="python tests/negative/slow_subscriber.py" \\
        scenarios/pubsub/pubsub-subscriber-paused.yaml

Do not use it for anything else.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from patterns.common import role
from patterns.pubsub import envelope, subscriber

WORK_S = 0.020


class SlowSubscriber(subscriber.Subscriber):
    def on_delivery(self, stamp: envelope.Stamp) -> None:
        time.sleep(WORK_S)
        super().on_delivery(stamp)


if __name__ == "__main__":
    role.run_role(lambda: subscriber.main(SlowSubscriber))
