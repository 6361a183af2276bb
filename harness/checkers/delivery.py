"""Pub-sub contracts: ``ordered_delivery``, ``bounded_loss``, ``delivery_latency``.

They read the publish/deliver events of docs/trace-events.md. A *stream* is
``(publisher, epoch, topic)``: the publisher numbers each topic 1, 2, 3 ...
and a restarted publisher starts a new epoch, numbering from 1 again. A
subscriber *session* runs from its ``subscribe`` event to its process's exit
(or its next ``subscribe``, or the end of the run).

- ``ordered_delivery`` is ZeroMQ's promise over one connection: within a
  session, a subscriber receives each stream's messages in increasing order
  and never twice, and only messages that were published. Epochs are
  separate streams: nothing is promised about how an old epoch's last
  messages interleave with a new epoch's first ones (they travel over
  different connections), so a restart can never read as a reorder.
- ``bounded_loss`` counts what each subscriber should have received: every
  message published on a topic its filters match, by a publisher its
  connects lead to, between the start of its judged window (``since``: its
  ``subscribe`` event; the publication of the ``first`` message it received,
  or ``grace`` after subscribing if none came, and for each stream the
  publication of its own first message if that came within ``grace`` more;
  its ``sync`` handshake) and the end of its session less ``grace`` (still
  in flight). A missing message is
  excused when it was published inside the window of a fault on the
  subscriber's own path (itself, its links, the proxy and publisher it
  reaches, their links), widened by ``grace`` on both sides for messages in
  flight and for reconnecting; every other missing message counts against
  ``max``. Late-joiner loss (published between ``subscribe`` and the first
  delivery) and drops in fault windows are reported as figures;
  ``min_dropped`` makes the verdict ``unknown`` when the faults made no
  subscriber drop anything, i.e. when a scenario meant to push a subscriber
  past its HWM did not.
- ``delivery_latency`` bounds the p99 time from ``publish`` to ``deliver``
  for every subscriber whose path no fault touched: HWM isolation, "a slow
  subscriber does not slow the others". Faulted subscribers are reported,
  not judged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.oneway import Window, fault_windows, run_end, upstream
from harness.checkers.verdicts import MAX_VIOLATIONS, decide, violation
from harness.history import latency_figures, percentile

Stream = tuple[str, int, str]  # (publisher, epoch, topic)
Message = tuple[str, int, str, int]  # (publisher, epoch, topic, seq)

SINCE = ("subscribe", "first", "sync")
LIST_LIMIT = 20  # message ids listed per violation


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def message_of(event: Event) -> Message | None:
    """The message a publish/deliver event names, or None when it names none (untracked)."""
    if event.get("untracked"):
        return None
    publisher, epoch, topic, seq = (event.get(k) for k in ("publisher", "epoch", "topic", "seq"))
    if not (isinstance(publisher, str) and _is_int(epoch) and isinstance(topic, str)
            and _is_int(seq)):
        return None
    return publisher, epoch, topic, seq


def label(message: Message) -> str:
    publisher, epoch, topic, seq = message
    return f"{publisher}/{epoch}/{topic}#{seq}"


@dataclass
class Session:
    """One subscriber process's time listening, and what it received."""

    node: str
    start: float  # its subscribe event
    stop: float
    filters: list[str]
    deliveries: list[Event] = field(default_factory=list)
    sync: Event | None = None


def sessions(history: Sequence[Event], end: float) -> dict[str, list[Session]]:
    """Each subscriber's sessions, with its tracked deliveries and sync event.

    No session runs past ``end``: that is when the harness began stopping the
    workload, and it logs each client's exit only once it has stopped them
    all, so a ``lifecycle exit`` can come seconds after the process was gone.
    """
    out: dict[str, list[Session]] = defaultdict(list)
    open_: dict[str, Session] = {}
    for event in history:
        kind = event.get("type")
        if kind == "subscribe":
            node = event["node"]
            if node in open_:
                open_.pop(node).stop = min(event["t"], end)
            topics = event.get("topics")
            filters = [t for t in topics if isinstance(t, str)] if isinstance(topics, list) else []
            session = Session(node, event["t"], end, filters or [""])
            open_[node] = session
            out[node].append(session)
        elif kind == "lifecycle" and event.get("event") in ("exit", "start"):
            node = str(event.get("target"))
            if node in open_:
                open_.pop(node).stop = min(event["t"], end)
        elif kind == "deliver" and event["node"] in open_ and message_of(event) is not None:
            open_[event["node"]].deliveries.append(event)
        elif kind == "sync" and event["node"] in open_:
            session = open_[event["node"]]
            if session.sync is None:
                session.sync = event
    return out


