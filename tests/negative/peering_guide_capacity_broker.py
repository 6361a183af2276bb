"""NEGATIVE CONTROL: a peering broker that keeps the Guide's cloud capacity bookkeeping.

``peering3`` keeps a single ``cloud_capacity``: whatever the peer that spoke
last reported. It never expires, is not reduced by the requests it sends,
and a request goes to a random peer whenever it is above zero; its cloud
ROUTER drops sends to a peer that is gone, silently (PROTOCOLS.md §1.6).
When a peer's state stops arriving (a cut state link, a dead or frozen
peer) the figure goes stale and the broker keeps sending that peer work for
as long as the silence lasts: ``stale_peer_routes`` must flag it.

Same options as ``patterns.peering.broker``:

    zchaos run --impl peering.broker="python tests/negative/peering_guide_capacity_broker.py" \\
        scenarios/peering/peering-state-partition.yaml

Do not use it for anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from typing import Any

import zmq

from patterns.common import role, trace
from patterns.peering.broker import Peer, PeeringBroker, parse_state
from patterns.peering.broker import main as broker_main


class GuideCapacityBroker(PeeringBroker):
    """The real broker with peering3's one sticky cloud capacity figure."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_reported = 0
        # BUG: a send to a vanished peer is silently dropped, request and all.
        self._cloudbe.setsockopt(zmq.ROUTER_MANDATORY, 0)

    def expire(self, now: float) -> None:  # BUG: a peer's report never expires
        return

    def cloud_capacity(self) -> int:
        return self.last_reported  # BUG: whichever peer spoke last, for all of them

    def _on_state(self, frames: list[bytes], now: float) -> None:
        parsed = parse_state(frames)
        if parsed is None or parsed[0] == self.name:
            return
        name, capacity = parsed
        self.origins.add(name)
        self.peers.setdefault(name, Peer()).reported = capacity
        self.last_reported = capacity

    def _send_to_cloud(self, frames: list[bytes]) -> bool:
        if self.last_reported <= 0 or not self.peers:
            return False
        name = self._rng.choice(sorted(self.peers))  # BUG: any peer, whatever it reported
        self._cloudbe.send_multipart([name, b"", *frames])  # BUG: not counted against it
        if trace.enabled():
            trace.emit("route", op=frames[-1], peer=name, capacity=len(self.idle),
                       cloud={trace.text(name): self.last_reported}, to="cloud",
                       **{"from": "local"})
        return True


def main() -> int:
    return broker_main(GuideCapacityBroker, "BROKEN peering broker (negative control): the "
                       "Guide's single, never-expiring cloud capacity.")


if __name__ == "__main__":
    role.run_role(main)
