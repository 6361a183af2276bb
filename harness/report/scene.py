"""What happened in one run, arranged for drawing: lanes, faults, operations, violations.

This is the one model behind both pictures, the HTML timeline and
``timeline.png``, so they always show the same lanes. It is pure data in run
seconds (no pixels): :mod:`harness.report.svg` and :mod:`harness.report.plots`
lay it out.

It reads whatever the history holds. Operations come from
:func:`harness.history.operations` (so a client's "gave up" event, whatever
its spelling, is bucketed the way the checkers see it); lifecycle, fault,
state and run events get their own marks; every other event (a pattern
family this module has never heard of: ``publish``, ``deliver``, ``route``)
is drawn generically as ticks in its node's lane. Nothing in a history can
make building a scene raise.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.history import operations
from harness.report.faults import FaultSpan, ScheduledFault, fault_spans

Event = dict[str, Any]

HARNESS = "harness"
# Event types drawn by something other than generic ticks.
STRUCTURAL_TYPES = frozenset({"lifecycle", "fault", "run", "state"})
OUTCOMES = ("ok", "gave_up", "open")


@dataclass
class Mark:
    """Something that happened at one moment in a lane (a start, an exit, a kill)."""

    t: float
    kind: str
    label: str
    detail: str = ""


@dataclass
class Band:
    """Something that lasted (a process alive, paused, ACTIVE; a fault on its links)."""

    start: float
    end: float
    kind: str
    label: str
    detail: str = ""


@dataclass
class Ticks:
    """Events of one type from one node, drawn as ticks (server work, unknown types)."""

    kind: str
    times: list[float]


@dataclass
class OpBar:
    """One client operation, from invoke to its outcome."""

    index: int
    op: str
    client: str
    start: float
    end: float | None  # None: still open when the run ended
    outcome: str  # ok | gave_up | open
    retries: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)
    violated: bool = False
    attempts: int = 1
    events: list[Event] = field(default_factory=list)
    row: int = 0

    @property
    def latency_ms(self) -> float | None:
        if self.outcome != "ok" or self.end is None:
            return None
        return (self.end - self.start) * 1000.0


@dataclass
class Lane:
    """One node: its process, states, faults on it, and (clients) its operations."""

    node: str
    role: str
    kind: str  # client | server | harness | other
    alive: list[Band] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    ticks: list[Ticks] = field(default_factory=list)
    ops: list[OpBar] = field(default_factory=list)
    rows: int = 0  # operation rows (overlapping operations stack)
    lifecycle_known: bool = True


@dataclass
class ViolationRef:
    """One violation of one contract, located in time and on nodes."""

    contract: str
    contract_index: int
    index: int
    why: str
    t: float | None
    t_end: float | None
    nodes: list[str]
    ops: list[str]
    events: list[Event]

    @property
    def anchor(self) -> str:
        return f"viol-{self.contract_index}-{self.index}"


@dataclass
class Scene:
    t_lo: float
    t_hi: float
    workload_start: float | None
    lanes: list[Lane]
    faults: list[FaultSpan]
    ops: list[OpBar]
    violations: list[ViolationRef]
    milestones: list[Mark]
    other_types: dict[str, int]

    def lane(self, node: str) -> Lane | None:
        return next((lane for lane in self.lanes if lane.node == node), None)

    @property
    def clients(self) -> list[Lane]:
        return [lane for lane in self.lanes if lane.ops]


def exit_words(code: Any) -> str:
    """``exit 0``, ``exit 3``, ``killed by SIGKILL`` for a process's exit code."""
    if not isinstance(code, int) or isinstance(code, bool):
        return "exited"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def _role_kind(role: str) -> str | None:
    try:
        from harness.roles import ROLES

        spec = ROLES.get(role)
        return spec.kind if spec is not None else None
    except Exception:
        return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _lane_order(report: Mapping[str, Any], history: Sequence[Event]) -> list[tuple[str, str]]:
    """(node, role) in the scenario's order, then nodes only the history names."""
    nodes = report.get("nodes")
    order: dict[str, str] = {}
    if isinstance(nodes, Mapping):
        for name, facts in nodes.items():
            role = facts.get("role", "") if isinstance(facts, Mapping) else ""
            order[str(name)] = str(role or "")
    for event in history:
        node = event.get("node")
        if isinstance(node, str) and node != HARNESS and node not in order:
            order[node] = ""
        if event.get("type") == "lifecycle":
            target = event.get("target")
            if isinstance(target, str) and target not in order:
                order[target] = ""
    return list(order.items())


