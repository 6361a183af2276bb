"""Fault coverage: what each fault of the schedule actually hit.

A fault proves something only if it hit a working system: its target was
running when it took effect (both ends of a link, for a network fault) and
the workload was busy through it: client operations in flight at that
moment, or invoked during its window, or one-way messages on the path of
those clients (events that carry ``op`` or ``seq`` from the clients and the
nodes they connect to, directly or through others) in its window or in
flight across its start. A pass that rests
on a fault that hit nothing is ``unknown`` (docs/coverage-and-seeds.md).

This module is a pure function of the run's record: the merged history
(fault and lifecycle events with their true times, client events), the
scheduled faults, which nodes are clients, the proxies' endpoints, and the
byte counters sampled from Toxiproxy around the faults (None when the server
does not expose them). It never talks to a process, so the rule is tested on
hand-made histories.

Windows, in run seconds (the history's clock):

- a fault with ``for``: from its apply event to its revert event;
- ``kill``/``stop`` without ``for``: until the target runs again (a later
  start), else the end of the run; ``pause``: until its resume; a network
  fault: until a ``heal``, else the end of the run;
- ``start``, ``restart``, ``resume``, ``heal`` take effect at once and
  matter for what follows: their window runs to the end of the run.

A fault that names client nodes (a client's process, a link from a client, a
partition side holding clients) is judged on those clients' work only: a
partition of ``client-1`` is not covered by ``client-2``'s requests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.history import operations
from harness.nemesis import PROCESS_FAULTS, describe_target, fault_nodes

Event = dict[str, Any]
ByteSample = Mapping[str, Any]  # {"t": s, "proxies": {name: {direction: {received, sent}}}}

#: Event types that belong to request operations, counted as operations, not messages.
REQUEST_EVENT_TYPES = frozenset({"invoke", "ok", "fail", "gave_up", "retry", "refused", "ack",
                                 "handled"})
#: Faults that take effect at once; what follows them is their window.
INSTANT_FAULTS = frozenset({"start", "restart", "resume", "heal"})
#: Faults that bring something back: judged on whether their target ran during the window.
RECOVERY_FAULTS = frozenset({"start", "resume"})
#: A start that takes effect later than this after it applied gets a note
#: (:func:`slow_effects`): the docker engine queues starts on a busy machine.
SLOW_EFFECT_S = 0.5


# -- node lifetimes ------------------------------------------------------------------------


@dataclass
class Lifetimes:
    """When each node's processes ran, from ``lifecycle`` events (start/exit)."""

    spans: dict[str, list[list[float]]]  # node -> [[start, end], ...]; end inf while running

    @classmethod
    def from_history(cls, history: Iterable[Event]) -> Lifetimes:
        spans: dict[str, list[list[float]]] = {}
        for e in history:
            if e.get("type") != "lifecycle" or not isinstance(e.get("target"), str):
                continue
            node, t = e["target"], float(e["t"])
            runs = spans.setdefault(node, [])
            if e.get("event") == "start":
                runs.append([t, math.inf])
            elif e.get("event") == "exit":
                open_runs = [r for r in runs if r[1] == math.inf and r[0] <= t]
                if open_runs:
                    open_runs[-1][1] = t
                else:  # an exit whose start we never saw: it ran until then
                    runs.append([-math.inf, t])
        return cls(spans)

    def known(self, node: str) -> bool:
        return node in self.spans

    def alive(self, node: str, t: float) -> bool:
        """Running at ``t``; a node with no lifecycle events counts as running."""
        if node not in self.spans:
            return True
        return any(start <= t < end for start, end in self.spans[node])

    def alive_during(self, node: str, start: float, end: float) -> bool:
        if node not in self.spans:
            return True
        return any(s <= end and start < e for s, e in self.spans[node])

    def next_start(self, node: str, after: float) -> float | None:
        starts = [s for s, _ in self.spans.get(node, []) if s > after]
        return min(starts) if starts else None

    def exit_after(self, node: str, t: float) -> float | None:
        """When the run of ``node`` that was going at ``t`` ended (None: still running)."""
        for start, end in self.spans.get(node, []):
            if start <= t < end:
                return None if end == math.inf else end
        return None

    def last_exit_before(self, node: str, t: float) -> float | None:
        ends = [e for _, e in self.spans.get(node, []) if e <= t]
        return max(ends) if ends else None


