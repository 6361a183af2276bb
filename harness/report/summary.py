"""summary.md: the report folder's page for people, from report.json.

Verdict and why first (the sentences of harness/verdict.py), then what
failed to start (exit status and the last lines of its log), the contracts,
what each fault hit (coverage), notes (dead clients, lost trace lines),
operations, the faults as applied, violations as sentences, timing. Every
table goes through :func:`harness.report.text.table`, so it stays valid
Markdown whatever a cell holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.report.text import table, value, violation_sentence

MAX_VIOLATIONS_SHOWN = 10


def _window(entry: Mapping[str, Any]) -> str:
    if entry.get("at") is None:
        return "never applied"
    return f"{entry['at']:.3f}-{entry['until']:.3f}"


def _bytes(entry: Mapping[str, Any]) -> str:
    moved = entry.get("bytes")
    if moved is None:
        return "not measured"
    if not moved:
        return "-"
    return ", ".join(f"{proxy}: {b['received']} in / {b['sent']} out"
                     for proxy, b in moved.items())


def _operations(ops: Mapping[str, Any]) -> list[str]:
    rows = [[key, val] for key, val in ops.items() if key not in ("latency", "clients")]
    latency = ops.get("latency") or {}
    if any(v is not None for v in latency.values()):
        rows.append(["latency (ms)", ", ".join(f"{k.removesuffix('_ms')} {value(v)}"
                                              for k, v in latency.items())])
    lines = table(["figure", "value"], rows)
    clients = ops.get("clients") or {}
    if clients:
        lines += ["", *table(["client", "invoked", "ok", "gave up", "unanswered"],
                             [[name, c.get("invoked"), c.get("ok"), c.get("failed"),
                               c.get("unanswered")] for name, c in clients.items()])]
    return lines


def render_summary(report: Mapping[str, Any]) -> str:
    owner = report.get("endpoints") or {}
    verdict = report["verdict"].upper()
    if report.get("status") == "interrupted":
        verdict += " (interrupted)"
    lines = [f"# {report['scenario']}: {verdict}", ""]
    if report.get("description"):
        lines += [report["description"], ""]
    lines += [
        f"- expected: {report['expected']}",
        f"- seed: {report['seed']} · runtime: {report['runtime']} · run: {report['run_id']}",
        f"- replay: `{report['replay']}`",
    ]
    if report.get("status") == "interrupted":
        lines.append("- interrupted: the run did not finish; what it recorded until then is "
                     "below and in history.jsonl, traces/ and logs/")
    reasons = report.get("reasons") or []
    if reasons:
        lines += ["", "## Why", ""] + ["- " + " ".join(str(r).split()) for r in reasons]
    failure = report.get("failure")
    if failure:
        lines += ["", "## What failed to start", "",
                  f"{failure.get('summary') or failure['node'] + ' exited'}. "
                  f"Last lines of logs/{failure['node']}.log:", "", "```text",
                  *(failure.get("log_tail") or ["(empty log)"]), "```"]
    contracts = report.get("contracts") or []
    if contracts:
        lines += ["", "## Contracts", ""]
        lines += table(["contract", "verdict", "violations", "note"],
                       [[c["name"], c["verdict"], c.get("violation_count", 0),
                         c.get("message") or "-"] for c in contracts], owner)
    coverage = report.get("coverage") or {}
    if coverage.get("faults"):
        lines += ["", f"## Fault coverage ({coverage['hit']} of {coverage['total']} hit)", ""]
        lines += table(
            ["#", "fault", "target", "window (s)", "target alive", "in flight", "started",
             "messages", "bytes", "hit"],
            [[f["index"], f["fault"], f["target"], _window(f), f["alive"], f["ops_in_flight"],
              f["ops_started"], f["messages"], _bytes(f),
              ("yes" if f["hit"] else "no (idle_ok)" if f["idle_ok"] else "**no**")]
             for f in coverage["faults"]], owner)
        lines += [""] + [f"- #{f['index']}: {f['why']}" for f in coverage["faults"]]
    notes = report.get("notes") or []
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    lines += ["", "## Operations", "", *_operations(report.get("operations") or {})]
    faults = report.get("faults") or []
    if faults:
        lines += ["", "## Faults as applied", ""]
        lines += table(["t (s)", "#", "fault", "target", "phase"],
                       [[f"{f['t']:.3f}", f.get("index", "-"), f.get("fault"), f.get("target"),
                         f.get("phase", "apply")] for f in faults], owner)
    for c in contracts:
        if not c.get("violations"):
            continue
        shown = c["violations"][:MAX_VIOLATIONS_SHOWN]
        lines += ["", f"## Violations of {c['name']} ({len(shown)} of {c['violation_count']})",
                  ""]
        lines += ["- " + " ".join(violation_sentence(v, owner).split()) for v in shown]
    timing = report.get("timing") or {}
    if timing:
        lines += ["", "## Timing", ""] + [f"- {k}: {value(v)} s" for k, v in timing.items()]
    return "\n".join(lines) + "\n"


def write_summary(report: Mapping[str, Any], path: Path) -> None:
    path.write_text(render_summary(report))
