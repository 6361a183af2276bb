"""``zchaos check`` warnings: schedules that cannot prove what they claim.

A scenario can be valid and still be vacuous. These checks estimate, from
the file alone, what the run will show as "uncovered" or "unknown", and say
which number to change:

- a fault that no client is sure to be busy for: every client that the
  fault concerns (the clients it names, else every client) has a finite
  workload that may be over by then. A client that sends ``requests: N`` at
  ``rate: R`` invokes its last request no earlier than (N-1)/R after it
  starts; with ``rate: 0`` it may be done at once. The run will then likely
  say the fault hit an idle system (harness/coverage.py);
- a fault that *cannot* be covered: every such client's last request will
  surely have ended before it (each request ends within ``timeout`` x
  ``retries``);
- ``every_request_answered`` (bound: its ``within``, else the clients'
  give-up bound) and ``durable_acks`` (bound: ``grace``) when the run ends
  before the last impairment heals plus the bound plus a second of margin:
  requests around the last fault could not be decided.

Faults marked ``idle_ok: true`` are not warned about. Warnings never change
the exit code of ``zchaos check`` (0): they are advice, printed as
``file:line: field: warning: ...``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.durations import format_duration
from harness.roles import ROLES
from harness.scenario.model import Fault, Scenario

# The workload options every client role shares (patterns/common/role.py).
DEFAULT_REQUESTS = 10
DEFAULT_RATE = 0.0
DEFAULT_TIMEOUT_S = 2.5
DEFAULT_RETRIES = 3
# Roles whose requests may stay open longer than timeout x retries (Titanic polls).
UNBOUNDED_REQUESTS = frozenset({"titanic.client"})


@dataclass
class Warning_:
    line: int | None
    field: str
    message: str


def _fmt(seconds: float) -> str:
    return format_duration(round(seconds, 3)) if math.isfinite(seconds) else "never"


@dataclass
class _Run:
    """One incarnation of a client's workload: it restarts from request 1."""

    start: float
    stop: float  # when a fault ends it (inf: runs to completion)


def _client_runs(name: str, autostart: bool, faults: list[Fault]) -> list[_Run]:
    starts = [0.0] if autostart else []
    stops: list[float] = []
    for f in faults:
        if name not in f.targets:
            continue
        if f.action in ("start", "restart"):
            starts.append(f.at)
        if f.action in ("kill", "stop", "restart"):
            stops.append(f.at)
            if f.duration is not None and f.action != "restart":
                starts.append(f.at + f.duration)
    runs = []
    for s in sorted(starts):
        later = [t for t in stops if t > s]
        runs.append(_Run(s, min(later, default=math.inf)))
    return runs


@dataclass
class _Client:
    name: str
    requests: int
    rate: float
    per_request_s: float  # the longest a request can stay open (inf: unbounded)
    runs: list[_Run]

    def sure_busy_until(self, run: _Run) -> float:
        """The last request of ``run`` is invoked no earlier than this."""
        if self.requests == 0:
            return run.stop
        if self.rate <= 0:
            return run.start
        return min(run.stop, run.start + (self.requests - 1) / self.rate)

    def done_by(self, run: _Run) -> float:
        """Every request of ``run`` has surely ended by then."""
        if self.requests == 0:
            return run.stop
        pace = (self.requests - 1) / self.rate if self.rate > 0 else 0.0
        return min(run.stop, run.start + pace + self.requests * self.per_request_s)

    def workload(self) -> str:
        if self.requests == 0:
            return "requests until stopped"
        pace = f"at {self.rate:g}/s" if self.rate > 0 else "back to back (rate 0)"
        return f"{self.requests} requests {pace}"


