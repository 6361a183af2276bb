"""Contract ``lru_dispatch``: a load-balancing broker never lets work wait while a worker idles.

The Guide's load-balancing broker (and the Simple/Paranoid Pirate queues and
the peering brokers built on it) keeps its ready workers in a FIFO, least
recently used first, and hands each request to the head of that FIFO. Its
whole promise is that a request never queues behind a busy worker while
another one is idle: round-robin (the shared queue's DEALER), most recently
used first (``lbbroker3.py``) or a broker that stops reading requests all
break it.

The broker traces its decisions (docs/trace-events.md): ``idle`` when a
worker joins its FIFO, ``route`` with ``worker`` when a request leaves for
one, ``forget`` when it drops one, ``serving`` once per process at start-up.
:func:`routing.replay_brokers` rebuilds every broker's FIFO from those
events, and each decision is judged against the FIFO as it was at that
moment, so the verdict never depends on timing across processes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.routing import Decision, replay_brokers
from harness.checkers.timeline import Interval, impaired_intervals, run_end
from harness.checkers.verdicts import MAX_VIOLATIONS, decide, seconds, violation
from harness.history import operations

DEFAULT_WAIT_GRACE = 0.5  # s a request may sit in a broker with a worker idle (scheduling slack)


def _longest_idle_stretch(spans: Sequence[Interval], start: float, stop: float) -> Interval | None:
    """The longest part of [start, stop] during which a span (an idle worker) lasted."""
    best: Interval | None = None
    for s, e in spans:
        lo, hi = max(s, start), min(e, stop)
        if hi > lo and (best is None or hi - lo > best[1] - best[0]):
            best = (lo, hi)
    return best


def _clear_of(intervals: Sequence[Interval], start: float, stop: float) -> bool:
    return not any(s <= stop and e >= start for s, e in intervals)


def _spread(counts: dict[str, int]) -> dict[str, Any]:
    values = list(counts.values())
    if not values:
        return {"per_worker": {}, "min": None, "max": None, "cv": None}
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return {
        "per_worker": dict(sorted(counts.items())),
        "min": min(values),
        "max": max(values),
        "cv": round(math.sqrt(var) / mean, 3) if mean else None,
    }


def lru_dispatch(
    history: list[Event], ctx: CheckContext, *, wait_grace: float = DEFAULT_WAIT_GRACE
) -> CheckResult:
    """Every request goes to the least recently used idle worker, and none waits while one idles.

    From each broker's own ``idle``/``route``/``forget`` events (replayed per
    process, see the module docstring):

    - a ``route`` to a worker that was not idle (busy with an earlier request,
      or never ready) is flagged, naming the idle workers it passed over;
    - a ``route`` to an idle worker other than the one idle longest (the head
      of the FIFO) is flagged (most-recently-used or random choice);
    - a request that waited while a worker idled is flagged: between a send
      of the op (its ``invoke`` or a ``retry``) plus ``wait_grace`` and the
      broker's ``route`` of it (or, never routed, the client's give-up or the
      run end), the broker's FIFO held an idle worker for longer than
      ``wait_grace``. Windows during which the client or the broker was
      paused or cut off are not judged (the request may not have arrived).

    Figures: ``routes`` per broker, ``handled`` spread per worker node
    (``min``, ``max``, coefficient of variation ``cv``), ``max_wait_s`` (the
    longest send-to-route time), ``ignored`` events of dead processes.
    Unknown when no broker traced a local ``route``.
    """
    name = "lru_dispatch"
    end = run_end(history, ctx)
    replay = replay_brokers(history, end)
    violations: list[dict[str, Any]] = []

    def flag(why: str, *events: Event | None, **extra: Any) -> None:
        if len(violations) < MAX_VIOLATIONS:
            violations.append(violation(why, *events, **extra))

    local = [d for d in replay.decisions if d.local]
    routes_by_broker: dict[str, int] = {}
    # where each op left the broker its client sent it to (a local worker or a peer)
    sent_on: dict[str, list[Decision]] = {}
    for decision in replay.decisions:
        if decision.event.get("from", "local") == "local":
            sent_on.setdefault(decision.op, []).append(decision)
    for decision in local:
        routes_by_broker[decision.broker] = routes_by_broker.get(decision.broker, 0) + 1
        worker = str(decision.event["worker"])
        idle = [w for w, _ in decision.idle]
        t = decision.event["t"]
        if worker not in idle:
            if idle:
                head, since = decision.idle[0]
                flag(f"{decision.broker} sent {decision.op!r} to {worker}, which was not idle, "
                     f"while {head} had been idle since {since:.3f}", decision.event,
                     broker=decision.broker, worker=worker, idle=idle)
            else:
                flag(f"{decision.broker} sent {decision.op!r} to {worker}, which was not idle "
                     "(no worker was): the request queues behind that worker's work",
                     decision.event, broker=decision.broker, worker=worker)
        elif worker != idle[0]:
            head, since = decision.idle[0]
            flag(f"{decision.broker} sent {decision.op!r} to {worker}, not to the least recently "
                 f"used idle worker {head} (idle since {since:.3f}, {seconds(t - since)})",
                 decision.event, broker=decision.broker, worker=worker, idle=idle)

    # Requests that waited while a worker idled.
    clients_brokers: dict[str, list[str]] = {
        c.name: [n for n in c.connects if n in replay.idle_spans] for c in ctx.clients()
    }
    impaired_cache: dict[str, list[Interval]] = {}

    def impaired(node: str) -> list[Interval]:
        if node not in impaired_cache:
            impaired_cache[node] = impaired_intervals(history, node, end)
        return impaired_cache[node]

    waits: list[float] = []
    for op in operations(history).values():
        if op.invoke is None:
            continue
        sends = sorted([op.invoke["t"], *(r["t"] for r in op.retries)])
        routes = sent_on.get(op.op, [])
        for index, sent in enumerate(sends):
            following = sends[index + 1] if index + 1 < len(sends) else None
            route = next((d for d in routes if d.event["t"] >= sent
                          and (following is None or d.event["t"] < following)), None)
            if route is not None:
                broker, stop = route.broker, route.event["t"]
                waits.append(stop - sent)
            else:
                candidates = clients_brokers.get(str(op.node), [])
                if len(candidates) != 1 or following is not None:
                    continue  # resent (the first copy may be lost in transit) or no one broker
                broker = candidates[0]
                given_up = op.fails[0]["t"] if op.fails else end
                stop = min(given_up, end)
            start = sent + wait_grace
            if stop <= start:
                continue
            if not (_clear_of(impaired(str(op.node)), sent, stop)
                    and _clear_of(impaired(broker), sent, stop)):
                continue
            stretch = _longest_idle_stretch(replay.idle_spans.get(broker, []), start, stop)
            if stretch is not None and stretch[1] - stretch[0] > wait_grace:
                outcome = "before it was routed" if route is not None else "and was never routed"
                flag(f"{op.op!r} waited {seconds(stop - sent)} {outcome} while {broker} had an "
                     f"idle worker for {seconds(stretch[1] - stretch[0])} "
                     f"(from {stretch[0]:.3f})", op.invoke, route.event if route else None,
                     broker=broker)

    handled: dict[str, int] = {}
    for event in history:
        if event.get("type") == "handled" and isinstance(event.get("op"), str):
            node = str(event.get("node"))
            handled[node] = handled.get(node, 0) + 1
    figures: dict[str, Any] = {
        "routes": routes_by_broker,
        "handled": _spread(handled),
        "max_wait_s": round(max(waits), 6) if waits else None,
        "wait_grace_s": wait_grace,
        "processes": replay.processes,
        "ignored": replay.ignored,
    }
    return decide(
        name,
        violations,
        decided=bool(local),
        figures=figures,
        ok_message=f"all {len(local)} routing decisions went to the least recently used idle "
                   "worker, and no request waited while one idled",
        unknown_message="no broker traced a routing decision (route events with a worker)",
    )