def _alive_bands(lane: Lane, history: Sequence[Event], own: list[Event], t_hi: float) -> None:
    """Process bands from ``lifecycle`` events; else from the node's first to last event."""
    started: float | None = None
    seen = False
    for event in history:
        if event.get("type") != "lifecycle" or event.get("target") != lane.node:
            continue
        seen = True
        t = event["t"]
        what = event.get("event")
        if what == "start":
            inc = event.get("incarnation")
            restart = isinstance(inc, int) and not isinstance(inc, bool) and inc > 0
            lane.marks.append(Mark(t, "start", f"start #{inc + 1}" if restart else "start",
                                   "process started"))
            if started is not None:  # a start without an exit: close what we had
                lane.alive.append(Band(started, t, "alive", "running"))
            started = t
        elif what == "exit":
            code = event.get("code")
            bad = code != 0
            lane.marks.append(Mark(t, "exit-bad" if bad else "exit", exit_words(code),
                                   f"process ended ({exit_words(code)})"))
            lane.alive.append(Band(started if started is not None else t, t, "alive",
                                   "running"))
            started = None
    if started is not None:
        lane.alive.append(Band(started, t_hi, "alive", "running"))
    if not seen and own:
        lane.lifecycle_known = False
        lane.alive.append(Band(own[0]["t"], own[-1]["t"], "alive-unknown",
                               "events seen (no lifecycle events recorded)"))


def _state_bands(lane: Lane, own: list[Event], t_hi: float) -> None:
    """Binary Star (or any) ``state`` events as bands until the next state or exit."""
    states = [e for e in own if e.get("type") == "state"]
    exits = [m.t for m in lane.marks if m.kind.startswith("exit")]
    for i, event in enumerate(states):
        t = event["t"]
        nxt = states[i + 1]["t"] if i + 1 < len(states) else t_hi
        ended = [x for x in exits if t <= x < nxt]
        end = min(ended) if ended else nxt
        state = str(event.get("state", "?"))
        lane.bands.append(Band(t, end, f"state-{state.lower()}", state,
                               f"{lane.node} is {state}"))


def _fault_marks(lane: Lane, faults: Sequence[FaultSpan], t_hi: float) -> None:
    for span in faults:
        if lane.node not in span.nodes:
            continue
        if span.action == "pause":
            lane.bands.append(Band(span.start, span.end if span.end is not None else t_hi,
                                   "paused", "paused", span.label))
        elif span.is_process:
            lane.marks.append(Mark(span.start, f"fault-{span.action}", span.action, span.label))
        elif span.action == "partition":
            lane.bands.append(Band(span.start, span.end if span.end is not None else t_hi,
                                   "partition", "cut off", span.label))
        else:
            lane.bands.append(Band(span.start, span.end if span.end is not None else t_hi,
                                   "net", span.action, span.label))


def _stack_rows(ops: list[OpBar], t_hi: float, max_rows: int = 8) -> int:
    """Give overlapping operations their own rows (greedy); returns the rows used."""
    ends: list[float] = []
    for op in sorted(ops, key=lambda o: o.start):
        end = op.end if op.end is not None else t_hi
        for row, last in enumerate(ends):
            if last <= op.start:
                op.row, ends[row] = row, end
                break
        else:
            if len(ends) < max_rows:
                op.row = len(ends)
                ends.append(end)
            else:
                op.row = min(range(len(ends)), key=lambda r: ends[r])
                ends[op.row] = max(ends[op.row], end)
    return len(ends)


def violation_refs(report: Mapping[str, Any]) -> list[ViolationRef]:
    """Every listed violation of every contract, with its time, nodes and ops."""
    refs: list[ViolationRef] = []
    contracts = report.get("contracts")
    if not isinstance(contracts, list):
        return refs
    for ci, contract in enumerate(contracts):
        if not isinstance(contract, Mapping):
            continue
        violations = contract.get("violations")
        for vi, v in enumerate(violations if isinstance(violations, list) else []):
            if not isinstance(v, Mapping):
                continue
            raw = v.get("events")
            events = [e for e in (raw if isinstance(raw, list) else [])
                      if isinstance(e, Mapping) and _float(e.get("t")) is not None]
            times = [float(e["t"]) for e in events]
            overlap = v.get("overlap")
            if (isinstance(overlap, list) and len(overlap) == 2
                    and all(_float(x) is not None for x in overlap)):
                times += [float(overlap[0]), float(overlap[1])]
            nodes: dict[str, None] = {}
            for e in events:
                node = e.get("node")
                if node == HARNESS and isinstance(e.get("target"), str):
                    nodes.update(dict.fromkeys(n.strip() for n in e["target"].split(",")))
                elif isinstance(node, str):
                    nodes[node] = None
            extra = v.get("nodes")
            if isinstance(extra, list):
                nodes.update(dict.fromkeys(str(n) for n in extra))
            ops = list(dict.fromkeys(e["op"] for e in events if isinstance(e.get("op"), str)))
            if isinstance(v.get("op"), str):
                ops.insert(0, v["op"])
            refs.append(ViolationRef(
                contract=str(contract.get("name", "?")), contract_index=ci, index=vi,
                why=str(v.get("why", "")), t=min(times) if times else None,
                t_end=max(times) if times else None, nodes=list(nodes),
                ops=list(dict.fromkeys(ops)), events=[dict(e) for e in events],
            ))
    return refs