def publications(history: Sequence[Event]) -> dict[Message, Event]:
    """Every published message and its (first) publish event."""
    published: dict[Message, Event] = {}
    for event in history:
        if event.get("type") == "publish":
            message = message_of(event)
            if message is not None and message not in published:
                published[message] = event
    return published


def ordered_delivery(history: list[Event], ctx: CheckContext) -> CheckResult:
    """No subscriber gets a stream's messages out of order, twice, or unpublished.

    Unknown when no subscriber received a tracked message.
    """
    name = "ordered_delivery"
    end = run_end(history, ctx)
    published = publications(history)
    traced_epochs = {(m[0], m[1]) for m in published}
    violations: list[dict[str, Any]] = []
    counts = {"deliveries": 0, "duplicates": 0, "reorders": 0, "unpublished": 0}
    streams: set[tuple[str, Stream]] = set()
    for node, node_sessions in sessions(history, end).items():
        for session in node_sessions:
            last: dict[Stream, Event] = {}
            seen: dict[Message, Event] = {}
            for event in session.deliveries:
                message = message_of(event)
                assert message is not None
                stream, seq = message[:3], message[3]
                counts["deliveries"] += 1
                streams.add((node, stream))
                why = None
                earlier = None
                if message in seen:
                    counts["duplicates"] += 1
                    earlier = seen[message]
                    why = f"{node} received {label(message)} twice"
                elif stream in last and seq < last[stream]["seq"]:
                    counts["reorders"] += 1
                    earlier = last[stream]
                    why = (f"{node} received {label(message)} after #{earlier['seq']} of the "
                           f"same stream (out of order)")
                elif message[:2] in traced_epochs and message not in published:
                    counts["unpublished"] += 1
                    why = f"{node} received {label(message)}, which was never published"
                if why is not None and len(violations) < MAX_VIOLATIONS:
                    violations.append(violation(why, earlier, event, subscriber=node,
                                                message=label(message)))
                seen.setdefault(message, event)
                if stream not in last or seq > last[stream]["seq"]:
                    last[stream] = event
    return decide(
        name, violations, decided=counts["deliveries"] > 0,
        figures={**counts, "streams": len(streams)},
        ok_message=f"{counts['deliveries']} deliveries over {len(streams)} subscriber stream(s): "
                   "in order, none twice",
        unknown_message="no subscriber received a tracked message: nothing to order",
    )


def _first_published(session: Session, published: dict[Message, Event]) -> float | None:
    """When the first message this session received was published (else received)."""
    if not session.deliveries:
        return None
    first = session.deliveries[0]
    event = published.get(message_of(first))  # type: ignore[arg-type]
    return event["t"] if event is not None else first["t"]


def _first_of_each_stream(session: Session,
                          published: dict[Message, Event]) -> dict[Stream, float]:
    """Stream -> when the first message of it that this session received was published."""
    firsts: dict[Stream, float] = {}
    for event in session.deliveries:
        message = message_of(event)
        assert message is not None
        if message[:3] not in firsts:
            origin = published.get(message)
            firsts[message[:3]] = origin["t"] if origin is not None else event["t"]
    return firsts


def _judged_start(session: Session, since: str, grace: float,
                  published: dict[Message, Event]) -> float | None:
    if since == "subscribe":
        return session.start
    if since == "sync":
        return session.sync["t"] if session.sync is not None else None
    first = _first_published(session, published)
    return first if first is not None else session.start + grace