def _clients(scenario: Scenario) -> dict[str, _Client]:
    out: dict[str, _Client] = {}
    faults = list(scenario.faults)
    for node in scenario.nodes.values():
        role = ROLES[node.role]
        if role.kind != "client":
            continue
        options = node.options
        requests = int(options.get("requests", DEFAULT_REQUESTS))
        rate = float(options.get("rate", DEFAULT_RATE))
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT_S * 1000)) / 1000
        retries = max(1, int(options.get("retries", DEFAULT_RETRIES)))
        per_request = math.inf if node.role in UNBOUNDED_REQUESTS or "requests" not in \
            role.options else timeout * retries
        if "requests" not in role.options:
            requests = 0  # a role without a request count: its workload is its own
        out[node.name] = _Client(node.name, requests, rate, per_request,
                                 _client_runs(node.name, node.autostart, faults))
    return out


def _concerned(fault: Fault, scenario: Scenario, clients: dict[str, _Client]) -> list[str]:
    named = set(fault.targets)
    for side in fault.sides or []:
        named |= set(side)
    for link in fault.links:
        source, _, target = link.partition("->")
        named |= {source, target}
    mine = sorted(named & set(clients))
    return mine or sorted(clients)


def _fault_warning(fault: Fault, scenario: Scenario, clients: dict[str, _Client]) -> str | None:
    names = _concerned(fault, scenario, clients)
    if not names:
        return None
    at = fault.at
    # the window in which work counts (as harness/coverage.py counts it, conservatively)
    if fault.duration is not None:
        window_end = at + fault.duration
    elif fault.action in ("start", "restart", "resume", "heal"):
        window_end = scenario.duration
    else:
        window_end = at
    runs = [(clients[n], run) for n in names for run in clients[n].runs
            if run.start <= window_end]
    if any(c.sure_busy_until(run) >= at for c, run in runs):
        return None
    what = f"{fault.action} at {_fmt(at)}"
    if all(c.done_by(run) < at for c, run in runs):
        ends = ", ".join(f"{c.name} by {_fmt(c.done_by(run))}" for c, run in runs) or \
            "no client runs before it"
        return (f"{what} cannot hit live work: every client it concerns has surely finished "
                f"by then ({ends}); move it earlier, give a client requests: 0 (until "
                "stopped) or more requests, or mark it idle_ok: true")
    hints = []
    for c, run in runs:
        if c.rate > 0:
            needed = math.ceil((at - run.start) * c.rate) + 1
            hints.append(f"{c.name} sends {c.workload()}, its last one as early as "
                         f"{_fmt(c.sure_busy_until(run))}: raise requests to {needed} (or 0 = "
                         "until stopped)")
        else:
            rate = (c.requests - 1) / max(at - run.start, 1e-3) if c.requests > 1 else 0
            hints.append(f"{c.name} sends {c.workload()} and may be done at once: set rate to "
                         f"at most {rate:.3g} so they span the fault, or requests: 0"
                         if rate else f"{c.name} sends {c.workload()}: raise requests")
    if not runs:
        hints.append("no client it concerns has started by then")
    return (f"{what} may hit an idle system: no client it concerns is sure to be busy then; "
            + "; ".join(hints))


def _impairment_end(fault: Fault, faults: list[Fault]) -> float | None:
    """When what ``fault`` broke is whole again (None: never, in this run)."""
    if fault.duration is not None:
        return fault.at + fault.duration
    later = [f for f in faults if f.at > fault.at]
    if fault.action in ("kill", "stop"):
        back = [f.at for f in later if f.action in ("start", "restart")
                and set(f.targets) & set(fault.targets)]
        return min(back, default=None)
    if fault.action == "pause":
        back = [f.at for f in later if f.action == "resume"
                and set(f.targets) & set(fault.targets)]
        return min(back, default=None)
    if fault.action in ("start", "restart", "resume", "heal"):
        return fault.at
    back = [f.at for f in later if f.action == "heal"]
    return min(back, default=None)


def last_heal(faults: list[Fault]) -> float | None:
    """When the schedule's last impairment is over (scenario seconds); None: no fault heals."""
    ends = [e for f in faults if (e := _impairment_end(f, faults)) is not None]
    return max(ends) if ends else None


