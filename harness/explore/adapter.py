"""The explorer's only contact with the runner: run one scenario, read what it proved.

``zchaos explore`` sits beside the runner, not inside it. Everything it
needs from a run goes through :func:`run_and_read`, which calls
``Session.run`` (the very path of ``zchaos run``) and turns the outcome, the
report folder's ``report.json`` and ``history.jsonl`` into a
:class:`RunRecord`: the contracts' verdicts, which of them broke although
the scenario expects them to hold, what each fault hit (coverage), and the
figures the search steers by.

What the run proved rests on the harness's own judgement:

1. Coverage is ``report.json["coverage"]["faults"]`` (harness/coverage.py):
   a run whose faults all hit nothing is uninformative (:func:`informative`).
2. The runner makes a node that dies before the workload begins an
   ``error``; :func:`startup_failure` extends that to a node that dies on its
   own after the workload began but before the first fault (a port taken
   under it), which the runner only notes: for the explorer such a run
   tested nothing the schedule did.
3. A scenario verdict ``unknown`` is not uninformative by itself: it also
   means one contract could not decide, and the run still tested the
   others; a contract ``unknown`` never makes a failure, only ``violated``
   ones do.

The ``gave_up`` event (issue 9) needs nothing here: operations are counted
with ``harness.history`` helpers and ``report.json["operations"]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import history as hist
from harness.scenario import Scenario

# Event types that are harness bookkeeping, not workload activity.
_NOT_ACTIVITY = frozenset({"fault", "lifecycle", "run", "state", "fatal", "mmi"})
# How long after an instantaneous fault (restart, start) its effect is looked for.
INSTANT_WINDOW_S = 0.5


@dataclass
class RunRecord:
    """What one real run of a scenario proved, as the explorer needs it."""

    name: str
    verdict: str  # the scenario verdict: pass | fail | unknown | error
    contracts: dict[str, str]  # contract -> ok | violated | unknown
    messages: dict[str, str]
    violated: list[str]  # contracts violated although the scenario expects them to hold
    coverage: list[dict[str, Any]]
    coverage_source: str  # "report", or "none" when the run wrote no coverage
    informative: bool  # some fault hit a live target with work going on
    figures: dict[str, float]
    report_dir: Path
    wall_s: float
    error: str | None = None
    operations: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "contracts": self.contracts,
            "violated": self.violated,
            "informative": self.informative,
            "coverage": self.coverage,
            "coverage_source": self.coverage_source,
            "figures": self.figures,
            "report": str(self.report_dir),
            "wall_s": round(self.wall_s, 3),
            "error": self.error,
        }


def run_and_read(session: Any, scenario: Scenario) -> RunRecord:
    """Run ``scenario`` in ``session`` (a ``harness.session.Session``) and read the result."""
    outcome = session.run(scenario)
    report = _read_json(Path(outcome.report_dir) / "report.json")
    events = hist.load_history(Path(outcome.report_dir) / "history.jsonl")
    expected = set(scenario.expect.violated) if scenario.expect.outcome != "pass" else set()
    contracts = {c.name: c.verdict for c in outcome.contracts}
    messages = {c.name: c.message for c in outcome.contracts}
    violated = [name for name, verdict in contracts.items()
                if verdict == "violated" and name not in expected]
    coverage, source = read_coverage(report, events, scenario)
    verdict, error = outcome.verdict, outcome.error
    broken = startup_failure(events)
    if broken is not None and verdict != "error":
        # the runner only notes a node that died after the workload began
        verdict, error, violated = "error", broken, []
    return RunRecord(
        name=scenario.name,
        verdict=verdict,
        contracts=contracts,
        messages=messages,
        violated=violated,
        coverage=coverage,
        coverage_source=source,
        informative=informative(outcome.verdict, coverage),
        figures=target_figures(report, outcome.operations),
        report_dir=Path(outcome.report_dir),
        wall_s=outcome.wall_s,
        error=error,
        operations=dict(outcome.operations or {}),
    )


def startup_failure(events: list[dict[str, Any]]) -> str | None:
    """A node that died on its own before the first fault: the run tested nothing.

    (A port taken between the harness choosing it and the node binding it,
    a command that does not start.) Such a run is a harness error, not a
    verdict on the system, so the explorer never reports it as a failure.
    """
    first_fault = min((float(e["t"]) for e in events if e.get("type") == "fault"),
                      default=None)
    for event in events:
        if first_fault is not None and event["t"] >= first_fault:
            break
        if (event.get("type") == "lifecycle" and event.get("event") == "exit"
                and event.get("code") not in (0, None)):
            return (f"node {event.get('target')} exited with status {event.get('code')} "
                    f"at {event['t']:.3f}s, before any fault (see its log)")
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def informative(verdict: str, coverage: list[dict[str, Any]]) -> bool:
    """Did the run test anything: no error, and some fault hit a live, busy target."""
    if verdict == "error":
        return False
    # Deliberately not `verdict == "unknown"` (issue 10's scenario verdict): it also
    # means "one contract could not decide" (failover_within without a dead server),
    # and such a run still tested the others. Coverage alone says whether faults hit.
    return not coverage or any(bool(item.get("hit")) for item in coverage)


def read_coverage(report: dict[str, Any], events: list[dict[str, Any]],
                  scenario: Scenario) -> tuple[list[dict[str, Any]], str]:
    """Per-fault coverage as the run's report.json gives it (harness/coverage.py);
    empty (source ``none``) for a run that wrote none (an ``error`` before any fault)."""
    coverage = report.get("coverage")
    if isinstance(coverage, dict) and isinstance(coverage.get("faults"), list):
        return [dict(item) for item in coverage["faults"] if isinstance(item, dict)], "report"
    return [], "none"


def _longest_double_active(intervals: Any) -> float:
    """Longest time two servers were ACTIVE at once, from at_most_one_active's figures."""
    if not isinstance(intervals, dict):
        return 0.0
    spans = [(node, float(s), float(e)) for node, items in intervals.items()
             for s, e in items if isinstance(items, list)]
    best = 0.0
    for i, (a, s1, e1) in enumerate(spans):
        for b, s2, e2 in spans[i + 1:]:
            if a != b:
                best = max(best, min(e1, e2) - max(s1, s2))
    return max(0.0, best)


def target_figures(report: dict[str, Any], operations: dict[str, Any] | None) -> dict[str, float]:
    """Figures the search climbs (``hypothesis.target``), all "bigger = closer to trouble".

    From what the checkers and the report already compute: the longest time
    two servers were ACTIVE together (``at_most_one_active``), operations
    failed or left unanswered, the worst latency, retries, the slowest
    failover (``failover_within``).
    """
    ops = operations or report.get("operations") or {}
    contracts = {c.get("name"): c for c in report.get("contracts") or [] if isinstance(c, dict)}
    active = (contracts.get("at_most_one_active") or {}).get("figures") or {}
    failover = (contracts.get("failover_within") or {}).get("figures") or {}
    latency = ops.get("latency") if isinstance(ops.get("latency"), dict) else {}

    def num(value: Any) -> float:
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
            else 0.0

    return {
        "two_active_s": round(_longest_double_active(active.get("active_intervals")), 6),
        "failed_ops": num(ops.get("failed")) + num(ops.get("unanswered")),
        "worst_latency_ms": num((latency or {}).get("max_ms")),
        "retries": num(ops.get("retries")),
        "failover_s": num(failover.get("max_s")),
    }