def bounded_loss(
    history: list[Event],
    ctx: CheckContext,
    *,
    max: int = 0,
    since: str = "first",
    grace: float = 1.0,
    min_dropped: int = 0,
) -> CheckResult:
    """At most ``max`` messages lost outside the windows of faults on a subscriber's path.

    ``since`` (subscribe | first | sync) starts each subscriber's judged
    window; ``grace`` widens fault windows and spares the tail. Unknown when
    no message was owed to any subscriber, or when fewer than ``min_dropped``
    were dropped inside fault windows.
    """
    name = "bounded_loss"
    if since not in SINCE:
        return CheckResult(name, "unknown",
                           message=f"since must be one of {', '.join(SINCE)}, got {since!r}")
    end = run_end(history, ctx)
    published = publications(history)
    by_publisher: dict[str, list[tuple[Message, float]]] = defaultdict(list)
    for message, event in published.items():
        by_publisher[str(event.get("node"))].append((message, event["t"]))
    windows = fault_windows(history, ctx, end)
    violations: list[dict[str, Any]] = []
    per_node: dict[str, dict[str, Any]] = {}
    totals = defaultdict(int)
    owed_any = False
    for node, node_sessions in sessions(history, end).items():
        path_nodes, path_edges = upstream(ctx, node)
        sources = [p for p in by_publisher if p in path_nodes] if node in ctx.nodes \
            else list(by_publisher)
        relevant = [w for w in windows if w.touches(path_nodes, path_edges)]
        row = per_node.setdefault(node, defaultdict(int))
        for session in node_sessions:
            _loss_of_session(session, since, grace, sources, by_publisher, published, relevant,
                             row, violations)
        owed_any = owed_any or row["owed"] > 0
        for key, value in row.items():
            if isinstance(value, int):
                totals[key] += value
    unexcused = totals["unexcused"]
    figures = {**{k: totals[k] for k in ("owed", "delivered", "lost", "late_join",
                                         "dropped_in_faults", "unexcused")},
               "subscribers": {n: dict(r) for n, r in sorted(per_node.items())}}
    if unexcused <= max:
        violations = []
    if not violations and owed_any and totals["dropped_in_faults"] < min_dropped:
        return CheckResult(name, "unknown", [],
                           f"only {totals['dropped_in_faults']} message(s) dropped inside fault "
                           f"windows (min_dropped {min_dropped}): the faults did not push a "
                           "subscriber past its high-water mark, so drops were not tested",
                           figures)
    return decide(
        name, violations, decided=owed_any, figures=figures,
        ok_message=f"{totals['lost']} of {totals['owed']} owed message(s) lost, "
                   f"{unexcused} outside fault windows (max {max}); "
                   f"{totals['dropped_in_faults']} dropped in fault windows, "
                   f"{totals['late_join']} before a first delivery",
        unknown_message="no message was owed to any subscriber (nothing published on its "
                        "topics while it listened)",
    )


