"""Negative control: a Binary Star server that fails over on peer silence alone.

It takes the same options as ``patterns.binary_star.server`` and differs in
one rule: once the peer has been silent for the failover timeout it becomes
ACTIVE by itself, without waiting for a client's vote. When the peer link is
cut while clients still reach the primary, this backup goes ACTIVE next to
the ACTIVE primary, and ``at_most_one_active`` must flag the run.

Run it in place of the real server:
``python tests/negative/binary_star_no_vote_server.py --backup --bind ... --connect ...``,
or ``zchaos run --impl binary_star.server="python tests/negative/binary_star_no_vote_server.py"``
(scenarios/binary_star/bstar-negative-no-vote.yaml swaps only the backup).
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from patterns.binary_star import server
from patterns.binary_star.fsm import BinaryStarFSM, Outcome, State


class NoVoteFSM(BinaryStarFSM):
    """Broken on purpose: silence of the peer is enough to take over."""

    def on_tick(self) -> Outcome:
        if self.state is not State.ACTIVE and self.peer_expired():
            before = self.state
            self.state = State.ACTIVE
            return Outcome(serve=False, changed_from=before)
        return Outcome(serve=False)


if __name__ == "__main__":
    server.main(fsm_factory=lambda primary, heartbeat: NoVoteFSM(primary, heartbeat))
