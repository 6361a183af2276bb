"""The explorer's only contact with the runner: run one scenario, read what it proved.

``zchaos explore`` sits beside the runner, not inside it. Everything it
needs from a run goes through :func:`run_and_read`, which calls
``Session.run`` (the very path of ``zchaos run``) and turns the outcome, the
report folder's ``report.json`` and ``history.jsonl`` into a
:class:`RunRecord`: the contracts' verdicts, which of them broke although
the scenario expects them to hold, what each fault hit (coverage), and the
figures the search steers by.

MERGE NOTE (issues 9 and 10), for when the ``vacuity`` helper's work lands:

1. Coverage (marked ``SWITCH(vacuity)``). :func:`read_coverage` prefers
   ``report.json["coverage"]["faults"]`` (each with ``hit``) when present,
   and only otherwise computes :func:`provisional_coverage` from the history
   (target alive when the fault was applied; client operations in flight
   then, or invoked, or one-way messages, during its window). Once every
   report carries coverage, delete :func:`provisional_coverage` and its call.
2. A node that died on its own before the first fault makes the run an
   ``error`` here (:func:`startup_failure`, also marked ``SWITCH(vacuity)``);
   the runner's fail-fast errors will say so themselves.
3. Scenario verdict ``unknown`` needs no switch: a run is uninformative when
   its coverage says no fault hit anything (:func:`informative`), whatever
   the verdict; a contract ``unknown`` (nothing to decide) never makes a
   failure, since only ``violated`` contracts do.

The ``gave_up`` event (issue 9) needs nothing here: operations are counted
with ``harness.history`` helpers and ``report.json["operations"]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import history as hist
from harness.checkers.timeline import alive_intervals, contains, named_nodes
from harness.roles import ROLES
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
    coverage_source: str  # "report" (vacuity) or "provisional" (this module)
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
        # SWITCH(vacuity): fail-fast errors (issue 10) make such a run an `error`.
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
    """Per-fault coverage: the report's when it has one, else the provisional one."""
    # SWITCH(vacuity): report.json "coverage" (issue 10) replaces the provisional figures.
    coverage = report.get("coverage")
    if isinstance(coverage, dict) and isinstance(coverage.get("faults"), list):
        return [dict(item) for item in coverage["faults"] if isinstance(item, dict)], "report"
    return provisional_coverage(events, scenario, report), "provisional"


def _match_fault_events(events: list[dict[str, Any]],
                        scenario: Scenario) -> list[tuple[float | None, float | None]]:
    """(apply time, revert time) of each scheduled fault, from the harness's fault events."""
    applies = [e for e in events if e.get("type") == "fault" and e.get("phase", "apply") == "apply"]
    reverts = [e for e in events if e.get("type") == "fault" and e.get("phase") == "revert"]
    used_apply: set[int] = set()
    used_revert: set[int] = set()
    out: list[tuple[float | None, float | None]] = []
    for fault in sorted(scenario.faults, key=lambda f: f.at):
        applied = next((i for i, e in enumerate(applies)
                        if i not in used_apply and e.get("fault") == fault.action), None)
        if applied is None:
            out.append((None, None))
            continue
        used_apply.add(applied)
        t_apply = float(applies[applied]["t"])
        reverted = next((i for i, e in enumerate(reverts) if i not in used_revert
                         and e.get("fault") == fault.action and e["t"] >= t_apply), None)
        t_revert = None
        if reverted is not None and fault.duration is not None:
            used_revert.add(reverted)
            t_revert = float(reverts[reverted]["t"])
        out.append((t_apply, t_revert))
    return out


def _link_of_endpoint(report: dict[str, Any]) -> dict[str, str]:
    """Proxy port -> link name (``A->B``), from report.json's ``proxies``."""
    out: dict[str, str] = {}
    for name, proxy in (report.get("proxies") or {}).items():
        listen = str((proxy or {}).get("listen", ""))
        if ":" in listen:
            out[listen.rsplit(":", 1)[1]] = name
    return out


