"""Contracts ``at_most_one_active`` and ``failover_within``: Binary Star's promises.

A primary/backup pair must never have two ACTIVE servers answering clients
(split brain), and when the active one dies another must take over in
bounded time. Both are judged twice over where possible: from the servers'
own ``state`` events, and from the clients' side, through which server each
accepted reply came from (``ok.server`` mapped to a node by
``ctx.endpoint_owner``), because a server that lies about its state still
cannot hide whom clients heard from.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.liveness import retry_budget
from harness.checkers.timeline import (
    Interval,
    active_intervals,
    contains,
    is_apply,
    named_nodes,
    overlap,
    run_end,
    targets,
)
from harness.checkers.verdicts import MAX_VIOLATIONS, decide, seconds, violation
from harness.history import Operation, operations

# Faults after which another server must take over.
FAILOVER_FAULTS = frozenset({"kill", "stop", "pause", "restart"})


@dataclass(frozen=True)
class ServedReply:
    """An accepted reply and the window in which its server must have answered."""

    start: float  # the answering attempt was sent no earlier than this
    end: float  # the ok
    server: str  # node that answered
    ok: Event


def served_replies(history: list[Event], ctx: CheckContext) -> list[ServedReply]:
    """Every ``ok`` whose ``server`` endpoint maps to a node, with its answer window.

    The server answered during the attempt that got the reply: after the op's
    last ``retry`` before the ok (or its invoke), and, since an attempt waits
    at most one timeout, no earlier than the client's ``timeout`` before the
    ok when that option is known. Sorted by start.
    """
    served: list[ServedReply] = []
    for op in operations(history).values():
        if op.invoke is None or not op.oks:
            continue
        ok = op.oks[0]
        owner = ctx.endpoint_owner.get(str(ok.get("server")))
        if owner is None:
            continue
        start = op.invoke["t"]
        for retry in op.retries:
            if retry["t"] <= ok["t"]:
                start = max(start, retry["t"])
        budget = retry_budget(ctx, op.node)
        if budget is not None:
            start = max(start, ok["t"] - budget[0])
        served.append(ServedReply(start, ok["t"], owner, ok))
    served.sort(key=lambda s: s.start)
    return served


def _state_overlaps(
    intervals: dict[str, list[Interval]],
) -> list[tuple[str, str, Interval]]:
    nodes = sorted(intervals)
    found: list[tuple[str, str, Interval]] = []
    for i, first in enumerate(nodes):
        for second in nodes[i + 1:]:
            for a in intervals[first]:
                for b in intervals[second]:
                    common = overlap(a, b)
                    if common is not None:
                        found.append((first, second, common))
    return found


def _reply_overlaps(served: list[ServedReply]) -> list[tuple[ServedReply, ServedReply]]:
    """Pairs of replies from different servers whose answer windows overlap."""
    found: list[tuple[ServedReply, ServedReply]] = []
    running: list[ServedReply] = []
    for reply in served:
        running = [r for r in running if r.end > reply.start]
        for other in running:
            if other.server != reply.server and reply.start < min(other.end, reply.end):
                found.append((other, reply))
                if len(found) >= MAX_VIOLATIONS:
                    return found
        running.append(reply)
    return found


def at_most_one_active(history: list[Event], ctx: CheckContext) -> CheckResult:
    """Never two servers ACTIVE, or answering clients, at overlapping times.

    (a) ``state`` events: ACTIVE intervals (see ``timeline.active_intervals``;
    a paused node stays ACTIVE) of two servers overlap. (b) replies: two oks
    answered by different servers have overlapping answer windows (see
    :func:`served_replies`). Unknown with no state event and no mapped ok.
    """
    name = "at_most_one_active"
    end = run_end(history, ctx)
    intervals = active_intervals(history, end)
    served = served_replies(history, ctx)
    violations: list[dict[str, Any]] = []
    state_overlaps = _state_overlaps(intervals)
    for first, second, (start, stop) in state_overlaps[:MAX_VIOLATIONS]:
        violations.append(violation(
            f"{first} and {second} both ACTIVE from {start:.3f} to {stop:.3f}",
            nodes=[first, second], overlap=[start, stop],
        ))
    reply_overlaps = _reply_overlaps(served)
    for a, b in reply_overlaps[: MAX_VIOLATIONS - len(violations)]:
        violations.append(violation(
            f"{a.server} and {b.server} both answered between "
            f"{max(a.start, b.start):.3f} and {min(a.end, b.end):.3f}",
            a.ok, b.ok, nodes=[a.server, b.server],
            overlap=[max(a.start, b.start), min(a.end, b.end)],
        ))
    figures = {
        "active_intervals": {n: [[round(s, 6), round(e, 6)] for s, e in iv]
                             for n, iv in intervals.items()},
        "state_overlaps": len(state_overlaps),
        "reply_overlaps": len(reply_overlaps),
        "replies_by_server": _count_by_server(served),
    }
    return decide(
        name,
        violations,
        decided=bool(intervals) or bool(served),
        figures=figures,
        ok_message="never more than one server active or answering",
        unknown_message="no state event and no ok that names a known server",
    )


def _count_by_server(served: list[ServedReply]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reply in served:
        counts[reply.server] = counts.get(reply.server, 0) + 1
    return counts


def _was_serving(
    node: str,
    t: float,
    within: float,
    intervals: dict[str, list[Interval]],
    served: list[ServedReply],
) -> bool:
    """ACTIVE at ``t`` by its state events; for a node without any, it answered
    some client in the ``within`` seconds before ``t``."""
    if node in intervals:
        return contains(intervals[node], t)
    return any(r.server == node and t - within <= r.end <= t for r in served)


def _demand(ops: list[Operation], t: float, until: float) -> bool:
    """Did some client need a reply in [t, until]: an op open at t or invoked then?"""
    for op in ops:
        if op.invoke is None:
            continue
        invoked_at = op.invoke["t"]
        if t <= invoked_at <= until:
            return True
        resolved = [e["t"] for e in op.oks + op.fails]
        if invoked_at < t and (not resolved or min(resolved) > t):
            return True
    return False


def _back_at(history: list[Event], target: str, fault: str, t: float) -> float | None:
    """When a server hit by ``fault`` at ``t`` came back by itself, if it did:
    resumed after a pause, started again after a kill or stop."""
    for event in history:
        if event["t"] < t:
            continue
        kind, name = event.get("type"), event.get("fault")
        if fault == "pause":
            back = kind == "fault" and targets(event, target) and (
                (name == "resume" and is_apply(event)) or (name == "pause" and not is_apply(event))
            )
        else:
            back = (kind == "lifecycle" and event.get("event") == "start"
                    and targets(event, target)) or (
                kind == "fault" and targets(event, target) and (
                    (name == "start" and is_apply(event))
                    or (name in ("kill", "stop") and not is_apply(event))
                )
            )
        if back:
            return event["t"]
    return None


def failover_within(
    history: list[Event], ctx: CheckContext, *, within: float = 5.0
) -> CheckResult:
    """After the serving server is killed, stopped or paused, another answers in time.

    Some client must get an ok from another server within ``within`` seconds.

    A fault counts when its target was ACTIVE at that moment (by state
    events; a server without state events counts if it answered a client in
    the ``within`` seconds before). No such ok is a violation if clients
    wanted a reply in that window (an op open at the fault or invoked during
    it); otherwise, or when the run ended before the window closed, that
    fault is undecided. A server that comes back by itself (resumed, or
    started again) and answers before any other server does needed no
    failover: counted as ``recovered``. Unknown when no fault was decided.
    """
    name = "failover_within"
    end = run_end(history, ctx)
    intervals = active_intervals(history, end)
    served = served_replies(history, ctx)
    ops = list(operations(history).values())
    times: list[float] = []
    undecided = recovered = 0
    violations: list[dict[str, Any]] = []
    for fault in history:
        if (fault.get("type") != "fault" or not is_apply(fault)
                or fault.get("fault") not in FAILOVER_FAULTS):
            continue
        t = fault["t"]
        victims = named_nodes(fault.get("target"))
        for target in sorted(victims):
            if not _was_serving(target, t, within, intervals, served):
                continue
            takeover = min(
                (r for r in served if r.server not in victims and t < r.end <= t + within),
                key=lambda r: r.end,
                default=None,
            )
            back = _back_at(history, target, str(fault.get("fault")), t)
            own = None if back is None else min(
                (r for r in served if r.server == target and back < r.end <= t + within),
                key=lambda r: r.end,
                default=None,
            )
            if own is not None and (takeover is None or own.end < takeover.end):
                recovered += 1  # it came back and answered first: no failover was needed
            elif takeover is not None:
                times.append(takeover.end - t)
            elif end < t + within or not _demand(ops, t, t + within):
                undecided += 1
            else:
                violations.append(violation(
                    f"no reply from a server other than {target} within {seconds(within)} "
                    f"of its {fault.get('fault')} at {t:.3f}",
                    fault,
                ))
    figures = {
        "failover_times_s": [round(x, 6) for x in times],
        "median_s": round(statistics.median(times), 6) if times else None,
        "max_s": round(max(times), 6) if times else None,
        "faults_checked": len(times) + len(violations),
        "undecided": undecided,
        "recovered": recovered,
    }
    return decide(
        name,
        violations,
        decided=bool(times),
        figures=figures,
        ok_message=f"{len(times)} failover(s), worst {seconds(figures['max_s'])}",
        unknown_message="no kill/stop/pause of a serving server with client demand after it"
        + ("" if ctx.endpoint_owner else " (no endpoint_owner map: replies name no server)"),
    )
