"""Synthetic runs for report tests and the report benchmark: a history, a report, a folder.

The history looks like a real one (lifecycle events, a kill and a restart, a
latency toxic with stream, a partition, Binary Star states, client operations
with retries, give-ups and open ones, server ``handled`` events) plus events
of families the report has never heard of (``publish``/``deliver``/``route``),
so tests prove those are drawn generically. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

Event = dict[str, Any]


def synthetic_history(ops: int = 200, duration: float = 10.0, clients: int = 2,
                      seed: int = 1, gave_up_type: str = "fail") -> list[Event]:
    rng = random.Random(seed)
    h: list[Event] = []

    def add(t: float, node: str, kind: str, **fields: Any) -> None:
        h.append({"t": round(t, 6), "node": node, "type": kind, **fields})

    add(0.0, "harness", "run", event="start", seed=seed)
    for name in ("server", "backup"):
        add(0.001, "harness", "lifecycle", target=name, event="start", incarnation=0)
    add(0.05, "server", "state", state="PRIMARY")
    add(0.06, "backup", "state", state="BACKUP")
    add(0.3, "server", "state", state="ACTIVE", previous="PRIMARY")
    add(0.5, "backup", "state", state="PASSIVE", previous="BACKUP")
    names = [f"client-{i + 1}" for i in range(clients)]
    for name in names:
        add(0.08, "harness", "lifecycle", target=name, event="start", incarnation=0)
    add(0.12, "harness", "run", event="workload-start")
    kill_at, start_at = duration * 0.3, duration * 0.35
    add(kill_at, "harness", "fault", fault="kill", target="server", phase="apply")
    add(kill_at + 0.01, "harness", "lifecycle", target="server", event="exit", code=-9)
    add(start_at, "harness", "fault", fault="start", target="server", phase="apply")
    add(start_at, "harness", "lifecycle", target="server", event="start", incarnation=1)
    lat0, lat1 = duration * 0.5, duration * 0.6
    add(lat0, "harness", "fault", fault="latency", target="client-1->server", phase="apply",
        params={"latency": 500, "jitter": 0})
    add(lat1, "harness", "fault", fault="latency", target="client-1->server", phase="revert",
        params={"latency": 500, "jitter": 0})
    part0, part1 = duration * 0.7, duration * 0.75
    add(part0, "harness", "fault", fault="partition", target="client-2 | server",
        phase="apply")
    add(part1, "harness", "fault", fault="partition", target="client-2 | server",
        phase="revert")
    per_client = max(1, ops // clients)
    step = (duration - 0.3) / per_client
    for ci, name in enumerate(names):
        t = 0.15 + ci * step / clients
        for seq in range(per_client):
            op = f"{name}:{seq}"
            add(t, name, "invoke", op=op, body=op)
            roll = rng.random()
            latency = rng.uniform(0.0004, 0.004)
            if roll < 0.02:
                add(t + 0.2, name, "retry", op=op, attempt=2)
                add(t + 0.4, name, gave_up_type, op=op, reason="no reply after 2 sends")
            elif roll < 0.03 and seq == per_client - 1:
                pass  # left open at the end
            else:
                if roll < 0.06:
                    add(t + 0.1, name, "retry", op=op, attempt=2)
                    latency += 0.1
                add(t + latency / 2, "server", "handled", op=op)
                add(t + latency, name, "ok", op=op, reply=op, server="tcp://127.0.0.1:1")
            if seq % 50 == 0:
                add(t + 0.0001, name, "publish", seq=seq, topic="A")
                add(t + 0.0002, "server", "route", seq=seq)
                add(t + 0.0003, "backup", "deliver", seq=seq, topic="A")
            t += step
    for name in names:
        add(duration, "harness", "lifecycle", target=name, event="exit", code=0)
    add(duration + 0.01, "harness", "run", event="workload-done")
    add(duration + 0.05, "harness", "run", event="end")
    h.sort(key=lambda e: e["t"])
    return h


def synthetic_report(history: list[Event], name: str = "synthetic", *, verdict: str = "fail",
                     coverage: Any = None) -> dict[str, Any]:
    """A report.json for ``history``: one contract violated by two named operations."""
    from harness.history import summarize

    ops = [e for e in history if e.get("type") == "invoke"]
    bad = ops[len(ops) // 2: len(ops) // 2 + 2]
    oks = {e["op"]: e for e in history if e.get("type") == "ok"}
    violations = [
        {"why": f"{e['op']!r} accepted reply 'x', expected {e['op']!r}",
         "events": [e, oks[e["op"]]] if e["op"] in oks else [e]}
        for e in bad
    ]
    clients = sorted({e["node"] for e in ops})
    report: dict[str, Any] = {
        "report_version": 1, "scenario": name, "description": "A synthetic run.",
        "pattern": "binary_star", "source": f"scenarios/x/{name}.yaml", "run_id": "r",
        "runtime": "local", "seed": 7, "verdict": verdict, "expected": "pass", "error": None,
        "contracts": [
            {"name": "replies_match_requests", "verdict": "violated",
             "message": violations[0]["why"] if violations else "", "violations": violations,
             "violation_count": len(violations), "figures": {"oks": len(oks)}},
            {"name": "at_most_one_active", "verdict": "ok", "message": "never two ACTIVE",
             "violations": [], "violation_count": 0, "figures": {}},
        ],
        "faults": [e for e in history if e.get("type") == "fault"],
        "schedule": [],
        "operations": summarize(history),
        "timing": {"prepare_s": 0.01, "overhead_s": 0.2, "wall_s": 10.2},
        "nodes": {"server": {"role": "binary_star.server"},
                  "backup": {"role": "binary_star.server"},
                  **{c: {"role": "binary_star.client"} for c in clients}},
        "impls": {}, "replay": f"zchaos replay reports/r/{name}",
    }
    if coverage is not None:
        report["coverage"] = coverage
    return report


def write_folder(folder: Path, report: dict[str, Any], history: list[Event],
                 logs: dict[str, str] | None = None,
                 scenario: dict[str, Any] | None = None) -> Path:
    """A scenario report folder as a run leaves it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report))
    with (folder / "history.jsonl").open("w") as out:
        for e in history:
            out.write(json.dumps(e) + "\n")
    (folder / "logs").mkdir(exist_ok=True)
    for node, text in (logs or {}).items():
        (folder / "logs" / f"{node}.log").write_text(text)
    if scenario is not None:
        (folder / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    return folder
