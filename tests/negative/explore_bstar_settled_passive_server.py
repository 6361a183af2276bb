"""Negative control for ``zchaos explore``: a Binary Star server that trusts a settled pair.

It takes the same options as ``patterns.binary_star.server`` and changes
one rule. The voter rule (PROTOCOLS.md §9, BS2) lets a PASSIVE server take
over only when a client votes *and* its peer has been silent for the
failover timeout. This one replaces the second half with a shortcut that
sounds reasonable: once it has been PASSIVE for ``SETTLED_S`` seconds (the
pair has settled, so a vote "must" mean the active server is gone), any
client vote makes it ACTIVE, whether or not its peer is still talking.
During start-up, before that, it behaves exactly like the real server.

Every shipped Binary Star scenario passes with it: after start-up a client
only votes for the backup when the primary is dead or frozen, and then the
peer is silent anyway. When one client loses its link to a live primary
(cut, disconnected, reset, slowed past the client's timeout) while the peer
link works, its vote makes the backup ACTIVE next to the ACTIVE primary,
and ``at_most_one_active`` flags the two. ``zchaos explore`` finds that:

    zchaos explore scenarios/binary_star/bstar-primary-killed.yaml \\
        --impl binary_star.server="python tests/negative/explore_bstar_settled_passive_server.py"

Do not use it for anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from patterns.binary_star import server
from patterns.binary_star.fsm import BinaryStarFSM, Event, Outcome, State

SETTLED_S = 2.0


class SettledPassiveFSM(BinaryStarFSM):
    """Broken on purpose: a PASSIVE server settled for a while counts a vote alone."""

    passive_since: float | None = None

    def handle(self, event: Event) -> Outcome:
        outcome = super().handle(event)
        if self.state is State.PASSIVE and self.passive_since is None:
            self.passive_since = self._clock()
        elif self.state is not State.PASSIVE:
            self.passive_since = None
        return outcome

    def may_take_over(self) -> bool:
        if (self.state is State.PASSIVE and self.passive_since is not None
                and self._clock() - self.passive_since >= SETTLED_S):
            return True  # THE BUG: the peer may be alive and ACTIVE
        return super().may_take_over()


if __name__ == "__main__":
    server.main(fsm_factory=lambda primary, heartbeat: SettledPassiveFSM(primary, heartbeat))