def _loss_of_session(session: Session, since: str, grace: float, sources: list[str],
                     by_publisher: dict[str, list[tuple[Message, float]]],
                     published: dict[Message, Event], windows: list[Window],
                     row: dict[str, Any], violations: list[dict[str, Any]]) -> None:
    """Add one session's figures to ``row`` and its unexcused loss to ``violations``."""
    start = _judged_start(session, since, grace, published)
    stop = session.stop - grace
    got = {message_of(e) for e in session.deliveries}
    row["delivered"] += len(session.deliveries)
    times = [e["t"] for e in session.deliveries]
    silences = [b - a for a, b in pairwise(times)]
    row["longest_silence_ms"] = round(
        max([row.get("longest_silence_ms", 0.0), *(s * 1000 for s in silences)]), 3)
    first_of_stream = _first_of_each_stream(session, published)
    unexcused: list[tuple[Message, float]] = []
    for publisher in sources:
        for message, t in by_publisher[publisher]:
            if not any(message[2].startswith(f) for f in session.filters):
                continue
            stream = message[:3]
            if session.start <= t < first_of_stream.get(stream, session.stop) \
                    and message not in got:
                row["late_join"] += 1
            owed_from = start
            if since == "first" and start is not None:
                # Each stream gets up to ``grace`` more to start flowing: behind a
                # shared proxy, filters already there (another subscriber's) can
                # bring a first message before this subscriber's own filters
                # have reached the publisher.
                owed_from = max(start, min(first_of_stream.get(stream, start + grace),
                                           start + grace))
            if owed_from is None or not owed_from <= t <= stop:
                continue
            row["owed"] += 1
            if message in got:
                continue
            row["lost"] += 1
            if any(w.excuses(t, grace) for w in windows):
                row["dropped_in_faults"] += 1
            else:
                row["unexcused"] += 1
                unexcused.append((message, t))
    if unexcused and len(violations) < MAX_VIOLATIONS:
        unexcused.sort(key=lambda item: item[1])
        listed = ", ".join(label(m) for m, _ in unexcused[:LIST_LIMIT])
        more = f" (+{len(unexcused) - LIST_LIMIT} more)" if len(unexcused) > LIST_LIMIT else ""
        violations.append(violation(
            f"{session.node} lost {len(unexcused)} message(s) outside any fault window on its "
            f"path, published {unexcused[0][1]:.3f}-{unexcused[-1][1]:.3f} s: {listed}{more}",
            subscriber=session.node, lost=[label(m) for m, _ in unexcused[:100]],
            judged_from=start))


def delivery_latency(
    history: list[Event], ctx: CheckContext, *, p99_max: float = 0.25,
    silence_max: float | None = None,
) -> CheckResult:
    """p99 publish-to-deliver time <= ``p99_max`` for every subscriber no fault touched.

    With ``silence_max``, such a subscriber must also never go longer than
    that between two deliveries: a publisher stalled by another, slower
    subscriber publishes nothing while it waits, so its late messages show
    as a silence, not as latency. Unknown when no unfaulted subscriber
    received a tracked message.
    """
    name = "delivery_latency"
    end = run_end(history, ctx)
    published = publications(history)
    windows = fault_windows(history, ctx, end)
    latencies: dict[str, list[float]] = defaultdict(list)
    for event in history:
        if event.get("type") != "deliver":
            continue
        message = message_of(event)
        if message is None or message not in published:
            continue
        latencies[event["node"]].append(event["t"] - published[message]["t"])
    silences = {node: _longest_silence(node_sessions)
                for node, node_sessions in sessions(history, end).items()}
    figures: dict[str, Any] = {}
    violations: list[dict[str, Any]] = []
    judged = 0
    for node, values in sorted(latencies.items()):
        path_nodes, path_edges = upstream(ctx, node)
        faulted = any(w.touches(path_nodes, path_edges) for w in windows)
        silence = silences.get(node, 0.0)
        figures[node] = {**latency_figures(values), "deliveries": len(values),
                         "longest_silence_ms": round(silence * 1000, 3), "judged": not faulted}
        if faulted:
            continue
        judged += 1
        p99 = percentile(values, 99)
        if p99 is not None and p99 > p99_max:
            violations.append(violation(
                f"{node}: p99 delivery latency {p99 * 1000:.1f} ms > {p99_max * 1000:.1f} ms "
                "although no fault touched its path", subscriber=node))
        if silence_max is not None and silence > silence_max:
            violations.append(violation(
                f"{node}: {silence * 1000:.0f} ms without a delivery (bound "
                f"{silence_max * 1000:.0f} ms) although no fault touched its path: its "
                "publisher stalled", subscriber=node))
    bound = f"p99 {p99_max * 1000:.0f} ms" + (
        f", silences under {silence_max * 1000:.0f} ms" if silence_max is not None else "")
    return decide(
        name, violations, decided=judged > 0, figures=figures,
        ok_message=f"{judged} unfaulted subscriber(s) within {bound}",
        unknown_message="no subscriber outside the faults' reach received a tracked message",
    )


def _longest_silence(node_sessions: list[Session]) -> float:
    """The longest time between two consecutive deliveries within one session."""
    longest = 0.0
    for session in node_sessions:
        times = [e["t"] for e in session.deliveries]
        for a, b in pairwise(times):
            longest = max(longest, b - a)
    return longest
