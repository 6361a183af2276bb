"""Facts the one-way contracts share: fault windows, a node's upstream path, process lives.

Pub-sub and the pipeline have no retries, so their contracts ask *where* a
fault was, not just *whether* there was one: a subscriber may lose messages
while a fault sits on its own path (its link, its proxy, the publisher), and
only then. This module derives, from the history and :class:`CheckContext`:

- :func:`fault_windows`: each fault as an interval with what it touched.
  From the harness's ``fault`` events (times the faults took effect) when
  the history has them, else from the resolved schedule in ``ctx.faults``.
  A kill/stop lasts until the node's next start; a timed fault until its
  revert; a fault never reverted until ``heal`` or the end.
- :func:`upstream`: the nodes and connect edges a node reaches by following
  ``connect`` (a subscriber -> its proxy -> the publisher), i.e. the path
  its messages travel.
- :func:`lives`: when each process of a node ran, from ``lifecycle`` events.

Pure functions of their arguments, like every checker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from harness.checkers.base import CheckContext, Event

Edge = tuple[str, str]  # (source node, target node)

INSTANT_FAULTS = frozenset({"start", "restart", "heal", "resume"})
DOWN_FAULTS = frozenset({"kill", "stop"})


@dataclass(frozen=True)
class Window:
    """One fault as an interval (run seconds) and what it touched."""

    start: float
    end: float
    fault: str
    target: str
    nodes: frozenset[str] = frozenset()
    edges: frozenset[Edge] = frozenset()
    sides: tuple[frozenset[str], ...] = ()

    def touches(self, nodes: set[str], edges: set[Edge]) -> bool:
        """True when this fault hits one of ``nodes`` or one of ``edges``."""
        if self.nodes & nodes or self.edges & edges:
            return True
        for source, target in edges:
            side_of = [i for i, side in enumerate(self.sides) if source in side]
            side_to = [i for i, side in enumerate(self.sides) if target in side]
            if side_of and side_to and side_of[0] != side_to[0]:
                return True
        return False

    def excuses(self, t: float, grace: float) -> bool:
        """True when ``t`` lies in the window widened by ``grace`` on both sides."""
        return self.start - grace <= t <= self.end + grace


@dataclass
class _Parsed:
    nodes: set[str] = field(default_factory=set)
    edges: set[Edge] = field(default_factory=set)
    sides: list[frozenset[str]] = field(default_factory=list)


def parse_target(target: object) -> _Parsed:
    """What a fault's ``target`` text names: nodes, links (``a->b``, ``a->b:port``) or sides.

    The nemesis writes ``w-1,w-2`` for process faults, ``a->b,c->d`` for
    links, ``a,b | c`` for partition sides; the resolved schedule writes
    partitions as their links.
    """
    parsed = _Parsed()
    if isinstance(target, list | tuple):
        target = ",".join(str(t) for t in target)
    if not isinstance(target, str):
        return parsed
    if "|" in target:
        parsed.sides = [frozenset(n.strip() for n in side.split(",") if n.strip())
                        for side in target.split("|")]
        return parsed
    for item in (part.strip() for part in target.split(",")):
        if "->" in item:
            source, _, rest = item.partition("->")
            parsed.edges.add((source.strip(), rest.split(":", 1)[0].strip()))
        elif item:
            parsed.nodes.add(item)
    return parsed


def _window(start: float, end: float, fault: str, target: object) -> Window:
    parsed = parse_target(target)
    return Window(start, max(start, end), fault, str(target), frozenset(parsed.nodes),
                  frozenset(parsed.edges), tuple(parsed.sides))


#: How long after its exec a restarted node's first own event still counts as "it is up".
STARTUP_BOUND_S = 3.0


def _up_after(history: Sequence[Event], node: str, started: float) -> float:
    """When a node started at ``started`` was up: its first own trace event (a role writes
    one as it binds or connects: ``proxy``, ``subscribe``, ``ready``, ``serving``),
    if that came within :data:`STARTUP_BOUND_S`, else ``started``.

    A restart's outage lasts until the new process runs its role, not until it
    was exec'd: a Python role took 1.1 s from exec to bind on a busy machine
    (pubsub-proxy-restart at -j 6, load 17), and the messages published in
    that second were charged as losses outside any fault window.
    """
    for event in history:
        t = event["t"]
        if t < started:
            continue
        if t > started + STARTUP_BOUND_S:
            break
        if event.get("node") == node:
            return float(t)
    return started


def _next_start(history: Sequence[Event], node: str, after: float) -> float | None:
    """When ``node`` was next up after ``after``: from its lifecycle start (the process
    really runs) to its first own event (:func:`_up_after`), else a start/restart
    fault's apply (a history without lifecycle)."""
    fallback: float | None = None
    for event in history:
        if event["t"] <= after:
            continue
        kind = event.get("type")
        if kind == "lifecycle" and event.get("target") == node and event.get("event") == "start":
            return _up_after(history, node, event["t"])
        if (fallback is None and kind == "fault" and event.get("phase", "apply") == "apply"
                and event.get("fault") in ("start", "restart")
                and node in parse_target(event.get("target")).nodes):
            fallback = event["t"]
    return fallback