# Seconds of slack a run needs beyond "last heal + bound": faults take effect a
# little after their scheduled time, and the last requests need a moment to land.
DECIDE_MARGIN = 1.0


def _client_bound(scenario: Scenario) -> float:
    """The longest give-up bound of any client (what every_request_answered uses
    without ``within``; see harness/checkers/rules.py), else the default grace."""
    from harness.checkers.rules import BOUND_MARGIN, DEFAULT_GRACE, DEFAULT_SLACK
    from harness.roles import give_up_budget

    bounds = []
    for node in scenario.nodes.values():
        role = ROLES.get(node.role)
        if role is None or role.kind != "client":
            continue
        budget = give_up_budget(node.role, node.options, max(1, len(node.connect)))
        bounds.append(DEFAULT_GRACE if budget is None
                      else budget.total * (1.0 + DEFAULT_SLACK) + BOUND_MARGIN)
    return max(bounds, default=DEFAULT_GRACE)


def decision_bounds(scenario: Scenario) -> list[tuple[int, str, float]]:
    """``(contract index, name, bound)`` of the contracts that need ``bound``
    seconds after the last heal to decide: every_request_answered (its
    ``within``, else the clients' give-up bound) and durable_acks (``grace``)."""
    from harness.checkers import contract_params

    found = []
    for index, spec in enumerate(scenario.contracts):
        if spec.name == "every_request_answered":
            within = spec.params.get("within")
            bound = within if isinstance(within, int | float) else _client_bound(scenario)
        elif spec.name == "durable_acks":
            grace = spec.params.get("grace", contract_params("durable_acks").get("grace"))
            if not isinstance(grace, int | float):
                continue
            bound = grace
        else:
            continue
        found.append((index, spec.name, float(bound)))
    return found


def decidable_after(scenario: Scenario) -> float:
    """Scenario time from which every bounded contract can decide (0: no fault heals)."""
    healed = last_heal(list(scenario.faults))
    bounds = [bound for _, _, bound in decision_bounds(scenario)]
    if healed is None or not bounds:
        return 0.0
    return healed + max(bounds) + DECIDE_MARGIN


def _within_warnings(scenario: Scenario) -> list[tuple[int, str]]:
    healed = last_heal(list(scenario.faults))
    if healed is None:
        return []
    out = []
    for index, name, bound in decision_bounds(scenario):
        needed = healed + bound + DECIDE_MARGIN
        if needed <= scenario.duration:
            continue
        what = "grace" if name == "durable_acks" else "within"
        fix = f"set duration to at least {_fmt(needed)}"
        if scenario.duration > healed + DECIDE_MARGIN:
            fix += f", or {what} to at most {_fmt(scenario.duration - healed - DECIDE_MARGIN)}"
        out.append((index, f"{name} ({what} {_fmt(bound)}) cannot be decided for requests "
                           f"around the last fault: it heals at {_fmt(healed)} and the run "
                           f"ends at {_fmt(scenario.duration)}, leaving less than the bound "
                           f"plus {_fmt(DECIDE_MARGIN)} of margin; {fix}"))
    return out


def scenario_warnings(scenario: Scenario,
                      lines: Mapping[tuple[Any, ...], int] | None = None) -> list[Warning_]:
    """Every warning for ``scenario``; ``lines`` maps YAML paths to lines (from the loader)."""
    lines = lines or {}
    fault_index = {line: path[1] for path, line in lines.items()
                   if len(path) == 2 and path[0] == "faults"}
    clients = _clients(scenario)
    found: list[Warning_] = []
    for fault in scenario.faults:
        if fault.idle_ok:
            continue
        message = _fault_warning(fault, scenario, clients)
        if message:
            index = fault_index.get(fault.line)
            field = f"faults[{index}]" if index is not None else "faults"
            found.append(Warning_(fault.line or None, field, message))
    for index, message in _within_warnings(scenario):
        found.append(Warning_(lines.get(("contracts", index)), f"contracts[{index}]", message))
    return found
