"""Contract ``durable_acks``: an acknowledged request is never lost (Titanic's TI1).

Titanic's whole point is that once ``titanic.request`` answered 200 with a
UUID, the request survives crashes and restarts of every component but the
client, and its reply eventually comes back. The client records that
promise as an ``ack`` event; this contract holds the run to it.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.timeline import run_end
from harness.checkers.verdicts import MAX_VIOLATIONS, decide, violation
from harness.history import operations


def durable_acks(history: list[Event], ctx: CheckContext, *, grace: float = 0.0) -> CheckResult:
    """Every op with an ``ack`` ends with an ``ok`` carrying the expected reply.

    Violations: an acked op with no ok by the end (lost), or whose accepted
    reply differs from the invoke's ``expect`` (else ``body``). Ops acked
    within ``grace`` seconds of the end and still unanswered are counted as
    pending, not lost (default 0: the run's settle time is the grace). An op
    acked under several different UUIDs (a lost 200 made the client ask
    again: TSP has no de-duplication) is reported in the figures only.
    Unknown when no acked op was answered yet (no ack, or all pending).
    """
    name = "durable_acks"
    end = run_end(history, ctx)
    violations: list[dict[str, Any]] = []
    counts = {"acked": 0, "replied": 0, "lost": 0, "wrong": 0, "pending": 0}
    multi_uuid: list[str] = []
    for op in operations(history).values():
        if not op.acks:
            continue
        counts["acked"] += 1
        uuids = {str(a.get("uuid")) for a in op.acks}
        if len(uuids) > 1:
            multi_uuid.append(op.op)
        first_ack = op.acks[0]
        if op.oks:
            ok = op.oks[0]
            expected = op.expected_reply
            if expected is not None and ok.get("reply") != expected:
                counts["wrong"] += 1
                why = f"{op.op!r} (uuid {first_ack.get('uuid')}) replied {ok.get('reply')!r}, " \
                      f"expected {expected!r}"
                violations.append(violation(why, op.invoke, first_ack, ok))
            else:
                counts["replied"] += 1
        elif end - op.acks[-1]["t"] <= grace:
            counts["pending"] += 1
        else:
            counts["lost"] += 1
            violations.append(violation(
                f"{op.op!r} acknowledged with uuid {first_ack.get('uuid')} at "
                f"{first_ack['t']:.3f} but never answered", op.invoke, *op.acks,
            ))
    figures: dict[str, Any] = dict(counts)
    figures["multi_uuid_ops"] = len(multi_uuid)
    figures["multi_uuid_examples"] = multi_uuid[:10]
    return decide(
        name,
        violations[:MAX_VIOLATIONS],
        decided=counts["replied"] > 0,
        figures=figures,
        ok_message=f"all {counts['replied']} acknowledged requests answered",
        unknown_message="no ack event: no request was acknowledged",
    )
