"""NEGATIVE CONTROL: a Majordomo broker that sometimes sends a reply to the wrong client.

For ``scenarios/majordomo/majordomo-steady.yaml`` (several clients):

    zchaos run --impl majordomo.broker="python tests/negative/majordomo_misrouting_broker.py" \\
        scenarios/majordomo/majordomo-steady.yaml

Half of the replies go to the client that received the previous reply
instead of their own (MD2 broken). Our clients validate every reply against
their op id, so they refuse the stranger's reply (``refused`` events) and
never accept it: ``replies_match_requests`` stays ok *because the client
holds the line*. What the history shows is the cost: the owner never gets
its reply, retries, and with several clients also loses its retries, so
``every_request_answered`` is violated. A client that accepted whatever
arrived would instead be flagged by ``replies_match_requests``.

Same options as ``patterns.majordomo.broker``. Do not use it for anything else.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

# The shared base beside this file (already on sys.path when run as a script).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from majordomo_broker_base import run_broken_broker

from patterns.majordomo import mdp
from patterns.majordomo.broker import MajordomoBroker

MISROUTE_PROBABILITY = 0.5


class MisroutingBroker(MajordomoBroker):
    """Our broker, except that client replies are sometimes re-addressed."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._previous_client: bytes | None = None
        self._random = random.Random(7)

    def _send(self, message: list[bytes]) -> bool:
        if len(message) >= 4 and message[2] == mdp.C_CLIENT and not mdp.is_mmi(message[3]):
            client = message[0]
            previous, self._previous_client = self._previous_client, client
            if (
                previous is not None
                and previous != client
                and self._random.random() < MISROUTE_PROBABILITY
            ):
                message = [previous, *message[1:]]  # BUG: someone else's reply
        return super()._send(message)


if __name__ == "__main__":
    run_broken_broker(
        MisroutingBroker, "BROKEN Majordomo broker (negative control): misroutes replies."
    )
