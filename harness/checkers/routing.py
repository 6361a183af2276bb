"""What brokers' own routing events say: each broker's idle FIFO and its decisions.

A load-balancing broker (the Guide's LB broker, the Simple/Paranoid Pirate
queues, the peering brokers) traces its decisions (docs/trace-events.md):
``idle`` when a worker joins its FIFO, ``route`` with ``worker`` (or ``to:
cloud`` and ``peer``) when a request leaves, ``forget`` when it drops a
worker, ``serving`` once per process at start-up. :func:`replay_brokers`
rebuilds every broker's FIFO from those events, in the order the broker wrote
them, so a contract can judge each decision against the FIFO as it was at
that moment without depending on timing across processes. Shared by
``lru_dispatch`` and the peering contracts, like :mod:`timeline`.

A broker process ends at its node's ``lifecycle exit`` or a kill/restart
fault (a stop, whose SIGTERM grace may last seconds, only where the history
has no lifecycle events for it); a new one starts empty
at its own ``serving`` event (or, for a broker that does not emit it, at the
harness's ``lifecycle start``). Events written while no process of the
broker is known to run are ignored and counted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from harness.checkers.base import Event
from harness.checkers.timeline import DEATH_FAULTS, Interval, is_apply, targets

BROKER_EVENTS = frozenset({"idle", "route", "forget", "serving"})


@dataclass
class Decision:
    """One ``route`` event and the broker's FIFO just before it (least recently used first)."""

    event: Event
    broker: str
    idle: list[tuple[str, float]]  # (worker, idle since)

    @property
    def op(self) -> str:
        return str(self.event.get("op", ""))

    @property
    def local(self) -> bool:
        return self.event.get("to", "local") == "local" and "worker" in self.event


@dataclass
class Replay:
    """Every broker's decisions, and when its FIFO held an idle worker."""

    decisions: list[Decision] = field(default_factory=list)
    idle_spans: dict[str, list[Interval]] = field(default_factory=dict)
    ignored: int = 0  # events of a process the harness had already ended
    processes: dict[str, int] = field(default_factory=dict)  # broker -> processes seen


def broker_nodes(history: Iterable[Event]) -> list[str]:
    """Nodes that trace broker decisions, in first-seen order."""
    seen: dict[str, None] = {}
    for event in history:
        if event.get("type") in BROKER_EVENTS and event.get("node") != "harness":
            seen.setdefault(str(event.get("node")), None)
    return list(seen)


class _Fifo:
    """One broker process's idle FIFO, and the spans during which it was not empty."""

    def __init__(self, spans: list[Interval]) -> None:
        self.workers: OrderedDict[str, float] = OrderedDict()
        self._spans = spans
        self._since: float | None = None

    def _update(self, t: float) -> None:
        if self.workers and self._since is None:
            self._since = t
        elif not self.workers and self._since is not None:
            self._spans.append((self._since, t))
            self._since = None

    def ready(self, worker: str, t: float) -> None:
        self.workers.pop(worker, None)
        self.workers[worker] = t
        self._update(t)

    def drop(self, worker: str, t: float) -> None:
        self.workers.pop(worker, None)
        self._update(t)

    def clear(self, t: float) -> None:
        self.workers.clear()
        self._update(t)

    def close(self, t: float) -> None:
        if self._since is not None:
            self._spans.append((self._since, max(t, self._since)))
            self._since = None


def _ends(event: Event, node: str, has_lifecycle: bool) -> bool:
    """The harness's record that ``node``'s process is gone: its ``lifecycle exit``,
    a ``kill``/``restart`` (SIGKILL: anything traced after it is a dying
    process's last word), or a ``stop`` in a history without lifecycle events
    for the node (with them, a stop's SIGTERM grace lasts until the exit)."""
    kind = event.get("type")
    if kind == "lifecycle":
        return event.get("event") == "exit" and targets(event, node)
    if kind != "fault" or not is_apply(event) or not targets(event, node):
        return False
    fault = event.get("fault")
    return fault in DEATH_FAULTS and (fault != "stop" or not has_lifecycle)


def _starts(event: Event, node: str) -> bool:
    return (event.get("type") == "lifecycle" and event.get("event") == "start"
            and targets(event, node))


def _replay_one(broker: str, history: Sequence[Event], end: float, replay: Replay) -> None:
    """Replay one broker's events into ``replay`` (see :func:`replay_brokers`)."""
    spans: list[Interval] = []
    replay.idle_spans[broker] = spans
    announces = any(e.get("type") == "serving" and e.get("node") == broker for e in history)
    has_lifecycle = any(e.get("type") == "lifecycle" and targets(e, broker) for e in history)
    fifo = _Fifo(spans)
    alive = True
    started = False  # the first process began: a later start is a new process
    processes = 1
    for event in history:
        t = event["t"]
        own = event.get("node") == broker and event.get("type") in BROKER_EVENTS
        begins = (own and event["type"] == "serving") or (
            not own and not announces and _starts(event, broker))
        if begins:
            processes += 1 if started else 0
            started = alive = True
            fifo.clear(t)
            continue
        if not own:
            if _ends(event, broker, has_lifecycle):
                fifo.clear(t)
                alive = False
            continue
        if not alive:
            replay.ignored += 1
            continue
        kind, worker = event["type"], event.get("worker")
        if kind == "idle" and isinstance(worker, str):
            fifo.ready(worker, t)
        elif kind == "forget" and isinstance(worker, str):
            fifo.drop(worker, t)
        elif kind == "route":
            replay.decisions.append(Decision(event, broker, list(fifo.workers.items())))
            if isinstance(worker, str):
                fifo.drop(worker, t)
    fifo.close(end)
    replay.processes[broker] = processes


def replay_brokers(history: Sequence[Event], end: float) -> Replay:
    """Rebuild each broker's idle FIFO from its own events and record every decision."""
    replay = Replay()
    for broker in broker_nodes(history):
        _replay_one(broker, history, end, replay)
    replay.decisions.sort(key=lambda d: d.event["t"])
    return replay
