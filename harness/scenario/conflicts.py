"""Conflicts between faults: what would make a run meaningless or fight inside Toxiproxy.

Each fault alone may be fine while the schedule is not: a start of a node
that is already running, a resume without a pause, two faults on one node at
once, two toxics of one type on one link and stream at once, two partitions
at once. Every message names both faults' lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.durations import format_duration
from harness.scenario.errors import Issues
from harness.scenario.model import NETWORK_ACTIONS, STREAMS, Fault, Node
from harness.scenario.world import World, plus


def _fmt(seconds: float) -> str:
    return format_duration(seconds)


@dataclass
class _Span:
    """A fault's active time on one resource: [start, end), or the instant ``start``."""

    index: int  # YAML index, for the error path
    fault: Fault
    start: float
    end: float
    point: bool

    def overlaps(self, other: _Span) -> bool:
        if self.point and other.point:
            return self.start == other.start
        if self.point:
            return other.start <= self.start < other.end
        if other.point:
            return self.start <= other.start < self.end
        return self.start < other.end and other.start < self.end

    def describe(self) -> str:
        f = self.fault
        span = f" for {_fmt(f.duration)}" if f.duration is not None else ""
        return f"{f.action} at {_fmt(f.at)}{span} (line {f.line})"


def _process_spans(faults: list[tuple[int, Fault]], world: World) -> dict[str, list[_Span]]:
    spans: dict[str, list[_Span]] = {}
    for index, fault in faults:
        if not fault.is_process:
            continue
        for node in fault.targets:
            if fault.duration is not None:
                span = _Span(index, fault, fault.at, plus(fault.at, fault.duration), False)
            elif fault.action == "pause":
                resumes = [f.at for _, f in faults
                           if f.action == "resume" and node in f.targets and f.at > fault.at]
                span = _Span(index, fault, fault.at, min(resumes, default=world.duration), False)
            else:
                span = _Span(index, fault, fault.at, fault.at, True)
            spans.setdefault(node, []).append(span)
    return spans


def _check_process_overlaps(spans: dict[str, list[_Span]], issues: Issues) -> set[str]:
    bad: set[str] = set()
    for node, items in spans.items():
        for j, later in enumerate(items):
            for earlier in items[:j]:
                if later.overlaps(earlier):
                    first, second = sorted((earlier, later), key=lambda s: (s.start, s.index))
                    issues.add(("faults", second.index),
                               f"{second.describe()} overlaps {first.describe()} on {node}; "
                               "a node takes one process fault at a time")
                    bad.add(node)
    return bad


def _simulate(node: Node, spans: list[_Span], issues: Issues) -> None:
    """Walk the node's process faults in time order, checking each one's precondition."""
    steps: list[tuple[float, int, int, str, _Span]] = []
    for span in spans:
        steps.append((span.fault.at, 1, span.index, span.fault.action, span))
        if span.fault.duration is not None:
            undo = {"kill": "start", "stop": "start", "pause": "resume"}[span.fault.action]
            steps.append((span.end, 0, span.index, "revert-" + undo, span))
    steps.sort(key=lambda s: (s[0], s[1], s[2]))
    state = "running" if node.autostart else "down"
    why = "it starts with the scenario" if node.autostart else "it has start: false"
    for at, _, index, action, span in steps:
        where = ("faults", index)
        act = action.removeprefix("revert-")
        problem = None
        if act in ("kill", "stop", "restart") and state == "down":
            problem = f"{node.name} is not running then ({why})"
        elif act == "start" and state != "down":
            problem = f"{node.name} is already running then ({why})"
            if node.autostart and state == "running" and why.startswith("it starts"):
                problem += "; add start: false to the node to start it later"
        elif act == "pause" and state != "running":
            problem = f"{node.name} is {'already paused' if state == 'paused' else 'not running'}"\
                      f" then ({why})"
        elif act == "resume" and state != "paused":
            problem = f"resume of {node.name} without a prior pause"
        if problem is not None:
            if action.startswith("revert-"):
                problem = f"reverting {span.describe()} at {_fmt(at)}: {problem}"
            elif act != "resume":
                problem = f"{act} of {node.name} at {_fmt(at)}: {problem}"
            else:
                problem += f" (at {_fmt(at)})"
            issues.add(where, problem)
            return
        state = {"kill": "down", "stop": "down", "start": "running", "restart": "running",
                 "pause": "paused", "resume": "running"}[act]
        verb = {"kill": "killed", "stop": "stopped", "start": "started", "restart": "restarted",
                "pause": "paused", "resume": "resumed"}[act]
        how = "when " + span.describe() + " ends" if action.startswith("revert-") else \
            f"line {span.fault.line}"
        why = f"{verb} at {_fmt(at)}, {how}"


def _network_keys(fault: Fault) -> set[tuple[str, ...]]:
    if fault.action == "partition":
        keys = {(link, "timeout", s) for link in fault.links for s in STREAMS["both"]}
        return keys | {("<partition>",)}
    if fault.action == "disconnect":
        return {(link, "disconnect") for link in fault.links}
    return {(link, fault.action, s) for link in fault.links for s in STREAMS[fault.stream]}


def _check_network_overlaps(faults: list[tuple[int, Fault]], world: World,
                            issues: Issues) -> None:
    heals = sorted(f.at for _, f in faults if f.action == "heal")
    spans: list[tuple[_Span, set[tuple[str, ...]]]] = []
    for index, fault in faults:
        if fault.action not in NETWORK_ACTIONS or fault.action == "heal":
            continue
        end = world.duration if fault.duration is None else plus(fault.at, fault.duration)
        end = min([end, *(h for h in heals if h > fault.at)])
        spans.append((_Span(index, fault, fault.at, end, False), _network_keys(fault)))
    for j, (later, later_keys) in enumerate(spans):
        for earlier, earlier_keys in spans[:j]:
            common = later_keys & earlier_keys
            if not common or not later.overlaps(earlier):
                continue
            first, second = sorted((earlier, later), key=lambda s: (s.start, s.index))
            if ("<partition>",) in common:
                what = ("two partitions at once are ambiguous; merge them into one partition "
                        "with more sides, or end the first (for: or heal) before the second")
            else:
                link = sorted(common)[0]
                # named as the scenario file does: up/down, not upstream/downstream
                stream = f", stream {link[2].removesuffix('stream')}" if len(link) > 2 else ""
                what = (f"both act on {link[0]} ({link[1]}{stream}) at once; end the first "
                        "(for: or heal) before the second starts")
            issues.add(("faults", second.index),
                       f"{second.describe()} overlaps {first.describe()}: {what}")


def check_conflicts(faults: list[tuple[int, Fault]], world: World, issues: Issues) -> None:
    """Cross-fault checks; ``faults`` are (YAML index, fault) in YAML order."""
    spans = _process_spans(faults, world)
    bad = _check_process_overlaps(spans, issues)
    for name, items in spans.items():
        if name not in bad:
            _simulate(world.nodes[name], items, issues)
    _check_network_overlaps(faults, world, issues)