# -- pairing events with the schedule --------------------------------------------------------


def _fault_times(history: Sequence[Event], faults: Sequence[Any]) -> list[tuple[float | None,
                                                                                float | None]]:
    """(apply time, revert time) per scheduled fault, from the fault events.

    Events carry the fault's ``index``; a history written before they did is
    paired by order of (action, target) instead.
    """
    applied: dict[int, float] = {}
    reverted: dict[int, float] = {}
    unindexed: list[Event] = []
    for e in history:
        if e.get("type") != "fault":
            continue
        index = e.get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            table = applied if e.get("phase", "apply") == "apply" else reverted
            table.setdefault(index, float(e["t"]))
        else:
            unindexed.append(e)
    used: set[int] = set()
    for i, fault in enumerate(faults):
        if i in applied:
            continue
        for phase, table in (("apply", applied), ("revert", reverted)):
            for j, e in enumerate(unindexed):
                if j in used or e.get("phase", "apply") != phase:
                    continue
                if e.get("fault") == fault.action and e.get("target") == describe_target(fault):
                    table[i] = float(e["t"])
                    used.add(j)
                    break
    return [(applied.get(i), reverted.get(i)) for i in range(len(faults))]


def _link_ends(link: str, links: Mapping[str, tuple[str, str]]) -> tuple[str, str]:
    if link in links:
        return links[link]
    source, _, target = link.partition("->")
    return source, target.partition(":")[0]  # ``a->b:state``: one of several a->b edges


def _window_end(i: int, fault: Any, at: float, revert: float | None, end: float,
                faults: Sequence[Any], times: Sequence[tuple[float | None, float | None]],
                lives: Lifetimes) -> float:
    if fault.duration is not None:
        return revert if revert is not None else min(end, at + fault.duration)
    action = fault.action
    if action in INSTANT_FAULTS:
        return end
    if action in ("kill", "stop"):
        back = [lives.next_start(node, at) for node in fault.targets]
        if back and all(b is not None for b in back):
            return min(end, max(b for b in back if b is not None))
        return end
    if action == "pause":
        for j, other in enumerate(faults):
            t = times[j][0]
            if (other.action == "resume" and t is not None and t > at
                    and set(other.targets) & set(fault.targets)):
                return min(end, t)
        return end
    # a network fault without `for`: until a heal
    heals = [times[j][0] for j, other in enumerate(faults)
             if other.action == "heal" and times[j][0] is not None and times[j][0] > at]
    return min([end, *[h for h in heals if h is not None]])


# -- workload activity ------------------------------------------------------------------------


@dataclass
class _Op:
    node: str
    invoked: float
    done: float


def _ops(history: Sequence[Event], lives: Lifetimes, end: float) -> list[_Op]:
    """Request operations with when they ended: answered, given up, or their client gone."""
    out: list[_Op] = []
    for op in operations(history).values():
        if op.invoke is None or not isinstance(op.node, str):
            continue
        invoked = float(op.invoke["t"])
        completions = [float(e["t"]) for e in (*op.oks, *op.fails) if float(e["t"]) >= invoked]
        done = min(completions) if completions else None
        if done is None:
            gone = lives.exit_after(op.node, invoked)
            done = gone if gone is not None else end
        out.append(_Op(op.node, invoked, done))
    return out


def _message_key(event: Event) -> Any:
    """What names one one-way message across its events: a pipeline ``task``, a
    pub-sub ``(publisher, epoch, topic, seq)``, else the event's own ``seq``."""
    if "task" in event:
        return ("task", event["task"])
    if "publisher" in event and "seq" in event:
        return ("msg", event.get("publisher"), event.get("epoch"), event.get("topic"),
                event.get("seq"))
    return None


