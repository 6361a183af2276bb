"""Small helpers every checker uses to build its result the same way.

A violation is a dict with a one-line ``why`` and the events that prove it,
so the report can show the evidence next to the verdict. ``decide`` turns
"what was found" into the verdict with one rule for every contract:
violations win, then "nothing could be decided" is ``unknown``, else ``ok``.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.base import CheckResult, Event

# Keep results small: a checker stops collecting evidence after this many.
MAX_VIOLATIONS = 1000


def violation(why: str, *events: Event | None, **extra: Any) -> dict[str, Any]:
    """One violation: why it is one, the events involved, and any extra facts."""
    record: dict[str, Any] = {"why": why, "events": [e for e in events if e is not None]}
    record.update(extra)
    return record


def decide(
    name: str,
    violations: list[dict[str, Any]],
    *,
    decided: bool,
    figures: dict[str, Any],
    ok_message: str,
    unknown_message: str,
) -> CheckResult:
    """The verdict: violated if any violation, unknown if nothing was decided, else ok."""
    if violations:
        first = violations[0]["why"]
        more = f" (+{len(violations) - 1} more)" if len(violations) > 1 else ""
        return CheckResult(name, "violated", violations[:MAX_VIOLATIONS], first + more, figures)
    if not decided:
        return CheckResult(name, "unknown", [], unknown_message, figures)
    return CheckResult(name, "ok", [], ok_message, figures)


def seconds(value: float | None) -> str:
    """A duration for a message: ``1.234 s``."""
    return "n/a" if value is None else f"{value:.3f} s"
