"""A scenario's verdict: ``pass``, ``fail``, ``unknown`` or ``error``, and why.

One rule for the runner, the reports and the CLI (docs/coverage-and-seeds.md):

- ``error``: the run could not test anything: the harness failed, a node
  exited before it was ready or before the workload began, a client wrote no
  trace event. Nothing was checked.
- ``fail``: something contradicts the expectation: a contract expected to
  hold was violated, or a contract a negative control expects violated held
  (the broken implementation was not caught).
- ``unknown``: nothing contradicts the expectation, but the run could not
  prove it: a contract was ``unknown`` (too little happened, a bound the run
  was too short to reach, trace lines lost), or, for ``expect: pass``, a
  fault hit nothing (see harness/coverage.py) and does not say ``idle_ok``.
- ``pass``: every contract came out as expected and every fault of an
  ``expect: pass`` scenario hit live work.

Only ``pass`` exits 0; ``fail``, ``unknown`` and ``error`` exit 1.

Lost trace lines: a torn or garbage line of a node is an event nobody can
read. A contract that reads that node's events cannot be trusted either way
(a lost ``ok`` makes an answered request look unanswered, a lost ``invoke``
hides one), so its verdict becomes ``unknown``, naming the node and the
count. Which nodes a contract reads is :data:`CONTRACT_READS`; a contract not
listed there is assumed to read every node.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.base import CheckResult

VERDICTS = ("pass", "fail", "unknown", "error")

# contract -> the kinds of node whose events it reads (besides the harness's own)
_CLIENTS = frozenset({"client"})
_ALL = frozenset({"client", "server"})
CONTRACT_READS: dict[str, frozenset[str]] = {
    "replies_match_requests": _CLIENTS,
    "every_request_answered": _CLIENTS,
    "bounded_give_up": _CLIENTS,
    "availability": _CLIENTS,
    "latency": _CLIENTS,
    "durable_acks": _CLIENTS,
    "mmi_reflects_workers": _CLIENTS,
    "no_duplicate_execution": _ALL,
    "duplicate_executions": _ALL,
    "at_most_one_active": _ALL,
    "failover_within": _ALL,
}


@dataclass
class Decision:
    """The scenario's verdict and the sentences that justify it (empty for a clean pass)."""

    verdict: str
    reasons: list[str] = field(default_factory=list)


def account_for_lost_lines(
    results: Sequence[CheckResult],
    lost: Mapping[str, int],
    kinds: Mapping[str, str],
) -> list[CheckResult]:
    """Results with ``unknown`` where a contract reads a node that lost trace lines.

    ``lost``: node -> lines lost; ``kinds``: node -> ``client``/``server``.
    The original verdict and message stay in ``figures``.
    """
    out: list[CheckResult] = []
    for result in results:
        reads = CONTRACT_READS.get(result.name, _ALL)
        hurt = {node: n for node, n in sorted(lost.items())
                if n > 0 and kinds.get(node, "server") in reads}
        if not hurt or result.verdict == "unknown":
            out.append(result)
            continue
        counts = ", ".join(f"{n} of {node}" for node, n in hurt.items())
        figures = {**result.figures, "verdict_before_lost_lines": result.verdict,
                   "message_before_lost_lines": result.message, "lost_lines": hurt}
        message = (f"trace lines were lost ({counts}: torn or not JSON) and this contract "
                   f"reads those nodes' events, so its verdict ({result.verdict}) cannot be "
                   "trusted")
        out.append(dataclasses.replace(result, verdict="unknown", message=message,
                                       figures=figures))
    return out


def decide(
    expect: Any,
    results: Sequence[CheckResult],
    uncovered: Sequence[Mapping[str, Any]],
    error: str | None,
) -> Decision:
    """The scenario verdict from its expectation, contract results and uncovered faults."""
    if error is not None:
        return Decision("error", [error])
    expected = set(expect.violated) if expect.outcome == "violated" else set()
    fails: list[str] = []
    unknowns: list[str] = []
    for r in results:
        if r.name in expected:
            if r.verdict == "ok":
                fails.append(f"{r.name} held, but this negative control expects it violated: "
                             "the broken behaviour was not caught")
            elif r.verdict == "unknown":
                unknowns.append(f"{r.name} (expected violated) could not be decided: "
                                f"{r.message}")
        elif r.verdict == "violated":
            fails.append(f"{r.name} violated: {r.message}")
        elif r.verdict == "unknown":
            unknowns.append(f"{r.name} could not be decided: {r.message}")
    if expect.outcome == "pass":
        unknowns += [f"fault #{u['index']} proves nothing: {u['why']}" for u in uncovered]
    if fails:
        return Decision("fail", fails + unknowns)
    if unknowns:
        return Decision("unknown", unknowns)
    return Decision("pass", [])
