"""Negative control for ``zchaos explore``: a Titanic client with a circuit breaker.

It is the real ``titanic.client`` (same options, same journal) with one
addition that looks prudent and is wrong: when Titanic (or the broker in
front of it) has not answered *any* call for ``GIVE_UP_AFTER_S`` seconds, the
client abandons the acknowledged request it was polling for (``fail``) and
forgets it, as a client with a deadline would. TSP's promise runs the other
way (PROTOCOLS.md §8.3): an acknowledged UUID yields its reply after any
crash and restart, however long that takes, so the client must keep asking.

Every shipped Titanic scenario passes with it: their outages (a SIGKILLed
Titanic started again a second later, broker restarts, a late worker that
Titanic still answers 300 for) are all shorter than the breaker's threshold.
A longer outage of Titanic or of the broker, or a client cut off from the
broker for a few seconds, makes it drop acknowledged requests, and
``durable_acks`` flags them as lost. ``zchaos explore`` finds that:

    zchaos explore scenarios/titanic/titanic-kill-restart.yaml \\
        --impl titanic.client="python tests/negative/explore_titanic_impatient_client.py"

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

from patterns.common import role, trace
from patterns.titanic import client
from patterns.titanic.journal import Operation

GIVE_UP_AFTER_S = 2.5


class ImpatientClient(client.TitanicClient):
    """Broken on purpose: abandons acknowledged requests after a long silence."""

    silent_since: float | None = None

    def _call(self, service: bytes, body: list[bytes]) -> list[bytes] | None:
        reply = super()._call(service, body)
        if reply is None:
            if self.silent_since is None:
                self.silent_since = time.monotonic()
        else:
            self.silent_since = None
        return reply

    def _poll(self, entry: Operation) -> None:
        super()._poll(entry)
        if (self.silent_since is not None
                and time.monotonic() - self.silent_since > GIVE_UP_AFTER_S):
            # THE BUG: Titanic acknowledged this request; giving up loses it.
            trace.fail(entry.op, f"Titanic silent for {GIVE_UP_AFTER_S}s: giving up")
            self.journal.done(entry)


if __name__ == "__main__":
    client.TitanicClient = ImpatientClient  # type: ignore[misc]
    role.run_role(client.main)
