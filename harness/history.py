"""The run's history: every node's trace lines, merged into one timeline.

Nodes append JSON lines to their trace files while the harness appends its
own (faults, lifecycle, run milestones). A process killed with SIGKILL can
leave a torn last line and a user's node can write garbage, so reading never
fails on a bad line: it is skipped and counted, and the report shows the
count. The merged history is sorted by ``t`` with a *stable* sort, so events
that share a timestamp keep the order in which their sources were given and
written, which keeps merges reproducible.

On top of the raw events this module pairs each operation's events
(:func:`operations`) and computes the report's operation figures
(:func:`summarize`). Checkers use the same helpers, so the report and the
verdicts never disagree about what counted as answered.

A client that gives up on a request writes ``gave_up`` (the request may or
may not have executed: Jepsen's ``:info``, never "it did not happen"). The
older name ``fail`` means exactly the same and is read forever; both land in
:attr:`Operation.gave_ups`, so no caller should match either string itself.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One trace event: a JSON object with at least ``t`` (float), ``node`` and ``type``.
# The only definition in the code base; checkers and the report import it from here.
Event = dict[str, Any]

# "The client gave up; the request may or may not have executed": the canonical
# name, and the older name still read with the same meaning.
GAVE_UP = "gave_up"
GAVE_UP_TYPES = frozenset({GAVE_UP, "fail"})

# Event types that belong to one operation, by the ``op`` field.
OP_EVENT_TYPES = frozenset({"invoke", "ok", "retry", "refused", "handled", "ack"}) | GAVE_UP_TYPES


@dataclass
class ReadStats:
    """What reading one or more trace files found: kept events and skipped lines."""

    events: int = 0
    skipped: int = 0
    skipped_by_file: dict[str, int] = field(default_factory=dict)

    def add(self, other: ReadStats) -> None:
        self.events += other.events
        self.skipped += other.skipped
        for name, count in other.skipped_by_file.items():
            self.skipped_by_file[name] = self.skipped_by_file.get(name, 0) + count


def parse_line(line: str) -> Event | None:
    """One trace line as an event, or None when it is not a valid event.

    Valid means: a JSON object with a finite number ``t`` (not a bool) and a
    string ``type``. ``node`` defaults to ``"?"`` so later code can rely on it.
    """
    line = line.strip()
    if not line:
        return None
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return as_event(record)


def as_event(record: object) -> Event | None:
    """``record`` as a history event (``t`` as float, ``node`` present), or None."""
    if not isinstance(record, dict):
        return None
    t = record.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        return None
    if not isinstance(record.get("type"), str):
        return None
    if not isinstance(record.get("node"), str):
        record["node"] = "?"
    record["t"] = float(t)
    return record


def read_trace(path: str | Path) -> tuple[list[Event], ReadStats]:
    """All valid events of one trace file, in file order, plus what was skipped.

    Blank lines are ignored silently; a torn or garbage line (bad JSON, bad
    UTF-8, not an object, no numeric ``t``) is skipped and counted. A missing
    file reads as empty: a node that never started wrote nothing.
    """
    path = Path(path)
    stats = ReadStats()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], stats
    events: list[Event] = []
    for chunk in raw.split(b"\n"):
        if not chunk.strip():
            continue
        event = parse_line(chunk.decode("utf-8", errors="replace"))
        if event is None:
            stats.skipped += 1
        else:
            events.append(event)
    stats.events = len(events)
    if stats.skipped:
        stats.skipped_by_file[str(path)] = stats.skipped
    return events, stats


def merge(*sources: Iterable[Event]) -> list[Event]:
    """One history sorted by ``t``; ties keep source order, then in-source order."""
    combined: list[Event] = []
    for source in sources:
        combined.extend(source)
    combined.sort(key=lambda e: e["t"])  # list.sort is stable
    return combined


def merge_files(
    paths: Sequence[str | Path],
    extra: Iterable[Event] = (),
    stats: ReadStats | None = None,
) -> list[Event]:
    """Read every trace file (in the order given), add ``extra`` (harness events
    held in memory) last, and merge them into one history.

    Pass a :class:`ReadStats` to learn how many lines were skipped and where.
    """
    stats = stats if stats is not None else ReadStats()
    sources: list[list[Event]] = []
    for path in paths:
        events, file_stats = read_trace(path)
        stats.add(file_stats)
        sources.append(events)
    harness_events: list[Event] = []
    for record in extra:
        event = as_event(dict(record) if isinstance(record, dict) else record)
        if event is None:
            stats.skipped += 1
        else:
            harness_events.append(event)
    stats.events += len(harness_events)
    sources.append(harness_events)
    return merge(*sources)


def starts_before_own_events(history: list[Event]) -> list[Event]:
    """``history`` with each ``lifecycle start`` moved before its node's first own event.

    The harness logs a start when the runtime says the process started; a
    node may trace its first events before that (a container runs before
    the engine's API call returns; a busy harness reads the clock late).
    Checkers read "start" as "a new incarnation begins here", so a start
    that follows the node's own first events would cut them off from it
    (a subscriber's session, a broker's replayed state). An own event of the
    node counts as the new incarnation's when nothing of the node lived
    before it: no earlier start, or the node's last exit came first. Such a
    start is moved to just before that event; every other event stays put.
    """
    moved: dict[int, float] = {}
    alive: dict[str, bool] = {}
    first_own: dict[str, int] = {}  # node -> index of its first own event while not alive
    for index, event in enumerate(history):
        if event.get("type") == "lifecycle":
            node = str(event.get("target"))
            what = event.get("event")
            if what == "start":
                early = first_own.pop(node, None)
                if early is not None:
                    moved[index] = history[early]["t"]
                alive[node] = True
            elif what == "exit":
                alive[node] = False
                first_own.pop(node, None)
            continue
        node = event.get("node")
        if isinstance(node, str) and node != "harness" and not alive.get(node, False):
            first_own.setdefault(node, index)
    if not moved:
        return history
    fixed = [dict(event, t=moved[i]) if i in moved else event
             for i, event in enumerate(history)]
    # A moved start sorts before the event it precedes (ties keep list order).
    order = sorted(range(len(fixed)),
                   key=lambda i: (fixed[i]["t"], 0 if i in moved else 1, i))
    return [fixed[i] for i in order]


def write_jsonl(history: Iterable[Event], path: str | Path) -> None:
    """Write the history as JSON lines (``history.jsonl``), one event per line."""
    with Path(path).open("w", encoding="utf-8") as out:
        for event in history:
            out.write(json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n")


def load_history(path: str | Path) -> list[Event]:
    """Read a saved ``history.jsonl`` back (bad lines skipped, order re-checked)."""
    events, _ = read_trace(path)
    return merge(events)


@dataclass
class Operation:
    """Everything the history says about one request ``op``."""

    op: str
    node: str | None = None  # the client, from the invoke (else the first client event)
    invoke: Event | None = None
    oks: list[Event] = field(default_factory=list)
    gave_ups: list[Event] = field(default_factory=list)  # ``gave_up`` and legacy ``fail``
    retries: list[Event] = field(default_factory=list)
    refused: list[Event] = field(default_factory=list)
    handled: list[Event] = field(default_factory=list)
    acks: list[Event] = field(default_factory=list)

    @property
    def ok(self) -> Event | None:
        return self.oks[0] if self.oks else None

    @property
    def gave_up(self) -> Event | None:
        return self.gave_ups[0] if self.gave_ups else None

    @property
    def fails(self) -> list[Event]:
        """The older name of :attr:`gave_ups`, kept for callers written before it."""
        return self.gave_ups

    @property
    def outcome(self) -> str:
        """``ok``, ``gave_up`` or ``open`` (neither), an ok winning over a give-up."""
        if self.oks:
            return "ok"
        return GAVE_UP if self.gave_ups else "open"

    @property
    def expected_reply(self) -> str | None:
        """The reply the client must accept: the invoke's ``expect``, else its ``body``."""
        if self.invoke is None:
            return None
        if "expect" in self.invoke:
            return self.invoke["expect"]
        return self.invoke.get("body")

    @property
    def latency(self) -> float | None:
        """Seconds from invoke to the first ok, if both exist."""
        if self.invoke is None or not self.oks:
            return None
        return self.oks[0]["t"] - self.invoke["t"]

    @property
    def attempts(self) -> int:
        """Sends of this request: 1 plus the retries (or the highest ``attempt`` seen)."""
        highest = 1 + len(self.retries)
        for retry in self.retries:
            attempt = retry.get("attempt")
            if isinstance(attempt, int) and not isinstance(attempt, bool):
                highest = max(highest, attempt)
        return highest


_BUCKETS = {
    "invoke": "invoke",
    "ok": "oks",
    "gave_up": "gave_ups",
    "fail": "gave_ups",
    "retry": "retries",
    "refused": "refused",
    "handled": "handled",
    "ack": "acks",
}


def operations(history: Iterable[Event]) -> dict[str, Operation]:
    """Pair every operation's events by ``op`` (first-seen order).

    A second ``invoke`` of the same op (a client restarted without a new
    incarnation) replaces the first; checkers that care look at raw events.
    Servers' ``handled`` events count towards the op they name, even one no
    client invoked (e.g. a garbage body), so duplicates are never hidden.
    """
    ops: dict[str, Operation] = {}
    for event in history:
        kind = event.get("type")
        if kind not in OP_EVENT_TYPES:
            continue
        op_id = event.get("op")
        if not isinstance(op_id, str):
            continue
        op = ops.get(op_id)
        if op is None:
            op = ops[op_id] = Operation(op=op_id)
        if kind == "invoke":
            op.invoke = event
            op.node = event.get("node")
            continue
        getattr(op, _BUCKETS[kind]).append(event)
        if op.node is None and kind != "handled":
            op.node = event.get("node")
    return ops


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_figures(latencies: Sequence[float]) -> dict[str, float | None]:
    """p50/p90/p99/max of latencies in seconds, reported in milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000.0, 3)

    return {
        "p50_ms": ms(percentile(latencies, 50)),
        "p90_ms": ms(percentile(latencies, 90)),
        "p99_ms": ms(percentile(latencies, 99)),
        "max_ms": ms(max(latencies) if latencies else None),
    }


def summarize(history: Sequence[Event]) -> dict[str, Any]:
    """The report's operation counts and figures.

    Among invoked operations: ``ok`` got a reply, ``failed`` were given up by
    their client (``gave_up`` or ``fail``, and never answered), ``unanswered``
    have neither. Availability is ``ok / (ok + failed + unanswered)``: an
    operation the client is still waiting for at the end counts against
    availability exactly like one it gave up on, because from the caller's side
    a hung request is just as unavailable (None when nothing was invoked).
    Latency percentiles are over ok operations only.
    """
    ops = operations(history)
    invoked = [op for op in ops.values() if op.invoke is not None]
    outcomes = Counter(op.outcome for op in invoked)
    latencies = [lat for op in invoked if (lat := op.latency) is not None]
    counted = outcomes["ok"] + outcomes[GAVE_UP] + outcomes["open"]
    handled_per_op = Counter(
        e["op"] for e in history if e.get("type") == "handled" and isinstance(e.get("op"), str)
    )
    kinds = Counter(e.get("type") for e in history)
    per_client: dict[str, dict[str, int]] = {}
    for op in invoked:
        row = per_client.setdefault(str(op.node), {"invoked": 0, "ok": 0, "failed": 0,
                                                   "unanswered": 0})
        row["invoked"] += 1
        row[{"ok": "ok", GAVE_UP: "failed", "open": "unanswered"}[op.outcome]] += 1
    return {
        "invoked": len(invoked),
        "ok": outcomes["ok"],
        "failed": outcomes[GAVE_UP],
        "unanswered": outcomes["open"],
        "availability": round(outcomes["ok"] / counted, 6) if counted else None,
        "latency": latency_figures(latencies),
        "refused": kinds["refused"],
        "retries": kinds["retry"],
        "handled": kinds["handled"],
        "executions": kinds["handled"],
        "duplicates": sum(1 for count in handled_per_op.values() if count > 1),
        "faults": sum(1 for e in history if e.get("type") == "fault"
                      and e.get("phase", "apply") == "apply"),
        "clients": per_client,
    }
