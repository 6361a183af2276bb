"""Writes a scenario's report folder: report.json, junit.xml, summary.md.

``report.json`` is a public interface (DESIGN.md "Runs and reports"): CI
jobs and dashboards read ``scenario``, ``seed``, ``verdict``, ``expected``,
``contracts[].{name,verdict,violations}``, ``faults`` and ``operations``.
Add fields; never rename these.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from harness.report import pages

REPORT_VERSION = 1


def _fault_events(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in history if e.get("type") == "fault"]


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
) -> dict[str, Any]:
    return {
        "report_version": REPORT_VERSION,
        "scenario": scenario.name,
        "description": scenario.description,
        "pattern": scenario.pattern,
        "source": str(scenario.source),
        "run_id": options.run_id,
        "runtime": options.runtime,
        "seed": scenario.seed,
        "verdict": outcome.verdict,
        "expected": outcome.expected,
        "error": outcome.error,
        "contracts": [c.to_json() for c in outcome.contracts],
        "faults": _fault_events(history),
        "schedule": [
            {"at": f.at, "fault": f.action, "targets": list(f.targets), "links": list(f.links),
             "for": f.duration}
            for f in scenario.faults
        ],
        "operations": outcome.operations,
        "timing": timing,
        "nodes": {
            name: {"role": node.role, "starts": starts.get(name, 0), "exits": exits.get(name, [])}
            for name, node in scenario.nodes.items()
        },
        "proxies": (
            {n: {"listen": p.listen, "upstream": p.upstream} for n, p in wiring.proxies.items()}
            if wiring is not None
            else {}
        ),
        "impls": dict(options.impls),
        "trace": trace_stats or {},
        "replay": f"zchaos replay {outcome.report_dir}",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def write_junit(report: dict[str, Any], path: Path) -> None:
    """One testsuite per scenario, one testcase per contract plus the expectation."""
    cases = report["contracts"]
    failures = 1 if report["verdict"] == "fail" else 0
    errors = 1 if report["verdict"] == "error" else 0
    suite = ET.Element(
        "testsuite",
        name=f"zchaos.{report['scenario']}",
        tests=str(len(cases) + 1),
        failures=str(failures),
        errors=str(errors),
        time=str(report["timing"].get("wall_s", 0)),
    )
    for contract in cases:
        case = ET.SubElement(suite, "testcase", classname=f"zchaos.{report['scenario']}",
                             name=contract["name"])
        props = ET.SubElement(case, "system-out")
        props.text = f"verdict: {contract['verdict']}; {contract.get('message', '')}"
    expect = ET.SubElement(suite, "testcase", classname=f"zchaos.{report['scenario']}",
                           name="expectation")
    if report["verdict"] == "fail":
        got = ", ".join(f"{c['name']}={c['verdict']}" for c in cases)
        failure = ET.SubElement(expect, "failure", message=f"expected {report['expected']}")
        failure.text = f"expected {report['expected']}; got {got}\nreplay: {report['replay']}"
    elif report["verdict"] == "error":
        err = ET.SubElement(expect, "error", message=report.get("error") or "harness error")
        err.text = report.get("error") or ""
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def write_summary(report: dict[str, Any], path: Path) -> None:
    ops = report["operations"]
    lines = [
        f"# {report['scenario']}: {report['verdict'].upper()}",
        "",
        report.get("description") or "",
        "",
        f"- expected: {report['expected']}",
        f"- seed: {report['seed']}  runtime: {report['runtime']}  run: {report['run_id']}",
        f"- replay: `{report['replay']}`",
    ]
    if report.get("error"):
        lines.append(f"- error: {report['error']}")
    lines += ["", "## Contracts", "", "| contract | verdict | violations | note |",
              "|---|---|---|---|"]
    for c in report["contracts"]:
        note = (c.get("message") or "").replace("|", "/")
        lines.append(f"| {c['name']} | {c['verdict']} | {c.get('violation_count', 0)} | {note} |")
    lines += ["", "## Operations", "", "| figure | value |", "|---|---|"]
    for key, value in ops.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
        lines.append(f"| {key} | {_fmt(value)} |")
    lines += ["", "## Faults", "", "| t (s) | fault | target | phase |", "|---|---|---|---|"]
    for f in report["faults"]:
        target, phase = f.get("target", ""), f.get("phase", "")
        lines.append(f"| {f['t']:.3f} | {f['fault']} | {target} | {phase} |")
    for c in report["contracts"]:
        if c["violations"]:
            lines += ["", f"## Violations of {c['name']} (first 10 of {c['violation_count']})", ""]
            for v in c["violations"][:10]:
                lines.append(f"- {json.dumps(v)[:400]}")
    lines += ["", "## Timing", ""]
    lines += [f"- {k}: {v}" for k, v in report["timing"].items()]
    path.write_text("\n".join(lines) + "\n")


def write_reports(outcome: Any, **kw: Any) -> dict[str, Any]:
    report = build_report(outcome, **kw)
    folder: Path = outcome.report_dir
    (folder / "report.json").write_text(json.dumps(report, indent=2, default=str))
    write_junit(report, folder / "junit.xml")
    write_summary(report, folder / "summary.md")
    pages.write_scenario_outputs(folder, report, kw["history"])  # index.html, timeline.png
    return report
