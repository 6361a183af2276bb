"""Contract ``durable_acks``: an acknowledged request is never lost (Titanic's TI1).

Titanic's whole point is that once ``titanic.request`` answered 200 with a
UUID, the request survives crashes and restarts of every component but the
client, and its reply eventually comes back. The client records that
promise as an ``ack`` event; this contract holds the run to it, with the
same deadline, orphan and "too short to decide" rules as the liveness
contracts (:mod:`harness.checkers.rules`).
"""

from __future__ import annotations

from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.rules import (
    DEFAULT_GRACE,
    due_time,
    nemesis_deaths,
    orphaning_kill,
    too_short,
)
from harness.checkers.timeline import fault_windows, heal_time, run_end, started_after
from harness.checkers.verdicts import Violations, decide, seconds
from harness.history import operations


def durable_acks(
    history: list[Event], ctx: CheckContext, *, grace: float = DEFAULT_GRACE
) -> CheckResult:
    """Every op with an ``ack`` ends with an ``ok`` carrying the expected reply.

    An acked op is due ``grace`` after its last ack, pushed back to ``grace``
    after the end of every fault that began before it was due (as in
    ``every_request_answered``). Violations: an acked op its client gave up on
    (the service told it the request was lost), an acked op with no ok when
    the run ended after its deadline (lost), and an acked op whose accepted
    reply differs from the invoke's ``expect`` (else ``body``). Not lost: an op still within its
    deadline at the end (pending), and an op whose client the nemesis killed
    before its deadline and never started again (orphaned: the promise was
    made to a client that is gone; a restarted client must finish it). An op
    acked under several UUIDs (a lost 200 made the client ask again: TSP has
    no de-duplication) is reported in the figures only. Unknown when no
    acked op was judged, or when one is pending and the run ended less than
    ``grace`` after the last fault healed.
    """
    name = "durable_acks"
    end = run_end(history, ctx)
    windows = fault_windows(history, ctx)
    heal = heal_time(windows)
    deaths = nemesis_deaths(history)
    violations = Violations()
    counts = {"acked": 0, "replied": 0, "lost": 0, "wrong": 0, "pending": 0, "orphaned": 0,
              "undecidable": 0}
    multi_uuid: list[str] = []
    for op in operations(history).values():
        if not op.acks:
            continue
        counts["acked"] += 1
        uuids = {str(a.get("uuid")) for a in op.acks}
        if len(uuids) > 1:
            multi_uuid.append(op.op)
        first_ack, last_ack = op.acks[0], op.acks[-1]
        if op.oks:
            ok = op.oks[0]
            expected = op.expected_reply
            if expected is not None and ok.get("reply") != expected:
                counts["wrong"] += 1
                violations.add(f"{op.op!r} (uuid {first_ack.get('uuid')}) replied "
                               f"{ok.get('reply')!r}, expected {expected!r}",
                               op.invoke, first_ack, ok)
            else:
                counts["replied"] += 1
            continue
        gave_up = next((g for g in op.gave_ups if last_ack["t"] <= g["t"] <= end), None)
        if gave_up is not None:
            counts["lost"] += 1
            violations.add(f"{op.op!r} acknowledged with uuid {first_ack.get('uuid')} at "
                           f"{first_ack['t']:.3f}, then given up: {gave_up.get('reason', '')}",
                           op.invoke, *op.acks, gave_up)
            continue
        due = due_time(last_ack["t"], grace, windows)
        kill = orphaning_kill(op.node, last_ack["t"], due, deaths)
        if kill is not None and not started_after(history, str(op.node), kill):
            counts["orphaned"] += 1
        elif end > due:
            counts["lost"] += 1
            violations.add(f"{op.op!r} acknowledged with uuid {first_ack.get('uuid')} at "
                           f"{first_ack['t']:.3f} but never answered (due {due:.3f})",
                           op.invoke, *op.acks)
        else:
            counts["pending"] += 1
            if too_short(end, heal, grace):
                counts["undecidable"] += 1
    figures: dict[str, Any] = dict(counts)
    figures.update({"multi_uuid_ops": len(multi_uuid), "multi_uuid_examples": multi_uuid[:10],
                    "grace_s": grace, "last_heal": heal, "end": end})
    judged = counts["replied"] + counts["wrong"] + counts["lost"]
    if counts["undecidable"]:
        unknown = (f"{counts['undecidable']} acknowledged request(s) still pending and the run "
                   f"ended {seconds(end - (heal or 0.0))} after the last fault healed "
                   f"(grace {seconds(grace)})")
    else:
        unknown = "no acknowledged request was answered or overdue"
    return decide(
        name,
        violations,
        decided=judged > 0 and counts["undecidable"] == 0,
        figures=figures,
        ok_message=f"all {counts['replied']} acknowledged requests answered",
        unknown_message=unknown,
    )