def _windows_from_events(history: Sequence[Event], end: float) -> list[Window]:
    faults = [e for e in history if e.get("type") == "fault"]
    windows: list[Window] = []
    used: set[int] = set()
    for i, event in enumerate(faults):
        if event.get("phase", "apply") != "apply":
            continue
        name, target, t = str(event.get("fault")), event.get("target"), event["t"]
        if name in INSTANT_FAULTS:
            windows.append(_window(t, t, name, target))
            continue
        stop: float | None = None
        for j in range(i + 1, len(faults)):
            other = faults[j]
            if j in used:
                continue
            reverted = (other.get("phase") == "revert" and other.get("fault") == name
                        and other.get("target") == target)
            healed = other.get("fault") == "heal" and name not in DOWN_FAULTS | {"pause"}
            resumed = (name == "pause" and other.get("fault") == "resume"
                       and parse_target(other.get("target")).nodes
                       & parse_target(target).nodes)
            if reverted or healed or resumed:
                stop = other["t"]
                if reverted:
                    used.add(j)
                break
        if name in DOWN_FAULTS:
            starts = [s for n in parse_target(target).nodes
                      if (s := _next_start(history, n, t)) is not None]
            stop = max(starts) if starts else None
        windows.append(_window(t, end if stop is None else stop, name, target))
    return windows


def _windows_from_schedule(ctx: CheckContext, end: float) -> list[Window]:
    windows: list[Window] = []
    entries = sorted(ctx.faults, key=lambda f: float(f.get("at", 0.0)))
    for i, fault in enumerate(entries):
        name, target = str(fault.get("fault")), fault.get("target")
        at = float(fault.get("at", 0.0))
        until = fault.get("until")
        if isinstance(until, int | float):
            stop = float(until)
        elif name in INSTANT_FAULTS:
            stop = at
        else:
            stop = end
            nodes = parse_target(target).nodes
            for later in entries[i + 1:]:
                later_name = later.get("fault")
                later_nodes = parse_target(later.get("target")).nodes
                if ((name in DOWN_FAULTS and later_name in ("start", "restart"))
                        or (name == "pause" and later_name == "resume")) and nodes & later_nodes:
                    stop = float(later.get("at", end))
                    break
                if later_name == "heal" and name not in DOWN_FAULTS | {"pause"}:
                    stop = float(later.get("at", end))
                    break
        windows.append(_window(at, stop, name, target))
    return windows


def fault_windows(history: Sequence[Event], ctx: CheckContext, end: float) -> list[Window]:
    """Every fault of the run as a :class:`Window`, in time order."""
    if any(e.get("type") == "fault" for e in history):
        windows = _windows_from_events(history, end)
    else:
        windows = _windows_from_schedule(ctx, end)
    return sorted(windows, key=lambda w: w.start)


def upstream(ctx: CheckContext, node: str) -> tuple[set[str], set[Edge]]:
    """The nodes and edges reached from ``node`` along ``connect`` (``node`` included)."""
    nodes = {node}
    edges: set[Edge] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        facts = ctx.nodes.get(current)
        for target in facts.connects if facts is not None else ():
            edges.add((current, target))
            if target not in nodes:
                nodes.add(target)
                todo.append(target)
    return nodes, edges


def lives(history: Iterable[Event], node: str, end: float) -> list[tuple[float, float]]:
    """When ``node``'s processes ran, from ``lifecycle`` start/exit events (empty if none)."""
    spans: list[tuple[float, float]] = []
    since: float | None = None
    for event in history:
        if event.get("type") != "lifecycle" or event.get("target") != node:
            continue
        if event.get("event") == "start":
            if since is not None:
                spans.append((since, event["t"]))
            since = event["t"]
        elif event.get("event") == "exit" and since is not None:
            spans.append((since, event["t"]))
            since = None
    if since is not None:
        spans.append((since, max(end, since)))
    return spans


def run_end(history: Sequence[Event], ctx: CheckContext) -> float:
    """When the workload stopped: ``ctx.end``, else the last event, else the duration."""
    if ctx.end > 0:
        return ctx.end
    if history:
        return max(e["t"] for e in history)
    return ctx.duration