def upstream(nodes: Iterable[str], links: Mapping[str, tuple[str, str]]) -> set[str]:
    """``nodes`` and every node they reach by following ``connect`` edges: the
    path their one-way messages come along (a subscriber, its proxy, the
    publisher behind it; a pipeline worker, its ventilator and its sink)."""
    reach = set(nodes)
    frontier = list(reach)
    while frontier:
        node = frontier.pop()
        for source, target in links.values():
            if source == node and target not in reach:
                reach.add(target)
                frontier.append(target)
    return reach


#: A one-way stream counts as flowing into a fault when its last message on the
#: path came at most this long before the fault took effect (a killed publisher
#: writes nothing during its window, yet it was hit mid-stream).
FLOWING_GAP = 0.5


def _messages(history: Sequence[Event], nodes: set[str], start: float, end: float,
              listening: bool) -> int:
    """One-way messages on the path of ``nodes`` during [start, end]: events that
    carry ``op`` or ``seq`` (not request operations) written then, plus messages
    sent before ``start`` that a node on the path only took after it (in flight:
    a frozen subscriber writes nothing, yet its stream keeps flowing at it).
    With none of those, and ``listening`` (a receiving client of the path was
    running when the fault struck), the messages of the :data:`FLOWING_GAP`
    before ``start``: the stream the fault cut off."""
    during = just_before = 0
    first_seen: dict[Any, float] = {}
    in_flight: set[Any] = set()
    for e in history:
        if (e.get("node") not in nodes or e.get("type") in REQUEST_EVENT_TYPES
                or ("op" not in e and "seq" not in e)):
            continue
        t = e["t"]
        if start <= t <= end:
            during += 1
        elif start - FLOWING_GAP <= t < start:
            just_before += 1
        key = _message_key(e)
        if key is None:
            continue
        if key not in first_seen:
            first_seen[key] = t
        elif first_seen[key] < start < t:
            in_flight.add(key)
    found = during + len(in_flight)
    return found if found or not listening else just_before


def _bytes(samples: Sequence[ByteSample] | None, proxies: list[str], start: float,
           end: float) -> dict[str, dict[str, int]] | None:
    """Bytes received and sent by each proxy between the samples bracketing the window."""
    if samples is None:
        return None
    after = [s for s in samples if s["t"] >= start]
    before = [s for s in samples if s["t"] <= end]
    out: dict[str, dict[str, int]] = {}
    for proxy in proxies:
        if not after or not before or after[0]["t"] > before[-1]["t"]:
            out[proxy] = {"received": 0, "sent": 0}
            continue
        first = after[0]["proxies"].get(proxy, {})
        last = before[-1]["proxies"].get(proxy, {})
        totals = {}
        for key in ("received", "sent"):
            total = 0
            for direction in ("upstream", "downstream"):
                total += (last.get(direction, {}).get(key, 0)
                          - first.get(direction, {}).get(key, 0))
            totals[key] = max(0, total)
        out[proxy] = totals
    return out


# -- sentences ----------------------------------------------------------------------------------