def build_scene(report: Mapping[str, Any], history: Sequence[Event],
                scheduled: Sequence[ScheduledFault] = ()) -> Scene:
    """Arrange one run's report and history for drawing."""
    times = [e["t"] for e in history if _float(e.get("t")) is not None]
    t_lo = min([0.0, *times])
    t_hi = max([t_lo + 0.001, *times])
    faults = fault_spans(history, scheduled)
    violations = violation_refs(report)
    violated_ops = {op for v in violations for op in v.ops}

    by_node: dict[str, list[Event]] = {}
    for event in history:
        by_node.setdefault(str(event.get("node")), []).append(event)

    consumed: set[int] = set()
    ops: list[OpBar] = []
    for op in operations(history).values():
        if op.invoke is None:
            continue
        client = str(op.node)
        outcome = op.outcome if op.outcome in ("ok", "open") else "gave_up"
        end_event = op.ok if outcome == "ok" else (op.fails[0] if op.fails else None)
        own_events = [op.invoke, *op.oks, *op.fails, *op.retries, *op.refused, *op.acks]
        for event in own_events:
            if event.get("node") == client:
                consumed.add(id(event))
        events = sorted([*own_events, *op.handled], key=lambda e: e["t"])
        ops.append(OpBar(
            index=len(ops), op=op.op, client=client, start=op.invoke["t"],
            end=end_event["t"] if end_event is not None else None, outcome=outcome,
            retries=[e["t"] for e in op.retries], refused=[e["t"] for e in op.refused],
            violated=op.op in violated_ops, attempts=op.attempts, events=events,
        ))

    lanes: list[Lane] = []
    for node, role in _lane_order(report, history):
        own = by_node.get(node, [])
        has_ops = any(o.client == node for o in ops)
        kind = _role_kind(role) or ("client" if has_ops else "server")
        lane = Lane(node=node, role=role, kind=kind)
        _alive_bands(lane, history, own, t_hi)
        _state_bands(lane, own, t_hi)
        _fault_marks(lane, faults, t_hi)
        for event in own:
            if event.get("type") == "fatal":
                lane.marks.append(Mark(event["t"], "fatal", "fatal",
                                       str(event.get("reason", "fatal"))))
        lane.ops = [o for o in ops if o.client == node]
        lane.rows = _stack_rows(lane.ops, t_hi) if lane.ops else 0
        lanes.append(lane)

    other_types: dict[str, int] = {}
    ticks_by_node: dict[str, dict[str, list[float]]] = {}
    for event in history:
        kind = event.get("type")
        node = str(event.get("node"))
        if id(event) in consumed or kind in STRUCTURAL_TYPES or kind == "fatal":
            continue
        ticks_by_node.setdefault(node, {}).setdefault(str(kind), []).append(event["t"])
        other_types[str(kind)] = other_types.get(str(kind), 0) + 1
    harness_lane = Lane(node=HARNESS, role="", kind="harness")
    for node, kinds in ticks_by_node.items():
        lane = next((ln for ln in lanes if ln.node == node), None)
        if lane is None:
            lane = harness_lane
        lane.ticks.extend(Ticks(kind, times) for kind, times in kinds.items())
    if harness_lane.ticks:
        lanes.append(harness_lane)

    for v in violations:
        if v.t is None or v.t_end is None or v.t_end <= v.t:
            continue
        for node in v.nodes:
            lane = next((ln for ln in lanes if ln.node == node), None)
            if lane is not None and not v.ops:
                lane.bands.append(Band(v.t, v.t_end, "violation", v.contract, v.why))

    milestones = [
        Mark(e["t"], f"run-{e.get('event')}", str(e.get("event")), str(e.get("error", "")))
        for e in history
        if e.get("type") == "run" and isinstance(e.get("event"), str)
    ]
    workload = next((m.t for m in milestones if m.label == "workload-start"), None)
    return Scene(t_lo=t_lo, t_hi=t_hi, workload_start=workload, lanes=lanes, faults=faults,
                 ops=ops, violations=violations, milestones=milestones,
                 other_types=other_types)
