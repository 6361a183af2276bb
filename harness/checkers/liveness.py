"""Contracts ``every_request_answered`` and ``bounded_give_up``: clients make progress.

Safety (no wrong reply) is cheap to keep by never answering; these two
contracts catch that. ``every_request_answered`` is the pattern's promise
to the caller: every request gets its reply, at the latest some time after
the faults that hit it healed. ``bounded_give_up`` is the weaker promise of
a client with a retry budget (Lazy Pirate's LP2, Majordomo's MD5): whatever
happens it answers or gives up within its budget instead of hanging, and it
never sends a request more often than the budget allows.

Deadlines, orphans and "too short to decide" are the shared rules of
:mod:`harness.checkers.rules`; docs/contracts.md states them in full.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.rules import (
    budget,
    due_time,
    give_up_bound,
    nemesis_deaths,
    orphaning_kill,
    paused_extension,
    paused_spans,
    resolve_bound,
    too_short,
)
from harness.checkers.timeline import fault_windows, heal_time, run_end
from harness.checkers.verdicts import Violations, decide, seconds
from harness.history import Operation, operations


def _gave_up_in_run(op: Operation, end: float) -> Event | None:
    """The op's give-up, if its client wrote one during the run before any ok.

    A give-up written after the run end comes from the harness stopping the
    client, and is judged like an op still open at the end.
    """
    for event in op.gave_ups:
        if event["t"] <= end and not any(ok["t"] <= event["t"] for ok in op.oks):
            return event
    return None


def every_request_answered(
    history: list[Event], ctx: CheckContext, *, within: float | None = None
) -> CheckResult:
    """Every invoked op gets an ``ok`` by its deadline; a give-up is a violation.

    An op's bound is ``within`` when given, else its own client's give-up
    bound (or 5 s for a client that never gives up); its deadline is that
    bound after its invoke, pushed back to the bound after the end of every
    fault that began before it was due (``rules.due_time``). Flags: a give-up
    during the run (even one followed by an ok), an op still open at the end
    after its deadline, and with ``within`` an ok after its deadline. An op
    whose own client the nemesis killed before its deadline is orphaned, not
    flagged. Unknown when nothing was judged, or when an op is still open at
    the end and the run stopped less than its bound after the last fault
    healed (the recovery was never observed).
    """
    name = "every_request_answered"
    end = run_end(history, ctx)
    windows = fault_windows(history, ctx)
    heal = heal_time(windows)
    deaths = nemesis_deaths(history)
    violations = Violations()
    counts = {"invoked": 0, "answered": 0, "failed": 0, "open": 0, "open_not_due": 0,
              "late": 0, "orphaned": 0, "undecidable": 0}
    bounds: dict[str, float] = {}

    for op in operations(history).values():
        if op.invoke is None:
            continue
        counts["invoked"] += 1
        bound = within if within is not None else resolve_bound(ctx, op.node)
        bounds[str(op.node)] = round(bound, 3)
        invoked_at = op.invoke["t"]
        due = due_time(invoked_at, bound, windows)
        gave_up = _gave_up_in_run(op, end)
        if gave_up is not None:
            counts["failed"] += 1
            violations.add(f"{op.op!r} given up by {op.node} at {gave_up['t']:.3f}: "
                           f"{gave_up.get('reason', '')}", op.invoke, gave_up)
        elif op.oks:
            counts["answered"] += 1
            ok = op.oks[0]
            if within is not None and ok["t"] > due:
                counts["late"] += 1
                violations.add(f"{op.op!r} answered {seconds(ok['t'] - due)} after its "
                               f"deadline {due:.3f}", op.invoke, ok)
        elif orphaning_kill(op.node, invoked_at, due, deaths) is not None:
            counts["orphaned"] += 1
        elif end > due:
            counts["open"] += 1
            violations.add(f"{op.op!r} invoked at {invoked_at:.3f} still unanswered at the "
                           f"end {end:.3f} (due {due:.3f})", op.invoke)
        else:
            counts["open_not_due"] += 1
            if too_short(end, heal, bound):
                counts["undecidable"] += 1

    figures: dict[str, Any] = dict(counts)
    figures.update({"last_heal": heal, "end": end, "bound_s": bounds})
    judged = counts["answered"] + counts["failed"] + counts["open"]
    if counts["undecidable"]:
        needed = max(bounds.values(), default=0.0)
        unknown = (f"the run ended {seconds(end - (heal or 0.0))} after the last fault healed, "
                   f"with {counts['undecidable']} request(s) still open: a hang after the "
                   f"faults cannot be told from a request in flight (needs {seconds(needed)})")
    else:
        unknown = "no request was answered and none is overdue: nothing was tested"
    return decide(
        name,
        violations,
        decided=judged > 0 and counts["undecidable"] == 0,
        figures=figures,
        ok_message=f"all {counts['answered']} due requests answered",
        unknown_message=unknown,
    )


def bounded_give_up(
    history: list[Event], ctx: CheckContext, *, slack: float = 0.5
) -> CheckResult:
    """A client answers or gives up within its budget x (1 + slack) + 0.2 s, never hangs.

    The budget is what the client's role declares (``harness.roles``: sends,
    wait per attempt, pause between attempts, from its options). For each op
    of such a client: its first ok or give-up must come within the bound of
    its invoke (time the client itself was paused is not counted); an op
    with neither must not be older than the bound at the end; and it may not
    be sent more often than the budget's sends (from ``retry`` events). Ops
    orphaned before their bound (the nemesis killed the client) are not
    hangs. Ops of clients with no budget are not checked (listed in the
    figures). Unknown when no op of a checkable client was judged.
    """
    name = "bounded_give_up"
    end = run_end(history, ctx)
    violations = Violations()
    checked = not_due = orphans = 0
    unchecked: set[str] = set()
    give_up_times: list[float] = []
    bounds: dict[str, float] = {}
    deaths = nemesis_deaths(history)
    frozen = paused_spans(history)

    for op in operations(history).values():
        if op.invoke is None:
            continue
        bound = give_up_bound(ctx, op.node, slack)
        sends = budget(ctx, op.node)
        if bound is None or sends is None:
            unchecked.add(str(op.node))
            continue
        bounds[str(op.node)] = round(bound, 3)
        invoked_at = op.invoke["t"]
        deadline = paused_extension(frozen, op.node, invoked_at, invoked_at + bound)
        if op.attempts > sends.sends:
            violations.add(f"{op.op!r} sent {op.attempts} times, its budget is {sends.sends}",
                           op.invoke, *op.retries)
        resolutions = op.oks + [g for g in op.gave_ups if g["t"] <= end]
        first = min(resolutions, key=lambda e: e["t"], default=None)
        if first is not None:
            checked += 1
            took = first["t"] - invoked_at
            gave_up = first in op.gave_ups
            if gave_up:
                give_up_times.append(took)
            if first["t"] > deadline:
                what = "given up" if gave_up else "answered"
                violations.add(f"{op.op!r} {what} after {seconds(took)}, bound {seconds(bound)}",
                               op.invoke, first)
        elif orphaning_kill(op.node, invoked_at, deadline, deaths) is not None:
            orphans += 1
        elif end > deadline:
            checked += 1
            violations.add(f"{op.op!r} still waiting at the end after "
                           f"{seconds(end - invoked_at)}, bound {seconds(bound)}", op.invoke)
        else:
            not_due += 1

    figures: dict[str, Any] = {
        "checked": checked,
        "fails": len(give_up_times),
        "worst_give_up_s": round(max(give_up_times), 6) if give_up_times else None,
        "bounds_s": bounds,
        "unchecked_clients": sorted(unchecked),
        "orphaned": orphans,
        "open_not_due": not_due,
    }
    return decide(
        name,
        violations,
        decided=checked > 0,
        figures=figures,
        ok_message=f"{checked} requests resolved or given up within their bound",
        unknown_message="no request of a client with a give-up budget was judged"
        + (f" (unchecked: {', '.join(sorted(unchecked))})" if unchecked else ""),
    )
