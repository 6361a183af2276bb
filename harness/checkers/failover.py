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
from itertools import combinations

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.rules import ServedReply, served_replies, unresolved_at
from harness.checkers.timeline import (
    Interval,
    active_intervals,
    contains,
    covers,
    horizon,
    intersects,
    is_apply,
    named_nodes,
    overlap,
    run_end,
    strictly_inside,
    targets,
)
from harness.checkers.verdicts import Violations, decide, seconds
from harness.history import Operation, operations

# Faults after which another server must take over.
FAILOVER_FAULTS = frozenset({"kill", "stop", "pause", "restart"})


def _opening_state(history: list[Event], node: str, t: float) -> Event | None:
    """The ``state: ACTIVE`` event of ``node`` that opened its ACTIVE interval at ``t``."""
    for event in history:
        if (event.get("type") == "state" and event.get("node") == node
                and event["t"] == t and event.get("state") == "ACTIVE"):
            return event
    return None


def _pair(ctx: CheckContext, intervals: dict[str, list[Interval]],
          served: list[ServedReply]) -> set[str]:
    """The servers the contract is about: those clients connect to, those that
    emitted states, and those clients heard from."""
    pair = set(intervals) | {r.server for r in served}
    for facts in ctx.clients():
        pair |= {t for t in facts.connects
                 if t in ctx.nodes and ctx.nodes[t].kind == "server"}
    return pair


def _served_instants(history: list[Event], pair: set[str]) -> list[Event]:
    """``handled`` events of the pair's servers: the exact moment each answered."""
    return [e for e in history if e.get("type") == "handled" and e.get("node") in pair]


def at_most_one_active(history: list[Event], ctx: CheckContext) -> CheckResult:
    """Never two servers ACTIVE, and no server answering while another is ACTIVE.

    Evidence of a split brain, each flagged: (a) two servers' ACTIVE intervals
    overlap (from ``state`` events; a server is ACTIVE until its next state
    or until its process is gone, a paused one included); (b) a server
    answered while another was ACTIVE: a ``handled`` event strictly inside
    the other's ACTIVE interval, or an accepted reply whose whole answer
    window (``rules.served_replies``) lies inside it; (c) a server that emits
    states answered while not ACTIVE by its own states. Overlapping answer
    windows alone prove nothing (a reply may be delivered long after it was
    sent). Unknown when nothing was seen, or when a server of the pair (the
    servers clients connect to, emit states or are answered by) never
    emitted a state: it may have been ACTIVE unseen.
    """
    name = "at_most_one_active"
    intervals = active_intervals(history, horizon(history, ctx))
    served = served_replies(history, ctx)
    pair = _pair(ctx, intervals, served)
    violations = Violations()
    state_overlaps = 0
    for first, second in combinations(sorted(intervals), 2):
        for a in intervals[first]:
            for b in intervals[second]:
                common = overlap(a, b)
                if common is None:
                    continue
                state_overlaps += 1
                violations.add(
                    f"{first} and {second} both ACTIVE from {common[0]:.3f} to {common[1]:.3f}",
                    _opening_state(history, first, a[0]), _opening_state(history, second, b[0]),
                    nodes=[first, second], overlap=[common[0], common[1]],
                )
    while_other = while_not = 0
    for event in _served_instants(history, pair):
        node, t = str(event.get("node")), event["t"]
        for other, spans in sorted(intervals.items()):
            if other != node and strictly_inside(spans, t):
                while_other += 1
                violations.add(f"{node} handled {event.get('op')!r} at {t:.3f} while {other} "
                               f"was ACTIVE", event, nodes=[node, other], overlap=[t, t])
        if node in intervals and not contains(intervals[node], t):
            while_not += 1
            violations.add(f"{node} handled {event.get('op')!r} at {t:.3f} while not ACTIVE",
                           event, nodes=[node], overlap=[t, t])
    for reply in served:
        for other, spans in sorted(intervals.items()):
            if other != reply.server and covers(spans, reply.start, reply.end):
                while_other += 1
                violations.add(
                    f"{reply.server} answered {reply.ok.get('op')!r} between {reply.start:.3f} "
                    f"and {reply.end:.3f} while {other} was ACTIVE throughout",
                    reply.ok, nodes=[reply.server, other], overlap=[reply.start, reply.end])
        own = intervals.get(reply.server)
        if own is not None and not intersects(own, reply.start, reply.end):
            while_not += 1
            violations.add(
                f"{reply.server} answered {reply.ok.get('op')!r} between {reply.start:.3f} and "
                f"{reply.end:.3f} while not ACTIVE", reply.ok, nodes=[reply.server],
                overlap=[reply.start, reply.end])
    silent = sorted(pair - set(intervals))
    figures = {
        "active_intervals": {n: [[round(s, 6), round(e, 6)] for s, e in iv]
                             for n, iv in intervals.items()},
        "state_overlaps": state_overlaps,
        "answers_while_other_active": while_other,
        "answers_while_not_active": while_not,
        "replies_by_server": _count_by_server(served),
        "silent_servers": silent,
    }
    if silent:
        unknown = (f"{', '.join(silent)} emitted no state event: it may have been ACTIVE "
                   "without anyone seeing it")
    else:
        unknown = "no state event and no ok that names a known server"
    return decide(
        name,
        violations,
        decided=bool(intervals) and not silent,
        figures=figures,
        ok_message="never more than one server active or answering",
        unknown_message=unknown,
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
        if t <= op.invoke["t"] <= until or unresolved_at(op, t):
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
    intervals = active_intervals(history, horizon(history, ctx))
    served = served_replies(history, ctx)
    ops = list(operations(history).values())
    times: list[float] = []
    undecided = recovered = 0
    violations = Violations()
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
                violations.add(
                    f"no reply from a server other than {target} within {seconds(within)} "
                    f"of its {fault.get('fault')} at {t:.3f}",
                    fault,
                )
    figures = {
        "failover_times_s": [round(x, 6) for x in times],
        "median_s": round(statistics.median(times), 6) if times else None,
        "max_s": round(max(times), 6) if times else None,
        "faults_checked": len(times) + violations.total,
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
