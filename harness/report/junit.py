"""junit.xml: one testcase per scenario-and-contract, red exactly when CI should be.

A CI viewer shows each contract of each scenario as a test:

- green: the contract came out as expected: ``ok`` where it must hold, or
  ``violated`` in a negative control that expects it (the violation is in
  ``system-out``, so the proof is one click away);
- failure: a contract violated that must hold (its first violations as the
  failure text), a contract a negative control expects violated that held,
  or an ``unknown`` contract (why it could not be decided): none of them
  proves what the scenario claims;
- error: the run could not check anything (a node died at start, the
  harness failed, the run was interrupted).

A scenario with faults gets one more testcase, ``fault coverage``: a failure
when an ``expect: pass`` scenario's fault hit nothing (the verdict is
``unknown``), else green with what each fault hit.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from harness.report.text import nodes_for_endpoints, violation_sentence

FIRST_VIOLATIONS = 5


def _violations_text(contract: Mapping[str, Any], owner: Mapping[str, str]) -> str:
    shown = contract.get("violations") or []
    lines = [violation_sentence(v, owner) for v in shown[:FIRST_VIOLATIONS]]
    total = contract.get("violation_count", len(shown))
    if total > len(lines):
        lines.append(f"... {total - len(lines)} more (report.json)")
    return "\n".join(lines)


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=name)


def _fill_contract(case: ET.Element, contract: Mapping[str, Any], expected_violated: bool,
                   owner: Mapping[str, str], replay: str) -> str:
    """Add the contract's outcome to ``case``; returns ``pass``/``failure``."""
    name, verdict = contract["name"], contract["verdict"]
    message = nodes_for_endpoints(contract.get("message") or "", owner)
    details = _violations_text(contract, owner)
    if verdict == "violated" and expected_violated:
        out = ET.SubElement(case, "system-out")
        out.text = (f"expected violation (negative control): {message}\n{details}").strip()
        return "pass"
    if verdict == "ok" and not expected_violated:
        out = ET.SubElement(case, "system-out")
        out.text = f"held: {message}".strip()
        return "pass"
    if verdict == "ok":
        failure = ET.SubElement(case, "failure", type="not-caught",
                                message=f"{name} held, but this negative control expects it "
                                        "violated: the broken behaviour was not caught")
        failure.text = f"{message}\nreplay: {replay}"
    elif verdict == "violated":
        failure = ET.SubElement(case, "failure", type="violated", message=message)
        failure.text = f"{details}\nreplay: {replay}"
    else:
        failure = ET.SubElement(case, "failure", type="unknown",
                                message=f"could not be decided: {message}")
        failure.text = (f"{name} is unknown: {message}\nAn unknown contract proves nothing; "
                        f"see summary.md.\nreplay: {replay}")
    return "failure"


def build_junit(report: Mapping[str, Any]) -> ET.Element:
    scenario = report["scenario"]
    classname = f"zchaos.{scenario}"
    owner = report.get("endpoints") or {}
    replay = report.get("replay", "")
    expected = set(report.get("expected_violated") or [])
    suite = ET.Element("testsuite", name=classname,
                       time=str(report.get("timing", {}).get("wall_s", 0)))
    props = ET.SubElement(suite, "properties")
    for key in ("seed", "runtime", "verdict", "expected", "status"):
        ET.SubElement(props, "property", name=key, value=str(report.get(key, "")))
    failures = errors = tests = 0
    if report["verdict"] == "error" or report.get("status") == "interrupted":
        why = report.get("error") or "the run was interrupted"
        names = list(report.get("contract_names") or []) or ["run"]
        for name in names:
            case = _case(suite, classname, name)
            err = ET.SubElement(case, "error", type="error", message=f"not checked: {why}")
            failure = report.get("failure") or {}
            tail = "\n".join(failure.get("log_tail") or [])
            err.text = why + (f"\nlast lines of logs/{failure.get('node')}.log:\n{tail}"
                              if tail else "") + f"\nreplay: {replay}"
            tests += 1
            errors += 1
    else:
        for contract in report["contracts"]:
            case = _case(suite, classname, contract["name"])
            tests += 1
            if _fill_contract(case, contract, contract["name"] in expected, owner,
                              replay) == "failure":
                failures += 1
        coverage = report.get("coverage") or {}
        if coverage.get("faults"):
            tests += 1
            case = _case(suite, classname, "fault coverage")
            whys = "\n".join(f"#{f['index']}: {f['why']}" for f in coverage["faults"])
            uncovered = coverage.get("uncovered") or []
            if uncovered and report.get("expected") == "pass":
                failures += 1
                failure = ET.SubElement(
                    case, "failure", type="uncovered",
                    message=f"{len(uncovered)} of {coverage['total']} faults hit nothing: the "
                            "pass would rest on them")
                failure.text = whys
            else:
                out = ET.SubElement(case, "system-out")
                out.text = whys
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    return suite


def write_junit(report: Mapping[str, Any], path: Path) -> None:
    tree = ET.ElementTree(build_junit(report))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def build_repeat_junit(entry: Mapping[str, Any]) -> ET.Element:
    """``<scenario>/junit.xml`` of a ``--repeat K`` run: the scenario over its K runs.

    One testcase for the verdict (a failure unless all K runs matched
    ``expect``, naming the seeds that differed and a replay command) and one
    per contract with its count (``every_request_answered 9/10``). Each
    repeat's own ``rNN/junit.xml`` keeps the per-run detail.
    """
    scenario = str(entry["scenario"])
    classname = f"zchaos.{scenario}"
    suite = ET.Element("testsuite", name=f"{classname}.repeats")
    runs, matched = int(entry.get("runs", 0)), int(entry.get("matched", 0))
    failures = 0
    case = _case(suite, classname, f"verdict {matched}/{runs}")
    differed = entry.get("differed") or []
    if matched < runs:
        failures += 1
        failure = ET.SubElement(case, "failure", type="unstable",
                                message=f"{matched} of {runs} runs matched {entry['expected']}")
        failure.text = "\n".join([f"seed {d['seed']}: {d['verdict']} ({d['replay']})"
                                  for d in differed])
    for name, count in (entry.get("contracts") or {}).items():
        held, total = int(count["as_expected"]), int(count["runs"])
        case = _case(suite, classname, f"{name} {held}/{total}")
        if held < total:
            failures += 1
            ET.SubElement(case, "failure", type="unstable",
                          message=f"{name} came out as expected in {held} of {total} runs")
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    return suite


def write_repeat_junit(entry: Mapping[str, Any], path: Path) -> None:
    tree = ET.ElementTree(build_repeat_junit(entry))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
