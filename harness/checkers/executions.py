"""Contracts ``no_duplicate_execution`` and ``duplicate_executions``: how often work ran.

A client that resends after a timeout cannot know whether its first send was
executed, so every retrying pattern in the Guide is at-least-once and needs
idempotent servers. ``no_duplicate_execution`` makes that visible: it counts
``handled`` events per op across all servers and flags ops run more than
``max`` times. Where duplicates are legitimate, ``duplicate_executions``
reports the same figures without ever failing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.verdicts import Violations, decide


def _executions(history: list[Event]) -> dict[str, list[Event]]:
    """op -> its ``handled`` events, in history order."""
    runs: dict[str, list[Event]] = defaultdict(list)
    for event in history:
        if event.get("type") == "handled" and isinstance(event.get("op"), str):
            runs[event["op"]].append(event)
    return runs


def _figures(runs: dict[str, list[Event]]) -> dict[str, Any]:
    counts = [len(events) for events in runs.values()]
    return {
        "executions": sum(counts),
        "ops_executed": len(counts),
        "duplicated_ops": sum(1 for c in counts if c > 1),
        "worst": max(counts) if counts else 0,
    }


def no_duplicate_execution(
    history: list[Event], ctx: CheckContext, *, max: int = 1
) -> CheckResult:
    """An op ``handled`` more than ``max`` times in total (all servers) is a violation.

    Unknown when no server emitted a ``handled`` event.
    """
    name = "no_duplicate_execution"
    runs = _executions(history)
    violations = Violations()
    for op, events in runs.items():
        if len(events) > max:
            violations.add(f"{op!r} executed {len(events)} times (max {max}) by "
                           f"{', '.join(sorted({str(e.get('node')) for e in events}))}", *events)
    return decide(
        name,
        violations,
        decided=bool(runs),
        figures=_figures(runs),
        ok_message=f"no op executed more than {max} time(s)",
        unknown_message="no handled event: the servers do not report executions",
    )


def duplicate_executions(history: list[Event], ctx: CheckContext) -> CheckResult:
    """Figures only (executions, duplicated ops, worst count); unknown without handled events."""
    name = "duplicate_executions"
    runs = _executions(history)
    figures = _figures(runs)
    return decide(
        name,
        [],
        decided=bool(runs),
        figures=figures,
        ok_message=f"{figures['duplicated_ops']} op(s) executed more than once, "
        f"worst {figures['worst']} times",
        unknown_message="no handled event: the servers do not report executions",
    )
