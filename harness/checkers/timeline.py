"""What the harness's own events say about each node over time.

Several contracts need the same derived facts: when the run ended, when the
nemesis last touched the system, when a node was alive, paused or cut off,
and when a Binary Star server was ACTIVE. They live here once, as intervals
``(start, end)`` in run seconds, so every checker reads the harness's
``fault``/``lifecycle`` events the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.checkers.base import CheckContext, Event

Interval = tuple[float, float]

# Node-level faults that end a process (restart = kill, then a new process).
DEATH_FAULTS = frozenset({"kill", "stop", "restart"})
# Faults that can leave a node unable to reach (or be reached by) its peers.
CUTTING_FAULTS = frozenset(
    {"partition", "disconnect", "timeout", "reset_peer", "limit_data", "slicer"}
)


def run_end(history: Sequence[Event], ctx: CheckContext) -> float:
    """When the workload stopped: ``ctx.end``, else the last event, else the duration."""
    if ctx.end > 0:
        return ctx.end
    if history:
        return max(e["t"] for e in history)
    return ctx.duration


def fault_events(history: Iterable[Event]) -> list[Event]:
    return [e for e in history if e.get("type") == "fault"]


def is_apply(event: Event) -> bool:
    return event.get("phase", "apply") == "apply"


def named_nodes(value: Any) -> set[str]:
    """Node names a fault or lifecycle ``target`` mentions.

    The nemesis writes targets as text: ``worker-1,worker-2`` for process
    faults, ``client | broker`` for partition sides, ``a->b,c->d`` for links
    (both ends named; ``a->b:state`` is the link to b's ``state`` bind), ``all``
    for every link. Lists and mappings are
    searched recursively, so structured targets work too.
    """
    if isinstance(value, str):
        parts = value.replace("->", ",").replace("|", ",").split(",")
        # ``a->b:state`` names one of several links between a and b (node names have no ':')
        return {part.split(":", 1)[0].strip() for part in parts if part.split(":", 1)[0].strip()}
    names: set[str] = set()
    if isinstance(value, Mapping):
        for item in value.values():
            names |= named_nodes(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            names |= named_nodes(item)
    return names


def targets(event: Event, node: str) -> bool:
    """True when a ``fault``/``lifecycle`` event's target names ``node``."""
    target = event.get("target")
    if target == node:
        return True
    return node in named_nodes(target)


def last_heal(history: Sequence[Event], ctx: CheckContext) -> float | None:
    """When the nemesis last changed anything: the time of the last ``fault`` event.

    That is the last revert of a timed fault, the last ``heal``/``start``, or
    the apply of a fault that is never reverted (a kill with no later start:
    from then on the system must cope without that node). Without fault
    events the resolved schedule in ``ctx.faults`` is used (its last ``until``,
    or ``at`` for a fault never reverted). None when there were no faults.
    """
    faults = fault_events(history)
    if faults:
        return max(e["t"] for e in faults)
    times: list[float] = []
    for fault in ctx.faults:
        until = fault.get("until")
        at = fault.get("at")
        if isinstance(until, int | float):
            times.append(float(until))
        elif isinstance(at, int | float):
            times.append(float(at))
    return max(times) if times else None


def killed_by_nemesis(history: Iterable[Event]) -> dict[str, list[float]]:
    """node -> times a ``kill``/``stop``/``restart`` fault ended its process.

    Only the nemesis's faults count: the harness stopping clients at the end
    of a run is not a fault, so a client that hung until then is not excused.
    """
    deaths: dict[str, list[float]] = {}
    for event in history:
        if event.get("type") == "fault" and is_apply(event) and event.get("fault") in DEATH_FAULTS:
            for node in named_nodes(event.get("target")):
                deaths.setdefault(node, []).append(event["t"])
    return deaths


def _ends_process(event: Event, node: str) -> bool:
    """True when ``event`` ends ``node``'s current process (or starts a new one).

    A node's own ``fatal`` event counts: it announces that the node is exiting.
    """
    kind = event.get("type")
    if kind == "fatal":
        return event.get("node") == node
    if kind == "lifecycle" and targets(event, node):
        return event.get("event") in ("exit", "start")
    return (
        kind == "fault"
        and is_apply(event)
        and event.get("fault") in DEATH_FAULTS
        and targets(event, node)
    )


def _restarts_process(event: Event, node: str, has_lifecycle: bool) -> bool:
    """True when ``event`` brings up a new process of ``node``.

    With harness lifecycle events that is a ``start``; without them, a
    ``start``/``restart`` fault or the revert of a timed ``kill``/``stop``.
    """
    kind = event.get("type")
    if kind == "lifecycle":
        return event.get("event") == "start" and targets(event, node)
    if has_lifecycle or kind != "fault" or not targets(event, node):
        return False
    name = event.get("fault")
    if is_apply(event):
        return name in ("start", "restart")
    return name in ("kill", "stop")


def active_intervals(history: Sequence[Event], end: float) -> dict[str, list[Interval]]:
    """For every node that emitted ``state`` events, when it was ACTIVE.

    An ACTIVE interval runs from a ``state: ACTIVE`` event to the node's next
    state event, its process ending (its own ``fatal`` event, harness
    ``lifecycle`` exit or start of a new process, or a kill/stop/restart fault
    on it), or ``end``. A paused
    (SIGSTOP) node stays ACTIVE: it still believes it is, and resumes as such.
    State events a dying process wrote after the harness logged its kill (the
    fault is logged just before the signal) are ignored until a new process
    of that node starts.
    """
    nodes = {e["node"] for e in history if e.get("type") == "state"}
    result: dict[str, list[Interval]] = {}
    for node in sorted(nodes):
        has_lifecycle = any(e.get("type") == "lifecycle" and targets(e, node) for e in history)
        intervals: list[Interval] = []
        since: float | None = None
        dead = False
        for event in history:
            if event.get("type") == "state" and event.get("node") == node:
                if dead:
                    continue
                if event.get("state") == "ACTIVE":
                    if since is None:
                        since = event["t"]
                elif since is not None:
                    intervals.append((since, event["t"]))
                    since = None
                continue
            if _ends_process(event, node):
                if since is not None:
                    intervals.append((since, event["t"]))
                    since = None
                dead = not (event.get("type") == "lifecycle" and event.get("event") == "start")
            if _restarts_process(event, node, has_lifecycle):
                dead = False
        if since is not None:
            intervals.append((since, max(end, since)))
        result[node] = intervals
    return result


def alive_intervals(history: Sequence[Event], node: str, end: float) -> list[Interval]:
    """When ``node``'s process existed (paused or not).

    From harness ``lifecycle`` start/exit events, with kill/stop/restart fault
    applies also ending a process. A node the harness logged no lifecycle
    event for is taken as started at 0 and (re)started by ``start``/``restart``
    faults.
    """
    has_lifecycle = any(e.get("type") == "lifecycle" and targets(e, node) for e in history)
    alive_since: float | None = None if has_lifecycle else 0.0
    intervals: list[Interval] = []

    def close(t: float) -> None:
        nonlocal alive_since
        if alive_since is not None:
            intervals.append((alive_since, t))
            alive_since = None

    for event in history:
        kind = event.get("type")
        if kind == "lifecycle" and targets(event, node):
            if event.get("event") == "start":
                close(event["t"])
                alive_since = event["t"]
            elif event.get("event") == "exit":
                close(event["t"])
        elif kind == "fault" and targets(event, node):
            fault = event.get("fault")
            # kill/stop with ``for:`` are reverted by starting the node again
            starts = (fault == "start" and is_apply(event)) or (
                fault in ("kill", "stop") and not is_apply(event)
            )
            if fault in DEATH_FAULTS and is_apply(event):
                close(event["t"])
                if fault == "restart" and not has_lifecycle:
                    alive_since = event["t"]
            elif starts and not has_lifecycle and alive_since is None:
                alive_since = event["t"]
    close(max(end, alive_since) if alive_since is not None else end)
    return [(s, e) for s, e in intervals if e >= s]


def impaired_intervals(history: Sequence[Event], node: str, end: float) -> list[Interval]:
    """When ``node`` was paused, or named by a fault that can cut its links.

    A pause ends at a ``resume`` apply, the pause's revert, or the process
    ending. A cutting network fault (partition, disconnect, timeout, ...)
    naming the node, or a link with the node at either end, ends at its revert
    or at ``heal``. This over-approximates on purpose: a checker that needs a
    node healthy treats any doubt as not healthy, so it never flags a false
    violation.
    """
    intervals: list[Interval] = []
    paused_since: float | None = None
    open_cuts: dict[str, float] = {}  # fault name -> since

    for event in history:
        kind = event.get("type")
        if kind == "fault":
            fault = event.get("fault")
            apply = is_apply(event)
            names = named_nodes(event.get("target"))
            if fault == "pause" and node in names:
                if apply and paused_since is None:
                    paused_since = event["t"]
                elif not apply and paused_since is not None:
                    intervals.append((paused_since, event["t"]))
                    paused_since = None
            elif fault == "resume" and node in names and paused_since is not None:
                intervals.append((paused_since, event["t"]))
                paused_since = None
            elif fault == "heal":
                for since in open_cuts.values():
                    intervals.append((since, event["t"]))
                open_cuts.clear()
            elif fault in CUTTING_FAULTS and (node in names or "all" in names):
                if apply:
                    open_cuts.setdefault(str(fault), event["t"])
                elif fault in open_cuts:
                    intervals.append((open_cuts.pop(str(fault)), event["t"]))
        if paused_since is not None and _ends_process(event, node):
            intervals.append((paused_since, event["t"]))
            paused_since = None
    if paused_since is not None:
        intervals.append((paused_since, max(end, paused_since)))
    for since in open_cuts.values():
        intervals.append((since, max(end, since)))
    return sorted(intervals)


def overlap(a: Interval, b: Interval) -> Interval | None:
    """The common part of two intervals, if it has positive length."""
    start, stop = max(a[0], b[0]), min(a[1], b[1])
    return (start, stop) if start < stop else None


def intersects(intervals: Iterable[Interval], start: float, stop: float) -> bool:
    """True when some interval shares at least one instant with [start, stop]."""
    return any(s <= stop and e >= start for s, e in intervals)


def covers(intervals: Iterable[Interval], start: float, stop: float) -> bool:
    """True when the union of ``intervals`` contains all of [start, stop]."""
    reach = start
    for s, e in sorted(intervals):
        if s > reach:
            break
        if e >= reach:
            reach = e
            if reach >= stop:
                return True
    return False


def contains(intervals: Iterable[Interval], t: float) -> bool:
    return any(s <= t <= e for s, e in intervals)