def _s(t: float) -> str:
    return f"{t:.3f} s"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _names(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "(none)"


def describe_fault(fault: Any) -> str:
    """``kill worker-1``, ``partition client-1 | broker``, ``latency client->broker``."""
    return f"{fault.action} {describe_target(fault)}" if fault.action != "heal" else "heal"


# -- the coverage of one run ----------------------------------------------------------------------


def fault_coverage(
    history: Sequence[Event],
    faults: Sequence[Any],
    clients: Iterable[str],
    *,
    links: Mapping[str, tuple[str, str]] | None = None,
    byte_samples: Sequence[ByteSample] | None = None,
    offset: float = 0.0,
    end: float | None = None,
) -> dict[str, Any]:
    """Per fault (schedule order): where and when it acted and what it hit.

    ``clients``: the client nodes (the workload); ``links``: proxy name ->
    (source node, target node); ``byte_samples``: Toxiproxy's counters at
    moments of the run, or None when not measured; ``offset``: scenario time
    0 on the run clock (for faults that never applied); ``end``: when the
    run stopped its workload (default: the last event).
    """
    links = dict(links or {})
    client_set = set(clients)
    if end is None:
        end = max((float(e["t"]) for e in history), default=0.0)
    lives = Lifetimes.from_history(history)
    times = _fault_times(history, faults)
    ops = _ops(history, lives, end)
    entries: list[dict[str, Any]] = []
    for i, fault in enumerate(faults):
        entries.append(_one(i, fault, faults, times, lives, ops, history, client_set, links,
                            byte_samples, offset, end))
    uncovered = [
        {k: e[k] for k in ("index", "fault", "target", "why")}
        for e in entries if not e["hit"] and not e["idle_ok"]
    ]
    return {
        "faults": entries,
        "uncovered": uncovered,
        "hit": sum(1 for e in entries if e["hit"]),
        "total": len(entries),
        "bytes_measured": byte_samples is not None,
    }


def _one(i: int, fault: Any, faults: Sequence[Any], times: Sequence[tuple[float | None,
                                                                          float | None]],
         lives: Lifetimes, ops: list[_Op], history: Sequence[Event], clients: set[str],
         links: Mapping[str, tuple[str, str]], samples: Sequence[ByteSample] | None,
         offset: float, end: float) -> dict[str, Any]:
    named = fault_nodes(fault)
    fault_links = list(fault.links)
    ends = {node for link in fault_links for node in _link_ends(link, links)}
    involved = set(named) | ends
    relevant = sorted(involved & clients) or sorted(clients)
    if fault.action in PROCESS_FAULTS:
        target: list[str] = list(fault.targets)
        proxies = [name for name, (a, b) in links.items() if a in target or b in target]
    else:
        target = fault_links
        proxies = fault_links
    params: dict[str, Any] = dict(fault.attributes)
    if fault.action == "partition" and fault.sides:
        params["sides"] = [list(side) for side in fault.sides]
    if fault.action not in PROCESS_FAULTS and fault.action not in ("heal", "partition",
                                                                    "disconnect"):
        params.update(stream=fault.stream, toxicity=fault.toxicity)
    entry: dict[str, Any] = {
        "index": i,
        "fault": fault.action,
        "target": target,
        "params": params,
        "scheduled_at": round(fault.at, 6),
        "at": None,
        "until": None,
        "alive": False,
        "ops_in_flight": 0,
        "ops_started": 0,
        "messages": 0,
        "bytes": None if samples is None else {},
        "idle_ok": bool(getattr(fault, "idle_ok", False)),
        "hit": False,
        "why": "",
    }
    what = describe_fault(fault)
    at, revert = times[i]
    if at is None:
        entry["why"] = (f"{what} was never applied: the run ended at {_s(end)}, before its "
                        f"time ({_s(offset + fault.at)})")
        return _allowed(entry)
    until = _window_end(i, fault, at, revert, end, faults, times, lives)
    entry["at"], entry["until"] = round(at, 6), round(until, 6)

    if fault.action in ("start", "restart"):
        entry["effect_lag_s"] = _start_lag(fault.targets, at, lives)
    alive, dead_why = _alive(fault, at, until, lives, fault_links, links)
    entry["alive"] = alive
    in_flight = sum(1 for op in ops if op.node in relevant and op.invoked < at <= op.done)
    started = sum(1 for op in ops if op.node in relevant and at <= op.invoked <= until)
    listening = any(lives.alive(node, at) for node in relevant)
    messages = _messages(history, upstream(relevant, links), at, until, listening)
    entry.update(ops_in_flight=in_flight, ops_started=started, messages=messages,
                 bytes=_bytes(samples, proxies, at, until))
    busy = in_flight + started + messages > 0
    entry["hit"] = alive and busy
    who = "" if involved & clients else " (any client)"
    if not alive:
        entry["why"] = f"{what} at {_s(at)} hit nothing: {dead_why}"
    elif not busy:
        mine = [op for op in ops if op.node in relevant]
        before = max((op.done for op in mine if op.done <= at), default=None)
        after = min((op.invoked for op in mine if op.invoked > until), default=None)
        if not mine:
            tail = f"; {_names(relevant)} never invoked an operation"
        else:
            tail = (f"; the last operation before it ended at {_s(before)}" if before is not None
                    else "; no operation came before it")
            if after is not None:
                tail += f", the next began at {_s(after)}"
        entry["why"] = (f"{what} at {_s(at)} hit an idle system: no operation of "
                        f"{_names(relevant)}{who} was in flight then or started before "
                        f"{_s(until)}{tail}")
    else:
        parts = [f"{_plural(in_flight, 'operation')} in flight at {_s(at)}",
                 f"{started} started by {_s(until)}"]
        if messages:
            parts.append(_plural(messages, "message"))
        moved = entry["bytes"]
        if moved:
            total = sum(b["received"] for b in moved.values())
            parts.append(f"{total} bytes into {_names(moved)}")
        entry["why"] = f"{what}: " + ", ".join(parts)
    return _allowed(entry)


def _start_lag(targets: Iterable[str], at: float, lives: Lifetimes) -> float | None:
    """Seconds from a start's apply to its slowest target's ``lifecycle start`` (None: none)."""
    lags = [started - at for node in targets
            if (started := lives.next_start(node, at - 1e-6)) is not None]
    return round(max(lags), 3) if lags else None


def slow_effects(coverage: Mapping[str, Any], limit: float = SLOW_EFFECT_S) -> list[str]:
    """A sentence per start that took effect more than ``limit`` after it was applied.

    The docker engine queues container starts: on a busy machine a restart
    "500 ms later" can leave a node down for two seconds, and a client whose
    retries were sized for the schedule gives up. The verdict stands (it is
    what happened); this says why the run differed from the schedule.
    """
    sentences = []
    for entry in coverage.get("faults", []):
        lag = entry.get("effect_lag_s")
        if isinstance(lag, (int, float)) and lag > limit:
            sentences.append(
                f"fault #{entry['index']} ({entry['fault']} {_names(entry['target'])}) took "
                f"effect {lag:.3f} s after it was applied: the runtime was slow to start it, "
                f"so the outage was that much longer than scheduled")
    return sentences


def _allowed(entry: dict[str, Any]) -> dict[str, Any]:
    if entry["idle_ok"] and not entry["hit"]:
        entry["why"] += " (allowed: idle_ok)"
    return entry


def _alive(fault: Any, at: float, until: float, lives: Lifetimes, fault_links: list[str],
           links: Mapping[str, tuple[str, str]]) -> tuple[bool, str]:
    """Whether the fault had something running to act on, and if not, why not."""
    action = fault.action
    if action == "heal":
        return True, ""
    if action in PROCESS_FAULTS:
        if action in RECOVERY_FAULTS:
            ok = [n for n in fault.targets if lives.alive_during(n, at, until)]
            if ok:
                return True, ""
            return False, f"{_names(fault.targets)} never ran after it"
        ok = [n for n in fault.targets if lives.alive(n, at)]
        if ok:
            return True, ""
        return False, _not_running(fault.targets, at, lives)
    live_links = [
        link for link in fault_links
        if all(lives.alive(node, at) for node in _link_ends(link, links))
    ]
    if live_links:
        return True, ""
    ends = sorted({n for link in fault_links for n in _link_ends(link, links)
                   if not lives.alive(n, at)})
    return False, "no link had both ends running: " + _not_running(ends, at, lives)


def _not_running(nodes: Iterable[str], at: float, lives: Lifetimes) -> str:
    parts = []
    for node in nodes:
        gone = lives.last_exit_before(node, at)
        parts.append(f"{node} had exited at {_s(gone)}" if gone is not None
                     else f"{node} was not running")
    return "; ".join(parts) + f" (fault at {_s(at)})"
