"""NEGATIVE CONTROL: a peering broker that sends work to the cloud first.

It passes each local request to a peer whenever some peer reported
capacity, and uses its own workers only when no peer can take it: the
opposite of the Guide's local-first rule. Its trace events are the real
broker's, so ``local_first`` must flag the first cloud route made while a
local worker idled.

Same options as ``patterns.peering.broker``:

    zchaos run --impl peering.broker="python tests/negative/peering_cloud_first_broker.py" \\
        scenarios/peering/peering-steady.yaml

Do not use it for anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from patterns.common import role
from patterns.peering.broker import PeeringBroker
from patterns.peering.broker import main as broker_main


class CloudFirstBroker(PeeringBroker):
    """The real broker with its routing preference reversed for local requests."""

    def _route(self, frames: list[bytes], source: str) -> None:
        if source == "local" and self._send_to_cloud(frames):  # BUG: cloud before local
            return
        super()._route(frames, source)


def main() -> int:
    return broker_main(CloudFirstBroker, "BROKEN peering broker (negative control): sends local "
                       "requests to a peer first.")


if __name__ == "__main__":
    role.run_role(main)
