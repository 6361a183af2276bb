"""NEGATIVE CONTROL: a Paranoid Pirate queue with two of the Guide's ppqueue flaws.

1. It heartbeats only *idle* workers (``ppqueue.py:93``), so a worker busy for
   longer than heartbeat x liveness hears nothing, declares the queue dead,
   reconnects and drops the request it was working on. Every slow request is
   then lost on every retry: ``every_request_answered`` must flag it.
2. It never purges expired workers and never checks expiry at dispatch, so a
   killed or paused worker keeps absorbing requests.

Same options as ``patterns.paranoid_pirate.queue``:

    zchaos run --impl paranoid_pirate.queue="python tests/negative/broken_ppp_queue.py" \\
        scenarios/paranoid_pirate/slow-work.yaml

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
from patterns.paranoid_pirate import ppp
from patterns.paranoid_pirate.queue import ParanoidPirateQueue
from patterns.paranoid_pirate.queue import main as queue_main


class BrokenQueue(ParanoidPirateQueue):
    """The real queue with heartbeats to idle workers only and no expiry at all."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        # BUG: a send to a vanished worker is silently dropped, request and all.
        self._backend.setsockopt(zmq.ROUTER_MANDATORY, 0)

    def purge(self, now: float) -> None:  # BUG: expired workers stay forever
        return

    def _alive(self, worker: bytes, now: float) -> bool:  # BUG: never checks expiry
        return True

    def _send_heartbeats(self) -> None:  # BUG: busy workers get no heartbeat
        for worker in list(self.idle):
            try:
                self._backend.send_multipart([worker, ppp.HEARTBEAT], zmq.NOBLOCK)
            except zmq.ZMQError:
                pass


def main() -> int:
    return queue_main(BrokenQueue, "BROKEN Paranoid Pirate queue (negative control): heartbeats "
                      "idle workers only, never expires workers.")


if __name__ == "__main__":
    role.run_role(main)
