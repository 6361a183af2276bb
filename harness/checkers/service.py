"""Contracts ``availability`` and ``latency``: the service level a run delivered.

These turn the report's operation figures (``harness.history.summarize``)
into optional thresholds, so a scenario can require e.g. 95 % of requests
answered or a p99 under a second through a fault. Without a threshold they
always pass when there is something to measure, and still put the figures
in the report.
"""

from __future__ import annotations

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.verdicts import decide, seconds, violation
from harness.history import operations, percentile, summarize


def availability(
    history: list[Event], ctx: CheckContext, *, min: float = 0.0
) -> CheckResult:
    """ok / (ok + failed + unanswered) among invoked ops; violated when below ``min``.

    Unknown when no op was invoked.
    """
    name = "availability"
    summary = summarize(history)
    value = summary["availability"]
    figures = {k: summary[k] for k in ("invoked", "ok", "failed", "unanswered", "availability")}
    violations = []
    if value is not None and value < min:
        violations.append(violation(f"availability {value:.4f} below {min:.4f}"))
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

    Bounds are in seconds, figures in milliseconds. Unknown when no op was answered.
    """
    name = "latency"
    answered = [op for op in operations(history).values() if op.latency is not None]
    latencies = [op.latency for op in answered if op.latency is not None]
    figures = dict(summarize(history)["latency"])
    figures["answered"] = len(latencies)
    slowest = sorted(answered, key=lambda op: op.latency or 0.0, reverse=True)[:5]
    evidence = [e for op in slowest for e in (op.invoke, op.ok) if e is not None]
    violations = []
    for label, q, bound in (("p50", 50, p50_max), ("p99", 99, p99_max)):
        value = percentile(latencies, q)
        if bound is not None and value is not None and value > bound:
            violations.append(violation(f"{label} latency {seconds(value)} above {seconds(bound)}",
                                        *evidence))
    return decide(
        name,
        violations,
        decided=bool(latencies),
        figures=figures,
        ok_message=f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms",
        unknown_message="no request was answered",
    )
