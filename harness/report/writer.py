"""Writes a scenario's report folder: report.json, junit.xml, summary.md (+ pictures).

``report.json`` is a public interface (DESIGN.md "Runs and reports"): CI
jobs and dashboards read ``scenario``, ``seed``, ``verdict``, ``expected``,
``contracts[].{name,verdict,violations}``, ``faults`` and ``operations``.
Add fields; never rename these. Round 2 added ``status``
(``complete``/``interrupted``), ``reasons`` (why the verdict), ``coverage``
(what each fault hit: harness/coverage.py), ``failure`` (a node that died
before the run could test anything, with the end of its log), ``exits``
(why each process ended: harness/lifecycle.py), ``notes``, ``endpoints``
(proxy endpoint -> node) and ``trace.lost_lines`` (per node).

This module is the entry point (:func:`write_reports`); each format lives in
its own module (``junit.py``, ``summary.py``, ``plots.py``), and a new one
hooks in with one call in :func:`write_reports`.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

from harness.report import pages
from harness.report.junit import write_junit
from harness.report.summary import write_summary

REPORT_VERSION = 2


def _fault_events(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in history if e.get("type") == "fault"]


def _expected_violated(scenario: Any) -> list[str]:
    return list(scenario.expect.violated) if scenario.expect.outcome == "violated" else []


def _schedule(scenario: Any) -> list[dict[str, Any]]:
    return [
        {"at": f.at, "fault": f.action, "targets": list(f.targets), "links": list(f.links),
         "for": f.duration, "idle_ok": bool(getattr(f, "idle_ok", False))}
        for f in scenario.faults
    ]


def build_report(
    outcome: Any,
    *,
    scenario: Any,
    options: Any,
    history: list[dict[str, Any]],
    timing: dict[str, float],
    exits: dict[str, list[int]],
    starts: dict[str, int],
    wiring: Any,
    trace_stats: dict[str, Any] | None = None,
    failure: dict[str, Any] | None = None,
    exit_records: list[dict[str, Any]] | None = None,
    clock: dict[str, float] | None = None,
) -> dict[str, Any]:
    from harness.roles import ROLES

    return {
        "report_version": REPORT_VERSION,
        "scenario": scenario.name,
        "description": scenario.description,
        "pattern": scenario.pattern,
        "source": str(scenario.source),
        "run_id": options.run_id,
        "runtime": options.runtime,
        "seed": scenario.seed,
        "status": getattr(outcome, "status", "complete"),
        "verdict": outcome.verdict,
        "expected": outcome.expected,
        "expected_violated": _expected_violated(scenario),
        "reasons": list(getattr(outcome, "reasons", [])),
        "error": outcome.error,
        "failure": failure,
        "contract_names": [spec.name for spec in scenario.contracts],
        "contracts": [c.to_json() for c in outcome.contracts],
        "coverage": getattr(outcome, "coverage", None) or {},
        "faults": _fault_events(history),
        "schedule": _schedule(scenario),
        "operations": outcome.operations,
        "notes": list(getattr(outcome, "notes", [])),
        "timing": timing,
        # the run clock's 0 (ZCHAOS_T0) as wall-clock time, to line node logs up with events
        "clock": clock or {},
        "nodes": {
            name: {"role": node.role, "kind": ROLES[node.role].kind,
                   "starts": starts.get(name, 0), "exits": exits.get(name, [])}
            for name, node in scenario.nodes.items()
        },
        "exits": exit_records or [],
        "proxies": (
            {n: {"listen": p.listen, "upstream": p.upstream} for n, p in wiring.proxies.items()}
            if wiring is not None
            else {}
        ),
        "endpoints": wiring.endpoint_owner() if wiring is not None else {},
        "impls": dict(options.impls),
        "trace": trace_stats or {},
        "replay": f"zchaos replay {outcome.report_dir}",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def write_placeholder(folder: Path, scenario: Any, options: Any) -> None:
    """The report.json and summary.md of a run that has not finished (yet).

    Written when a scenario starts and replaced when it ends: a harness
    killed outright leaves a folder that says it was interrupted and where
    its traces and logs are, not a bare ``traces/``.
    """
    report = {
        "report_version": REPORT_VERSION,
        "scenario": scenario.name,
        "run_id": options.run_id,
        "runtime": options.runtime,
        "seed": scenario.seed,
        "status": "interrupted",
        "verdict": "error",
        "error": "the harness stopped before the end of this scenario (killed?); its traces "
                 "are in traces/, its node logs in logs/",
        "replay": f"zchaos replay {folder}",
    }
    (folder / "report.json").write_text(json.dumps(report, indent=2))
    (folder / "summary.md").write_text(
        f"# {scenario.name}: ERROR (interrupted)\n\n{report['error']}.\n\n"
        f"- seed: {scenario.seed} · runtime: {options.runtime} · run: {options.run_id}\n"
        f"- replay: `{report['replay']}`\n")


def write_reports(outcome: Any, **kw: Any) -> dict[str, Any]:
    report = build_report(outcome, **kw)
    folder: Path = outcome.report_dir
    write_junit(report, folder / "junit.xml")
    write_summary(report, folder / "summary.md")
    pages.write_scenario_outputs(folder, report, kw["history"])  # index.html, timeline.png
    # last: a report.json without "interrupted" means every other file is written
    (folder / "report.json").write_text(json.dumps(report, indent=2, default=str))
    return report
