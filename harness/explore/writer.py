"""Writes ``reports/<run-id>/explore/``: one folder per failure, and ``explore.json``.

Layout::

    reports/<run-id>/explore/
      explore.json                  every run: schedule, seed, verdicts, coverage, figures
      runs/<scenario>-<phase><n>/   each run's ordinary report folder (zchaos run's layout)
      <contract>-<hash>/            one per distinct failure (contract + shrunk schedule)
        minimal.yaml                a normal scenario: `zchaos run minimal.yaml` reproduces it
        original.yaml               the unshrunk schedule that first failed, same form
        report/                     the report of a replay of minimal.yaml that failed
        original-report/            the report of the original failing run
        failure.json                rate, shrink steps, schedules, how to reproduce
        summary.md                  the same for a human

``minimal.yaml`` keeps the base scenario's nodes, workload and duration,
replaces its faults with the shrunk schedule, keeps only the broken
contract and expects it violated; ``--impl`` overrides become the nodes'
``command:`` so the file reproduces on its own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from harness.explore.schedules import Schedule, schedule_key, short_hash


def failure_folder(root: Path, contract: str, schedule: Schedule) -> Path:
    """``<contract>-<hash of the shrunk schedule>``: the key of a distinct failure."""
    return root / f"{contract}-{short_hash(schedule_key(schedule))}"


def write_scenario(path: Path, data: dict[str, Any], header: str) -> None:
    """A scenario file: a comment header, then YAML that the loader reads back."""
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=False,
                          width=100)
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(comment + text)


def copy_report(source: Path, destination: Path) -> None:
    """Copy a run's report folder (without the nodes' data directories)."""
    if destination.exists():
        shutil.rmtree(destination)
    if source.is_dir():
        shutil.copytree(source, destination, ignore=shutil.ignore_patterns("data"))


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def write_summary(path: Path, failure: dict[str, Any]) -> None:
    rate = failure["reproduction"]
    lines = [
        f"# {failure['contract']} violated: {failure['scenario']}",
        "",
        f"- minimal schedule: `{failure['minimal_text']}`",
        f"- reproduced in {rate['fails']} of {rate['replays']} replays "
        f"({rate['rate'] * 100:.0f} %), seed {failure['seed']}",
        f"- original schedule ({len(failure['original'])} faults): "
        f"`{failure['original_text']}`",
        f"- found after {failure['runs_to_failure']} run(s) of the search; "
        f"{failure['shrink_runs']} shrink run(s)",
        f"- reproduce: `{failure['reproduce']}`",
        "",
        "## Shrink steps",
        "",
        "| pass | schedule | failed / tries |",
        "|---|---|---|",
    ]
    for step in failure["shrink"]:
        lines.append(f"| {step['pass']} | `{step['schedule_text']}` | "
                     f"{step['fails']} / {step['tries']} |")
    if failure.get("message"):
        lines += ["", "## What the checker said", "", failure["message"]]
    path.write_text("\n".join(lines) + "\n")
