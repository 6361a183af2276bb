"""Builders for one-way histories (pub-sub, pipeline), and small reference models of both.

The builders write the events of docs/trace-events.md in one short call
each. The models generate *correct* runs of each pattern (what a working
publisher and subscribers, or ventilator, workers and sink, would trace),
which the property tests then check, break in one place, and check again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.checkers.base import CheckContext, NodeFacts

Event = dict[str, Any]


def ev(t: float, node: str, kind: str, **fields: Any) -> Event:
    return {"t": round(float(t), 6), "node": node, "type": kind, **fields}


def by_time(*groups: Event | list[Event]) -> list[Event]:
    events: list[Event] = []
    for group in groups:
        events.extend(group if isinstance(group, list) else [group])
    return sorted(events, key=lambda e: e["t"])


# -- pub-sub -----------------------------------------------------------------------


def subscribe(t: float, node: str, topics: list[str] | None = None) -> Event:
    return ev(t, node, "subscribe", topics=topics if topics is not None else [""])


def publish(t: float, topic: str, seq: int, publisher: str = "pub", epoch: int = 0) -> Event:
    return ev(t, publisher, "publish", publisher=publisher, epoch=epoch, topic=topic, seq=seq)


def deliver(t: float, node: str, topic: str, seq: int, publisher: str = "pub",
            epoch: int = 0) -> Event:
    return ev(t, node, "deliver", publisher=publisher, epoch=epoch, topic=topic, seq=seq)


def fault(t: float, name: str, target: str, phase: str = "apply") -> Event:
    return ev(t, "harness", "fault", fault=name, target=target, phase=phase)


def lifecycle(t: float, target: str, what: str) -> Event:
    return ev(t, "harness", "lifecycle", target=target, event=what)


def context(connects: dict[str, list[str]] | None = None, *, roles: dict[str, str] | None = None,
            end: float = 0.0) -> CheckContext:
    """Nodes from ``{name: [targets it connects to]}``; roles default by name."""
    roles = roles or {}
    names = set(connects or {}) | set(roles)
    for targets in (connects or {}).values():
        names |= set(targets)
    facts = {}
    for name in sorted(names):
        role = roles.get(name) or ("pipeline.worker" if name.startswith("w") else "pubsub.x")
        kind = "client" if name.startswith(("s", "w")) else "server"
        facts[name] = NodeFacts(name=name, role=role, kind=kind,  # type: ignore[arg-type]
                                connects=tuple((connects or {}).get(name, ())))
    return CheckContext(nodes=facts, end=end)


@dataclass
class PubSubRun:
    """A correct pub-sub run: events, plus where faults were and what was dropped."""

    events: list[Event]
    ctx: CheckContext
    # (subscriber, window start, window end) of each pause fault
    windows: list[tuple[str, float, float]] = field(default_factory=list)
    delivered: dict[str, list[Event]] = field(default_factory=dict)


def pubsub_model(*, topics: list[str], filters: dict[str, list[str]], count: int,
                 restart_at: int | None, pauses: dict[str, tuple[int, int]],
                 latency: float = 0.002) -> PubSubRun:
    """One publisher ``pub`` publishing ``count`` messages round-robin over ``topics``,
    one every 10 ms from t=1; subscribers (``filters``: name -> prefixes) connected to it
    directly, subscribed at t=0. ``restart_at``: the publisher is killed before message
    index i and a new epoch starts 0.5 s later. ``pauses``: subscriber -> (first, last)
    message index it drops, inside a pause fault covering those publications.
    """
    events: list[Event] = [subscribe(0.0, s, f) for s, f in filters.items()]
    seqs: dict[tuple[int, str], int] = {}
    epoch, t = 0, 1.0
    windows: list[tuple[str, float, float]] = []
    delivered: dict[str, list[Event]] = {s: [] for s in filters}
    times: list[float] = []
    for i in range(count):
        if restart_at is not None and i == restart_at:
            events.append(fault(t, "kill", "pub"))
            events.append(lifecycle(t + 0.001, "pub", "exit"))
            t += 0.5
            events.append(fault(t, "start", "pub"))
            events.append(lifecycle(t + 0.001, "pub", "start"))
            t += 0.01
            epoch += 1
        topic = topics[i % len(topics)]
        seq = seqs[(epoch, topic)] = seqs.get((epoch, topic), 0) + 1
        events.append(publish(t, topic, seq, epoch=epoch))
        times.append(t)
        for sub, prefixes in filters.items():
            if not any(topic.startswith(p) for p in prefixes):
                continue
            first, last = pauses.get(sub, (-1, -2))
            if first <= i <= last:
                continue
            event = deliver(t + latency, sub, topic, seq, epoch=epoch)
            events.append(event)
            delivered[sub].append(event)
        t += 0.01
    for sub, (first, last) in pauses.items():
        if 0 <= first <= last < count:
            start, stop = times[first] - 0.005, times[last] + 0.005
            events += [fault(start, "pause", sub), fault(stop, "pause", sub, "revert")]
            windows.append((sub, start, stop))
    end = t + 2.0
    ctx = context({s: ["pub"] for s in filters}, end=end)
    return PubSubRun(by_time(events), ctx, windows, delivered)


# -- pipeline ----------------------------------------------------------------------


def task_fields(seq: int, ventilator: str = "vent", epoch: int = 0) -> dict[str, Any]:
    return {"task": f"{ventilator}:{epoch}:{seq}", "ventilator": ventilator, "epoch": epoch,
            "seq": seq}


@dataclass
class PipelineRun:
    events: list[Event]
    ctx: CheckContext
    holder: dict[str, str]  # task -> worker that did it
    kill_at: float


def pipeline_model(*, tasks: int, workers: int, exit_delays: list[float],
                   spacing: float = 0.01, work: float = 0.005) -> PipelineRun:
    """``tasks`` tasks round-robin over ``workers`` workers, each result counted once by
    the sink; the sink's kill signal after the last result; worker i exits
    ``exit_delays[i]`` after it."""
    names = [f"w{i + 1}" for i in range(workers)]
    events: list[Event] = [lifecycle(0.0, "vent", "start"), lifecycle(0.0, "sink", "start")]
    events += [lifecycle(0.01, w, "start") for w in names]
    holder: dict[str, str] = {}
    t = 0.5
    last = t
    for seq in range(1, tasks + 1):
        fields = task_fields(seq)
        worker = names[(seq - 1) % workers]
        holder[fields["task"]] = worker
        events.append(ev(t, "vent", "task_sent", work_ms=5, **fields))
        events.append(ev(t + 0.001, worker, "task_received", work_ms=5, **fields))
        events.append(ev(t + 0.001 + work, worker, "task_done", **fields))
        events.append(ev(t + 0.002 + work, "sink", "result", worker=worker, **fields))
        last = t + 0.002 + work
        t += spacing
    kill_at = last + 0.01
    events.append(ev(kill_at, "sink", "kill", reason="batch complete"))
    for w, delay in zip(names, exit_delays, strict=True):
        events.append(ev(kill_at + delay * 0.5, w, "killed", signal="KILL"))
        events.append(lifecycle(kill_at + delay, w, "exit"))
    end = kill_at + max(exit_delays, default=0.0) + 2.0
    connects = {w: ["vent", "sink", "sink"] for w in names}
    connects["vent"] = ["sink"]
    ctx = context(connects, roles={"vent": "pipeline.ventilator", "sink": "pipeline.sink"},
                  end=end)
    return PipelineRun(by_time(events), ctx, holder, kill_at)
