"""Negative control for ``zchaos explore``: an async Majordomo client that accepts duplicates.

It is the real ``majordomo.async_client`` (same options, same window, same
resends) with one check weakened: a reply is accepted when its op is one
the client *sent*, not only when that op is still *outstanding*. MDP 0.1
has no correlation field (PROTOCOLS.md §7), so after a resend both the
original and the resent request may be answered; the second answer must be
dropped, or the application sees one request answered twice.

Every shipped Majordomo scenario passes with it: a broker restart or a
killed worker *loses* the first copy, so only the resend is ever answered.
A reply slower than the client's timeout (latency on a client's or a
worker's link, a frozen broker, a slow link) gets both copies answered, and
``replies_match_requests`` flags the second ``ok``. ``zchaos explore``
finds that:

    zchaos explore scenarios/majordomo/majordomo-async-broker-restart.yaml \\
        --impl majordomo.async_client="python tests/negative/explore_majordomo_async_dup_client.py"

Do not use it for anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from patterns.common import role, trace
from patterns.majordomo import async_client


class DuplicateAcceptingEcho(async_client.PipelinedEcho):
    """Broken on purpose: any reply to an op ever sent counts as its answer."""

    sent_ops: set[str]

    def _send_new(self) -> None:
        super()._send_new()
        if not hasattr(self, "sent_ops"):
            self.sent_ops = set()
        self.sent_ops.add(trace.op_id(self.sent))

    def _on_reply(self, service: bytes, body: list[bytes]) -> None:
        op = trace.text(body[0]) if len(body) == 1 else None
        if op is not None and service == self.service and op not in self.outstanding \
                and op in getattr(self, "sent_ops", set()):
            # THE BUG: the op was answered (or given up) already; this is the
            # answer to its other copy, and it is handed over once more.
            self.answered += 1
            trace.ok(op, body[0], server=self.server)
            return
        super()._on_reply(service, body)


if __name__ == "__main__":
    async_client.PipelinedEcho = DuplicateAcceptingEcho  # type: ignore[misc]
    role.run_role(async_client.main)
