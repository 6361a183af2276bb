"""Contract ``replies_match_requests``: a client never accepts a wrong reply.

This is the safety property every reliable request-reply pattern promises
(Lazy Pirate's LP1/LP3, Freelance's sequence check, Majordomo's correlation
by body): whatever the network did, the reply a client hands its caller is
the one for the request it is waiting on. A stale reply from an earlier
attempt, another client's reply, or a second reply for the same request is
exactly what a resend-after-timeout design gets wrong, so each is flagged.
"""

from __future__ import annotations

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.verdicts import Violations, decide
from harness.history import GAVE_UP_TYPES


def replies_match_requests(history: list[Event], ctx: CheckContext) -> CheckResult:
    """Every ``ok`` follows an ``invoke`` of its op on the same node, once, with the right reply.

    The right reply is the invoke's ``expect`` if present, else its ``body``.
    Flags: an ok for an op never invoked, an ok before its invoke, an ok on
    another node than the invoke, a second ok for the same invoke, an ok
    after the client gave up on that invoke (``gave_up``/``fail``: it told
    its caller there was no answer), and an ok whose reply differs. Unknown
    when no ok could be checked against an expected reply (none recorded, or
    none whose invoke gives ``expect`` or ``body``): nothing was tested.
    """
    name = "replies_match_requests"
    all_invoked = {
        e["op"] for e in history if e.get("type") == "invoke" and isinstance(e.get("op"), str)
    }
    invoked: dict[str, Event] = {}  # op -> latest invoke so far
    answered: dict[str, Event] = {}  # op -> the ok that answered the latest invoke
    given_up: dict[str, Event] = {}  # op -> the give-up of the latest invoke
    violations = Violations()
    checked = matched = duplicate_invokes = unverifiable = 0

    def flag(why: str, *events: Event | None) -> None:
        violations.add(why, *events)

    for event in history:
        kind = event.get("type")
        op = event.get("op")
        if kind in GAVE_UP_TYPES:
            if (isinstance(op, str) and op in invoked and op not in answered
                    and invoked[op].get("node") == event.get("node")):
                given_up.setdefault(op, event)
            continue
        if kind not in ("invoke", "ok"):
            continue
        if not isinstance(op, str):
            if kind == "ok":
                checked += 1
                flag(f"ok without a valid op id on {event.get('node')}", event)
            continue
        if kind == "invoke":
            if op in invoked:
                duplicate_invokes += 1
                answered.pop(op, None)
                given_up.pop(op, None)
            invoked[op] = event
            continue
        checked += 1
        request = invoked.get(op)
        if request is None:
            why = "ok before its invoke" if op in all_invoked else "ok for an op never invoked"
            flag(f"{why}: {op!r} on {event.get('node')}", event)
            continue
        if request.get("node") != event.get("node"):
            flag(
                f"ok for {op!r} on {event.get('node')} but it was invoked on "
                f"{request.get('node')}",
                request,
                event,
            )
            continue
        if op in answered:
            flag(f"second ok for {op!r}", request, answered[op], event)
            continue
        answered[op] = event
        if op in given_up:
            flag(f"ok for {op!r} after {event.get('node')} gave up on it at "
                 f"{given_up[op]['t']:.3f}", request, given_up[op], event)
            continue
        expected = request.get("expect", request.get("body"))
        if expected is None:
            unverifiable += 1
            continue
        reply = event.get("reply")
        if reply != expected:
            flag(f"{op!r} accepted reply {reply!r}, expected {expected!r}", request, event)
            continue
        matched += 1

    figures = {
        "oks": checked,
        "matched": matched,
        "bad": violations.total,
        "unverifiable": unverifiable,
        "duplicate_invokes": duplicate_invokes,
        "refused": sum(1 for e in history if e.get("type") == "refused"),
    }
    return decide(
        name,
        violations,
        decided=matched > 0,
        figures=figures,
        ok_message=f"all {checked} accepted replies match their requests",
        unknown_message="no ok event: no reply was accepted, nothing to check" if not checked
        else f"none of the {checked} accepted replies has an expected reply to check",
    )
