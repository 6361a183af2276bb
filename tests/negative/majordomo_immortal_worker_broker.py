"""NEGATIVE CONTROL: a Majordomo broker that never lets a worker die.

For ``scenarios/majordomo/majordomo-worker-killed.yaml``; the contract that
must flag it is ``every_request_answered``:

    zchaos run \\
        --impl majordomo.broker="python tests/negative/majordomo_immortal_worker_broker.py" \\
        scenarios/majordomo/majordomo-worker-killed.yaml

It is our broker with the Guide's example flaw made total: worker expiry is
infinite, so a killed worker is never purged and is still handed requests,
and (like a plain ROUTER) a send to a vanished worker is silently dropped
instead of being re-queued. Each dead idle worker swallows a request; with
several workers killed at once a client's retries land on dead workers too,
and it gives up. MMI also keeps answering 200 for the dead workers' service.

Same options as ``patterns.majordomo.broker``. Do not use it for anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The shared base beside this file (already on sys.path when run as a script).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import zmq
from majordomo_broker_base import run_broken_broker

from patterns.majordomo.broker import MajordomoBroker


class ImmortalWorkerBroker(MajordomoBroker):
    """Workers expire never; unroutable dispatches vanish."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.expiry_s = float("inf")  # BUG: no worker ever expires
        self.socket.setsockopt(zmq.ROUTER_MANDATORY, 0)  # BUG: lost dispatches go unnoticed


if __name__ == "__main__":
    run_broken_broker(
        ImmortalWorkerBroker,
        "BROKEN Majordomo broker (negative control): workers never expire.",
    )
