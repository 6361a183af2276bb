"""Small helpers every checker uses to build its result the same way.

A violation is a dict with a one-line ``why`` and the events that prove it,
so the report can show the evidence next to the verdict. Checkers collect
them in a :class:`Violations`, which keeps the first ``MAX_VIOLATIONS`` and
counts every one, so "+N more" in the message and ``violation_count`` in
report.json are true totals however many were found. ``decide`` turns "what
was found" into the verdict with one rule for every contract: violations
win, then "nothing could be decided" is ``unknown``, else ``ok``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.checkers.base import MAX_VIOLATIONS, CheckResult, Event

__all__ = ["MAX_VIOLATIONS", "Violations", "decide", "seconds", "violation"]


def violation(why: str, *events: Event | None, **extra: Any) -> dict[str, Any]:
    """One violation: why it is one, the events involved, and any extra facts."""
    record: dict[str, Any] = {"why": why, "events": [e for e in events if e is not None]}
    record.update(extra)
    return record


class Violations:
    """The violations a checker found: the first ``cap`` kept, all of them counted."""

    def __init__(self, cap: int = MAX_VIOLATIONS) -> None:
        self.cap = cap
        self.kept: list[dict[str, Any]] = []
        self.total = 0

    def add(self, why: str, *events: Event | None, **extra: Any) -> None:
        self.total += 1
        if len(self.kept) < self.cap:
            self.kept.append(violation(why, *events, **extra))

    def extend(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.total += 1
            if len(self.kept) < self.cap:
                self.kept.append(record)

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0


def decide(
    name: str,
    violations: Violations | list[dict[str, Any]],
    *,
    decided: bool,
    figures: dict[str, Any],
    ok_message: str,
    unknown_message: str,
) -> CheckResult:
    """The verdict: violated if any violation, unknown if nothing was decided, else ok."""
    if isinstance(violations, list):
        collected = Violations()
        collected.extend(violations)
        violations = collected
    if violations:
        first = violations.kept[0]["why"]
        more = f" (+{violations.total - 1} more)" if violations.total > 1 else ""
        return CheckResult(name, "violated", violations.kept, first + more, figures,
                           violation_count=violations.total)
    if not decided:
        return CheckResult(name, "unknown", [], unknown_message, figures, violation_count=0)
    return CheckResult(name, "ok", [], ok_message, figures, violation_count=0)


def seconds(value: float | None) -> str:
    """A duration for a message: ``1.234 s``."""
    return "n/a" if value is None else f"{value:.3f} s"
