"""Negative control for ``zchaos explore``: a Freelance model 3 client numbered as in the Guide.

It is the real ``freelance.client3`` with the sequence handling of the
Guide's ``flcliapi`` (PROTOCOLS.md §10.3, "Example flaws"): the request
sequence (the CCF) advances only when a request is *answered*, and a reply
is matched by its CCF alone. After a request is abandoned (``FAILED``) the
next request reuses its number, so a late reply to the abandoned request is
taken as the answer to the new one (FL1 broken).

Every shipped Freelance scenario passes with it: requests are abandoned
only when every server is dead, and dead servers send no late replies. When
the servers are slow or frozen for longer than the client's global timeout
but then answer, ``replies_match_requests`` flags the wrong reply.
``zchaos explore`` finds that:

    zchaos explore scenarios/freelance/freelance3-all-killed-one-returns.yaml \\
        --impl freelance.client3="python tests/negative/explore_freelance3_guide_seq_client.py"

Do not use it for anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from patterns.freelance import client3, flp


class GuideSequenceClient(flp.FreelanceClient3):
    """Broken on purpose: the CCF advances on success only and is the only match."""

    def request(self, body: bytes, *, expect: bytes | None = None) -> bytes:
        self.sequence -= 1  # the parent adds one: the number of the last answered request + 1
        # THE BUG, twice: the CCF alone decides (any body is accepted), and when the
        # request is abandoned (RequestAbandoned) its number is left to the next one.
        reply = super().request(body, expect=b"")
        self.sequence += 1  # advance only on success, as flcliapi does
        return reply


if __name__ == "__main__":
    flp.FreelanceClient3 = GuideSequenceClient  # type: ignore[misc]
    client3.FreelanceClient3 = GuideSequenceClient  # type: ignore[misc]
    client3.main()
