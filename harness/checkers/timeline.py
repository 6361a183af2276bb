"""What the harness's own events say about each node over time: facts, not rules.

Several contracts need the same derived facts: when the run ended, when each
fault was in force, when a node's process existed, when it was paused, cut
off or dying, and when a Binary Star server was ACTIVE. They live here once,
as intervals ``(start, end)`` in run seconds, so every checker reads the
harness's ``fault``/``lifecycle`` events the same way. The judgements built
on these facts (deadlines, excuses, decidability) are in :mod:`rules`.

Process lifetimes (the lead's decision 2): a node's process exists from the
harness's ``lifecycle start`` to its ``lifecycle exit``, which the harness
writes when the runtime reports the process gone. A ``stop`` (SIGTERM, up to
seconds of grace) or a node's own ``fatal`` event does not end it; only the
exit does. Fault events stand in for lifecycle events only for a node the
history has no lifecycle event for (older histories, hand-made ones).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import CheckContext, Event

Interval = tuple[float, float]

# Node-level faults that end a process (restart = kill, then a new process).
DEATH_FAULTS = frozenset({"kill", "stop", "restart"})
# Faults on links. Each of them can delay or drop what crosses a link long
# enough for a peer to give up on it (a 10 s latency toxic outlasts any
# heartbeat expiry), so every one of them counts as impairing both ends.
NETWORK_FAULTS = frozenset({
    "partition", "disconnect", "timeout", "reset_peer", "limit_data", "slicer",
    "latency", "bandwidth", "slow_close",
})
HEAL = "heal"
# Longest a stopped process may take to exit after SIGTERM (the runtimes' stop
# timeout): used only when its exit was never logged.
STOP_GRACE = 5.0


def run_end(history: Sequence[Event], ctx: CheckContext) -> float:
    """When the workload stopped: ``ctx.end``, else the last event, else the duration."""
    if ctx.end > 0:
        return ctx.end
    if history:
        return max(e["t"] for e in history)
    return ctx.duration


def horizon(history: Sequence[Event], ctx: CheckContext) -> float:
    """Until when processes still running at the end lived: the run end or the
    last event, whichever is later. Nodes go on working while the harness
    stops clients and tears the run down, and what they do then is real."""
    return max([run_end(history, ctx), *(e["t"] for e in history)])


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


def _fault_key(event: Event) -> str:
    """What tells one fault from another: its position in the schedule (``index``,
    which the harness writes on every apply and revert), else its name, target
    and parameters (stream, toxic attributes), so two ``timeout`` toxics on one
    link are two."""
    index = event.get("index")
    if isinstance(index, int) and not isinstance(index, bool):
        return f"#{index}"
    return json.dumps([event.get("fault"), event.get("target"), event.get("stream"),
                       event.get("params")], sort_keys=True, default=str)


# Faults that are one action at one instant: nothing to revert.
INSTANT_FAULTS = frozenset({HEAL, "start", "resume", "restart"})
# Instant faults that end earlier faults still in force: a heal ends every
# network fault; a resume ends a pause, a start a kill or stop, of its targets.
_ENDED_BY = {HEAL: NETWORK_FAULTS, "resume": frozenset({"pause"}),
             "start": frozenset({"kill", "stop"})}


@dataclass(frozen=True)
class FaultWindow:
    """One fault: applied at ``start``, reverted at ``stop`` (None: never, in this run)."""

    start: float
    stop: float | None
    event: Event  # the apply event (the evidence a violation can name)

    @property
    def name(self) -> str:
        return str(self.event.get("fault"))

    def until(self, otherwise: float) -> float:
        """The end of the window, ``otherwise`` when the fault was never reverted."""
        return self.stop if self.stop is not None else otherwise


def fault_windows(history: Sequence[Event], ctx: CheckContext) -> list[FaultWindow]:
    """Every fault the nemesis applied, with when it was reverted, sorted by start.

    An apply is paired with the first later revert of the same fault (same
    name, target and parameters); a ``heal`` ends every network fault still in
    force, a ``resume`` the pauses of its targets, a ``start`` their kills and
    stops. ``heal``, ``start``, ``resume`` and ``restart`` are instants (their
    window ends where it starts). A fault never reverted (a ``kill`` with no
    ``for:``, a toxic left in place) has ``stop`` None. A revert with no apply
    before it is ignored. Without any fault event in the history, the resolved
    schedule in ``ctx.faults`` is used (``at`` to ``until``).
    """
    faults = fault_events(history)
    found: list[FaultWindow] = []
    if not faults:
        for fault in ctx.faults:
            at, until = fault.get("at"), fault.get("until")
            if isinstance(at, bool) or not isinstance(at, int | float):
                continue
            event = {"t": float(at), "node": "harness", "type": "fault", "phase": "apply",
                     "fault": fault.get("fault"), "target": fault.get("target")}
            stop = float(until) if isinstance(until, int | float) and until >= at else None
            if fault.get("fault") in INSTANT_FAULTS:
                stop = float(at)
            found.append(FaultWindow(float(at), stop, event))
        return sorted(found, key=lambda w: w.start)
    open_faults: dict[str, list[Event]] = {}
    for event in faults:
        name = event.get("fault")
        t = event["t"]
        if is_apply(event):
            ended = _ENDED_BY.get(str(name))
            if ended is not None:
                hit = named_nodes(event.get("target"))
                for key in [k for k, v in open_faults.items() if v and v[0].get("fault") in ended
                            and (name == HEAL or hit & named_nodes(v[0].get("target")))]:
                    found.extend(FaultWindow(a["t"], t, a) for a in open_faults.pop(key))
            if name in INSTANT_FAULTS:
                found.append(FaultWindow(t, t, event))
            else:
                open_faults.setdefault(_fault_key(event), []).append(event)
            continue
        pending = open_faults.get(_fault_key(event))
        if pending:
            applied = pending.pop(0)
            found.append(FaultWindow(applied["t"], t, applied))
    for pending in open_faults.values():
        found.extend(FaultWindow(a["t"], None, a) for a in pending)
    return sorted(found, key=lambda w: w.start)


def heal_time(windows: Sequence[FaultWindow]) -> float | None:
    """The latest end of any fault window (a never-reverted fault ends where it began)."""
    return max((w.until(w.start) for w in windows), default=None)


def last_heal(history: Sequence[Event], ctx: CheckContext) -> float | None:
    """When the nemesis last changed anything: the latest end of a fault window.

    That is the last revert of a timed fault, the last ``heal``/``start``, or
    the apply of a fault that is never reverted (a kill with no later start:
    from then on the system must cope without that node). None without faults.
    """
    return heal_time(fault_windows(history, ctx))


def killed_by_nemesis(history: Iterable[Event]) -> dict[str, list[float]]:
    """node -> times a ``kill``/``stop``/``restart`` fault was applied to it.

    Only the nemesis's faults count: the harness stopping clients at the end
    of a run is not a fault, so a client that hung until then is not excused.
    """
    deaths: dict[str, list[float]] = {}
    for event in history:
        if event.get("type") == "fault" and is_apply(event) and event.get("fault") in DEATH_FAULTS:
            for node in named_nodes(event.get("target")):
                deaths.setdefault(node, []).append(event["t"])
    return deaths


def started_after(history: Iterable[Event], node: str, t: float) -> bool:
    """True when a new process of ``node`` was started after ``t`` (lifecycle
    start, or a ``start``/``restart`` fault, or the revert of a timed kill/stop)."""
    for event in history:
        if event["t"] <= t or not targets(event, node):
            continue
        kind = event.get("type")
        if kind == "lifecycle" and event.get("event") == "start":
            return True
        if kind == "fault":
            name = event.get("fault")
            if (is_apply(event) and name in ("start", "restart")) or (
                    not is_apply(event) and name in ("kill", "stop")):
                return True
    return False


def _lifecycle_lives(history: Sequence[Event], node: str, end: float) -> list[Interval]:
    """Process lifetimes from lifecycle events (the truthful record).

    A process runs from a ``start`` to its ``exit`` (an exit naming another
    incarnation than the running one is ignored) or the next ``start``. A
    node whose first lifecycle event is an ``exit`` was alive from 0. Should
    the exit of a killed or stopped process never be logged, it is taken as
    gone at its SIGKILL (``kill``, ``restart``) or at most :data:`STOP_GRACE`
    after its SIGTERM (``stop``), and at the latest when a new one starts.
    """
    lives: list[Interval] = []
    since: float | None = None
    incarnation: Any = None
    death: float | None = None  # when a kill/stop without a logged exit ended it
    first = True

    def close(at: float) -> None:
        nonlocal since, death
        if since is not None:
            lives.append((since, min(at, death) if death is not None else at))
        since = death = None

    for event in history:
        kind = event.get("type")
        if kind == "fault" and is_apply(event) and event.get("fault") in DEATH_FAULTS \
                and targets(event, node):
            if since is not None and death is None:
                grace = STOP_GRACE if event.get("fault") == "stop" else 0.0
                death = event["t"] + grace
            continue
        if kind != "lifecycle" or not targets(event, node):
            continue
        what = event.get("event")
        if what == "start":
            close(event["t"])
            since, incarnation = event["t"], event.get("incarnation")
        elif what == "exit":
            exiting = event.get("incarnation")
            if exiting is not None and incarnation is not None and exiting != incarnation:
                continue
            if since is None and first:
                since = 0.0
            death = None  # the exit is the truth
            close(event["t"])
        first = False
    close(max(end, since) if since is not None else end)
    return lives


def _fault_lives(history: Sequence[Event], node: str, end: float) -> list[Interval]:
    """Process lifetimes guessed from fault events (no lifecycle event for the node):
    alive from 0; a kill/stop/restart ends the process at the fault; a start,
    restart or the revert of a timed kill/stop starts a new one."""
    lives: list[Interval] = []
    since: float | None = 0.0
    for event in history:
        if event.get("type") != "fault" or not targets(event, node):
            continue
        name, t = event.get("fault"), event["t"]
        if is_apply(event) and name in DEATH_FAULTS:
            if since is not None:
                lives.append((since, t))
            since = t if name == "restart" else None
        elif since is None and ((is_apply(event) and name == "start") or (
                not is_apply(event) and name in ("kill", "stop"))):
            since = t
    if since is not None:
        lives.append((since, max(end, since)))
    return lives


def alive_intervals(history: Sequence[Event], node: str, end: float) -> list[Interval]:
    """When ``node``'s process existed (paused or not, stopping or not).

    From ``lifecycle`` start/exit when the history has any for the node (see
    :func:`_lifecycle_lives`), else from fault events (see
    :func:`_fault_lives`). A node that wrote events before its first
    lifecycle ``start`` gets fault-based lifetimes for that earlier part.
    """
    first = next((e for e in history
                  if e.get("type") == "lifecycle" and targets(e, node)), None)
    if first is None:
        lives = _fault_lives(history, node, end)
    else:
        lives = []
        if first.get("event") == "start" and any(
                e.get("node") == node and e["t"] < first["t"] for e in history):
            before = [e for e in history if e["t"] < first["t"]]
            lives += [(s, min(e, first["t"])) for s, e in _fault_lives(before, node, first["t"])]
        lives += _lifecycle_lives(history, node, end)
    return [(s, e) for s, e in lives if e >= s]


def active_intervals(history: Sequence[Event], end: float) -> dict[str, list[Interval]]:
    """For every node that emitted ``state`` events, when it was ACTIVE.

    An ACTIVE interval runs from a ``state: ACTIVE`` event to the node's next
    state event, or to the end of its process (see :func:`alive_intervals`:
    its ``lifecycle exit``, not the ``stop`` that asked it to go nor its own
    ``fatal``), or ``end``. A paused (SIGSTOP) node stays ACTIVE: it still
    believes it is, and resumes as such. State events outside the node's
    process lifetimes (a dying process's last words after its kill, when
    only fault events tell when it died) are ignored.
    """
    nodes = sorted({e["node"] for e in history if e.get("type") == "state"})
    result: dict[str, list[Interval]] = {}
    for node in nodes:
        lives = alive_intervals(history, node, end)
        states = [e for e in history if e.get("type") == "state" and e.get("node") == node]
        intervals: list[Interval] = []
        for start, stop in lives:
            since: float | None = None
            for event in states:
                t = event["t"]
                if t < start or t > stop:
                    continue
                if event.get("state") == "ACTIVE":
                    if since is None:
                        since = t
                elif since is not None:
                    intervals.append((since, t))
                    since = None
            if since is not None:
                intervals.append((since, stop))
        result[node] = intervals
    return result


def impaired_intervals(history: Sequence[Event], node: str, end: float) -> list[Interval]:
    """When ``node`` was paused, dying, or named by a network fault.

    Paused: from ``pause`` to ``resume``, the pause's revert, or its process
    ending. Dying: from a kill/stop/restart fault on it until its process is
    gone (a stopping node may already have said goodbye to its peers).
    Network: any fault of :data:`NETWORK_FAULTS` naming the node, a link with
    the node at either end, or ``all``, from its apply to its own revert or a
    ``heal`` (each fault tracked apart, so one revert never ends another).
    This over-approximates on purpose: a checker that needs a node healthy
    treats any doubt as not healthy, so it never flags a false violation.
    """
    intervals: list[Interval] = []
    lives = alive_intervals(history, node, end)

    def process_end(t: float) -> float:
        for start, stop in lives:
            if start <= t <= stop:
                return stop
        return t

    paused_since: float | None = None
    for event in history:
        if event.get("type") != "fault" or not targets(event, node):
            continue
        name, t = event.get("fault"), event["t"]
        if name == "pause":
            if is_apply(event) and paused_since is None:
                paused_since = t
            elif not is_apply(event) and paused_since is not None:
                intervals.append((paused_since, t))
                paused_since = None
        elif name == "resume" and paused_since is not None:
            intervals.append((paused_since, t))
            paused_since = None
        elif name in DEATH_FAULTS and is_apply(event):
            intervals.append((t, max(t, process_end(t))))
            if paused_since is not None:
                intervals.append((paused_since, t))
                paused_since = None
    if paused_since is not None:
        intervals.append((paused_since, max(end, process_end(paused_since))))
    for window in fault_windows(history, CheckContext(nodes={})):
        names = named_nodes(window.event.get("target"))
        if window.name in NETWORK_FAULTS and (node in names or "all" in names):
            intervals.append((window.start, max(window.start, window.until(end))))
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


def strictly_inside(intervals: Iterable[Interval], t: float) -> bool:
    """True when ``t`` lies inside some interval, not on its ends."""
    return any(s < t < e for s, e in intervals)
