"""Contracts ``every_request_answered`` and ``bounded_give_up``: clients make progress.

Safety (no wrong reply) is cheap to keep by never answering; these two
contracts catch that. ``every_request_answered`` is the pattern's promise
to the caller: every request gets its reply, at the latest some time after
the last fault healed. ``bounded_give_up`` is the weaker promise of a
client with a retry budget (Lazy Pirate's LP2, Majordomo's MD5): when it
cannot get a reply it says so within retries x timeout instead of hanging,
and it never sends a request more than ``retries`` times.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.timeline import killed_by_nemesis, last_heal, run_end
from harness.checkers.verdicts import MAX_VIOLATIONS, decide, seconds, violation
from harness.history import Operation, operations

DEFAULT_GRACE = 5.0  # s, when no client declares timeout and retries
GRACE_MARGIN = 0.5  # s of scheduling slack added to a client's own give-up time
BOUND_MARGIN = 0.2  # s added to every give-up bound (process and poll overheads)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def retry_budget(ctx: CheckContext, node: str | None) -> tuple[float, int] | None:
    """(time per attempt in s, sends in total) of a client, when it declares both.

    A client with a ``settle`` option (Binary Star) waits that long before each
    switch of server, so an attempt costs timeout + settle (one settle too many
    for the last attempt: a slightly generous bound, never a false alarm).
    """
    facts = ctx.nodes.get(node or "")
    if facts is None:
        return None
    timeout_ms = _number(facts.options.get("timeout"))
    retries = _number(facts.options.get("retries"))
    if timeout_ms is None or retries is None or timeout_ms <= 0 or retries < 1:
        return None
    settle_ms = _number(facts.options.get("settle")) or 0.0
    return (timeout_ms + max(0.0, settle_ms)) / 1000.0, int(retries)


def default_grace(ctx: CheckContext) -> float:
    """How long an op may stay open at the end by default: the longest client
    give-up time (timeout x retries) plus a small margin, or 5 s if none is known."""
    give_ups = [
        timeout * retries
        for facts in ctx.clients()
        if (budget := retry_budget(ctx, facts.name)) is not None
        for timeout, retries in [budget]
    ]
    return max(give_ups) + GRACE_MARGIN if give_ups else DEFAULT_GRACE


def orphaned(op: Operation, deaths: dict[str, list[float]]) -> bool:
    """An op with no ok and no fail whose client the nemesis killed after invoking it:
    nobody is waiting for that reply any more, so it is neither lost nor hung."""
    if op.oks or op.fails or op.invoke is None:
        return False
    return any(t >= op.invoke["t"] for t in deaths.get(str(op.node), ()))


def every_request_answered(
    history: list[Event], ctx: CheckContext, *, within: float | None = None
) -> CheckResult:
    """Every invoked op gets an ``ok``; a ``fail`` is a violation.

    An op still open when the run ends is a violation once it is overdue.
    Without ``within`` an op is overdue ``default_grace`` after its invoke.
    With ``within`` an op's deadline is ``max(invoke, last heal) + within``,
    where the last heal is the last ``fault`` event of the run (see
    :func:`timeline.last_heal`), and an ``ok`` after that deadline is a
    violation too. A ``fail`` after the run end (the harness stopping the
    client) is judged like an open op. An open op whose client the nemesis
    killed (kill, stop or restart fault) after invoking it is *orphaned*:
    counted, not flagged. Unknown when no op was answered and none is overdue.
    """
    name = "every_request_answered"
    end = run_end(history, ctx)
    heal = last_heal(history, ctx) if within is not None else None
    grace = within if within is not None else default_grace(ctx)
    violations: list[dict] = []
    deaths = killed_by_nemesis(history)
    counts = {"invoked": 0, "answered": 0, "failed": 0, "open": 0, "open_not_due": 0, "late": 0,
              "orphaned": 0}

    def flag(why: str, *events: Event | None) -> None:
        if len(violations) < MAX_VIOLATIONS:
            violations.append(violation(why, *events))

    def deadline(invoked_at: float) -> float:
        if within is None:
            return invoked_at + grace
        return max(invoked_at, heal if heal is not None else invoked_at) + within

    for op in operations(history).values():
        if op.invoke is None:
            continue
        counts["invoked"] += 1
        invoked_at = op.invoke["t"]
        due = deadline(invoked_at)
        if op.oks:
            counts["answered"] += 1
            ok = op.oks[0]
            if within is not None and ok["t"] > due:
                counts["late"] += 1
                flag(f"{op.op!r} answered {seconds(ok['t'] - due)} after its deadline "
                     f"{due:.3f}", op.invoke, ok)
        elif op.fails and op.fails[0]["t"] <= end:
            counts["failed"] += 1
            flag(f"{op.op!r} given up by {op.node}: {op.fails[0].get('reason', '')}",
                 op.invoke, op.fails[0])
        elif orphaned(op, deaths):
            counts["orphaned"] += 1
        elif end > due:
            counts["open"] += 1
            flag(f"{op.op!r} invoked at {invoked_at:.3f} still unanswered at the end "
                 f"{end:.3f} (due {due:.3f})", op.invoke)
        else:
            counts["open_not_due"] += 1

    figures: dict[str, Any] = dict(counts)
    figures.update({"last_heal": heal, "grace_s": grace, "end": end})
    return decide(
        name,
        violations,
        decided=counts["answered"] > 0,
        figures=figures,
        ok_message=f"all {counts['answered']} due requests answered",
        unknown_message="no request was answered and none is overdue: nothing was tested",
    )


def bounded_give_up(
    history: list[Event], ctx: CheckContext, *, slack: float = 0.5
) -> CheckResult:
    """A client gives up within retries x timeout x (1 + slack) + 0.2 s, and never hangs.

    For each op of a client whose options declare ``timeout`` and ``retries``:
    its ``fail`` must come within that bound of its invoke; an op with neither
    ok nor fail must not be older than the bound at the end; and it may not be
    sent more than ``retries`` times (from ``retry`` events). Orphaned ops
    (the client was killed by a fault meanwhile) are not hangs. Ops of clients
    without both options are not checked (listed in the figures). Unknown
    when no op of a checkable client was invoked.
    """
    name = "bounded_give_up"
    end = run_end(history, ctx)
    violations: list[dict] = []
    checked = 0
    unchecked: set[str] = set()
    give_up_times: list[float] = []
    bounds: dict[str, float] = {}
    deaths = killed_by_nemesis(history)
    orphans = 0

    def flag(why: str, *events: Event | None) -> None:
        if len(violations) < MAX_VIOLATIONS:
            violations.append(violation(why, *events))

    for op in operations(history).values():
        if op.invoke is None:
            continue
        budget = retry_budget(ctx, op.node)
        if budget is None:
            unchecked.add(str(op.node))
            continue
        timeout, retries = budget
        bound = retries * timeout * (1.0 + slack) + BOUND_MARGIN
        bounds[str(op.node)] = round(bound, 3)
        checked += 1
        invoked_at = op.invoke["t"]
        if op.attempts > retries:
            flag(f"{op.op!r} sent {op.attempts} times, retries is {retries}",
                 op.invoke, *op.retries)
        if op.oks:
            continue
        if op.fails:
            took = op.fails[0]["t"] - invoked_at
            give_up_times.append(took)
            if took > bound:
                flag(f"{op.op!r} given up after {seconds(took)}, bound {seconds(bound)}",
                     op.invoke, op.fails[0])
        elif orphaned(op, deaths):
            orphans += 1
        elif end - invoked_at > bound:
            flag(f"{op.op!r} still waiting at the end after {seconds(end - invoked_at)}, "
                 f"bound {seconds(bound)}", op.invoke)

    figures: dict[str, Any] = {
        "checked": checked,
        "fails": len(give_up_times),
        "worst_give_up_s": round(max(give_up_times), 6) if give_up_times else None,
        "bounds_s": bounds,
        "unchecked_clients": sorted(unchecked),
        "orphaned": orphans,
    }
    return decide(
        name,
        violations,
        decided=checked > 0,
        figures=figures,
        ok_message=f"{checked} requests resolved or given up within their bound",
        unknown_message="no request of a client with both timeout and retries"
        + (f" (unchecked: {', '.join(sorted(unchecked))})" if unchecked else ""),
    )