def _uses_links(op: hist.Operation, links: set[str], port_link: dict[str, str],
                traced: set[str]) -> bool:
    """Did operation ``op`` travel over one of ``links``?

    A client's op uses ``client->server`` when a reply came from that proxy
    (``ok.server``), or when no reply says where it went (unanswered, or a
    client that names no server); a server's ``handled`` event puts the op
    on every link of that server. A link between nodes that trace no
    operation at all (``traced``: a broker, Titanic) cannot be judged, so
    every op counts. Conservative: when in doubt, it did.
    """
    ends = {node for link in links for node in named_nodes(link)}
    if not ends & traced:
        return True
    answered_via = {port_link.get(str(ok.get("server", "")).rsplit(":", 1)[-1])
                    for ok in op.oks if ok.get("server")}
    answered_via.discard(None)
    if op.node in ends and (not answered_via or answered_via & links):
        return True
    return any(e.get("node") in ends for e in op.handled)


def provisional_coverage(events: list[dict[str, Any]], scenario: Scenario,
                         report: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """What each fault hit, from the history alone (until report.json carries coverage).

    A fault hit something when its target was alive when it was applied (for
    a link: both ends; for a partition: some node on each side) and client
    work was exposed to it: operations in flight at the apply, or invoked,
    or one-way messages sent, during its window (apply to revert; to the
    run's end for a fault never reverted; half a second for ``restart`` and
    ``start``). For a network fault only the operations that travel over its
    links count (:func:`_uses_links`), so a fault on a link nobody uses (a
    client's link to the passive server of a pair) hit nothing. A ``start``
    is judged by work alone: its target is down by definition.
    """
    end = max((float(e["t"]) for e in events), default=scenario.duration)
    port_link = _link_of_endpoint(report or {})
    all_ops = [op for op in hist.operations(events).values() if op.invoke is not None]
    traced = {op.node for op in all_ops} | {e.get("node") for op in all_ops
                                             for e in op.handled}
    clients = {n.name for n in scenario.nodes.values() if ROLES[n.role].kind == "client"}
    times = _match_fault_events(events, scenario)
    out: list[dict[str, Any]] = []
    for index, (fault, (t_apply, t_revert)) in enumerate(
            zip(sorted(scenario.faults, key=lambda f: f.at), times, strict=True)):
        item: dict[str, Any] = {
            "index": index,
            "fault": fault.action,
            "target": list(fault.targets or fault.links),
            "at": t_apply,
            "until": t_revert,
        }
        if t_apply is None:
            item.update(alive=False, ops_in_flight=0, ops_started=0, messages=0, hit=False,
                        why="the fault was never applied (the run ended first)")
            out.append(item)
            continue
        if t_revert is not None:
            until = t_revert
        elif fault.action in ("restart", "start", "resume", "heal"):
            until = t_apply + INSTANT_WINDOW_S
        else:
            until = end
        if fault.is_process:
            touched = set(fault.targets)
        elif fault.sides:
            touched = {n for side in fault.sides for n in side}
        else:
            touched = set(named_nodes(",".join(fault.links)))

        def alive(node: str, t: float = t_apply) -> bool:
            return contains(alive_intervals(events, node, end), max(0.0, t - 1e-6))

        if fault.action == "start":
            is_alive = True
        elif fault.is_process:
            is_alive = any(alive(n) for n in touched)
        elif fault.sides:
            is_alive = all(any(alive(n) for n in side) for side in fault.sides)
        else:
            ends = [named_nodes(link) for link in fault.links]
            is_alive = any(all(alive(n) for n in pair) for pair in ends)
        ops = all_ops if fault.is_process else [
            op for op in all_ops if _uses_links(op, set(fault.links), port_link, traced)]
        in_flight = sum(1 for op in ops if op.invoke["t"] < t_apply
                        and not any(e["t"] <= t_apply for e in op.oks + op.fails))
        started = sum(1 for op in ops if t_apply <= op.invoke["t"] <= until)
        messengers = clients if fault.is_process else clients & touched
        messages = sum(1 for e in events
                       if t_apply <= e["t"] <= until and e.get("type") not in _NOT_ACTIVITY
                       and e.get("type") not in hist.OP_EVENT_TYPES
                       and e.get("node") in messengers and ("seq" in e or "op" in e))
        hit = is_alive and (in_flight + started + messages) > 0
        if not is_alive:
            why = "its target was not running when it was applied"
        elif not hit:
            why = ("no client work was in flight or started during its window"
                   + ("" if fault.is_process else " over its links"))
        else:
            why = (f"{in_flight} op(s) in flight, {started} invoked and {messages} client "
                   "event(s) during its window")
        item.update(alive=is_alive, ops_in_flight=in_flight, ops_started=started,
                    messages=messages, hit=hit, why=why)
        out.append(item)
    return out


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
