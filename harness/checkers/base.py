"""The checker interface: a contract is a pure function of the history.

A checker never talks to a node. It reads the merged history (a list of
event dicts sorted by ``t``, see docs/trace-events.md) and the scenario facts
in :class:`CheckContext`, and returns a :class:`CheckResult` whose verdict is
``ok``, ``violated`` or ``unknown``. ``unknown`` means the history cannot
decide (e.g. no operation completed) and is never reported as a pass, as
Jepsen keeps ``:unknown`` apart from ``true``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.history import Event

__all__ = ["MAX_VIOLATIONS", "CheckContext", "CheckResult", "Checker", "Event", "NodeFacts",
           "Verdict"]

Verdict = Literal["ok", "violated", "unknown"]

# The one cap on evidence: a result keeps (and report.json shows) at most this
# many violations; ``violation_count`` is always the true total.
MAX_VIOLATIONS = 100


@dataclass(frozen=True)
class NodeFacts:
    """What a checker may know about a node: its role and resolved options.

    Durations in ``options`` are in milliseconds (``timeout: 2500``).
    """

    name: str
    role: str
    kind: Literal["client", "server"]
    options: Mapping[str, Any] = field(default_factory=dict)
    connects: tuple[str, ...] = ()  # target node names, in the scenario's order


@dataclass(frozen=True)
class CheckContext:
    """Scenario facts a checker may use besides the history.

    ``faults`` is the resolved schedule: dicts with ``at`` (s), ``fault``,
    ``target`` and ``until`` (s, or None when the fault is never reverted).
    ``end`` is when the harness stopped the workload (s since run start).
    """

    nodes: Mapping[str, NodeFacts]
    faults: tuple[Mapping[str, Any], ...] = ()
    duration: float = 0.0
    end: float = 0.0
    # endpoint a client was handed (the proxy's address) -> node bound behind it,
    # so an ``ok`` event's ``server`` field names the node that answered.
    endpoint_owner: Mapping[str, str] = field(default_factory=dict)

    def clients(self) -> list[NodeFacts]:
        return [n for n in self.nodes.values() if n.kind == "client"]


@dataclass
class CheckResult:
    """One contract's verdict, the events that prove it, and figures for the report."""

    name: str
    verdict: Verdict
    violations: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    # every violation found, counted past the cap (None: len(violations))
    violation_count: int | None = None

    @property
    def total_violations(self) -> int:
        count = self.violation_count
        return len(self.violations) if count is None else max(count, len(self.violations))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "message": self.message,
            "violations": self.violations[:MAX_VIOLATIONS],
            "violation_count": self.total_violations,
            "figures": self.figures,
        }


# A checker: (history, context, **params) -> CheckResult
Checker = Callable[..., CheckResult]
