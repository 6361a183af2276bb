"""Contracts ``availability`` and ``latency``: the service level a run delivered.

They turn the outcomes of the run's operations (``harness.history.operations``,
the same pairing the report's figures use) into optional thresholds, so a
scenario can require e.g. 95 % of requests answered or a p99 under a second
through a fault. Without a threshold they always pass when there is
something to measure, and still put the figures in the report.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.verdicts import Violations, decide, seconds
from harness.history import GAVE_UP, latency_figures, operations, percentile

# Evidence kept for an availability violation: the first unanswered ops' events.
EVIDENCE_EVENTS = 100


def availability(
    history: list[Event], ctx: CheckContext, *, min: float = 0.0
) -> CheckResult:
    """ok / (ok + gave up + unanswered) among invoked ops; violated when below ``min``.

    An op still unanswered at the end counts against availability like one
    given up. The violation names the ops that were not answered. Unknown
    when no op was invoked.
    """
    name = "availability"
    invoked = [op for op in operations(history).values() if op.invoke is not None]
    outcomes = {"ok": 0, GAVE_UP: 0, "open": 0}
    for op in invoked:
        outcomes[op.outcome] += 1
    value = outcomes["ok"] / len(invoked) if invoked else None  # compared unrounded
    figures: dict[str, Any] = {"invoked": len(invoked), "ok": outcomes["ok"],
                               "failed": outcomes[GAVE_UP], "unanswered": outcomes["open"],
                               "availability": None if value is None else round(value, 6)}
    violations = Violations()
    if value is not None and value < min:
        missing = [e for op in invoked if op.outcome != "ok"
                   for e in (op.invoke, op.gave_up) if e is not None]
        violations.add(f"availability {value:.4f} below {min:.4f}: "
                       f"{len(invoked) - outcomes['ok']} of {len(invoked)} requests unanswered",
                       *missing[:EVIDENCE_EVENTS])
    return decide(
        name,
        violations,
        decided=value is not None,
        figures=figures,
        ok_message=f"availability {value if value is None else round(value, 4)} (min {min})",
        unknown_message="no request was invoked",
    )


def latency(
    history: list[Event],
    ctx: CheckContext,
    *,
    p50_max: float | None = None,
    p99_max: float | None = None,
) -> CheckResult:
    """Latency (invoke to ok) percentiles of answered ops; violated above a given bound.

    Bounds are in seconds, figures in milliseconds. Percentiles use the
    nearest rank. The violation names the five slowest ops. Unknown when no
    op was answered.
    """
    name = "latency"
    answered = [op for op in operations(history).values() if op.latency is not None]
    latencies = [op.latency for op in answered if op.latency is not None]
    figures: dict[str, Any] = dict(latency_figures(latencies))
    figures["answered"] = len(latencies)
    slowest = sorted(answered, key=lambda op: op.latency or 0.0, reverse=True)[:5]
    evidence = [e for op in slowest for e in (op.invoke, op.ok) if e is not None]
    violations = Violations()
    for label, q, bound in (("p50", 50, p50_max), ("p99", 99, p99_max)):
        value = percentile(latencies, q)
        if bound is not None and value is not None and value > bound:
            violations.add(f"{label} latency {seconds(value)} above {seconds(bound)}", *evidence)
    return decide(
        name,
        violations,
        decided=bool(latencies),
        figures=figures,
        ok_message=f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms",
        unknown_message="no request was answered",
    )
