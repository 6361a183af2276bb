"""Helpers for tests that run the real ``zchaos`` CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    run_root: Path

    def reports(self) -> dict[str, dict]:
        """scenario name -> report.json of this run."""
        found = {}
        for path in self.run_root.glob("*/report.json"):
            report = json.loads(path.read_text())
            found[report["scenario"]] = report
        return found


def run_cli(args: list[str], report_dir: Path, run_id: str = "t", timeout: float = 600,
            env: dict[str, str] | None = None) -> CliResult:
    cmd = [sys.executable, "-m", "harness.cli", *args]
    if args and args[0] in ("run", "replay"):
        cmd += ["--report-dir", str(report_dir), "--run-id", run_id]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {}), "COLUMNS": "200"})
    return CliResult(proc.returncode, proc.stdout, proc.stderr, report_dir / run_id)


@pytest.fixture
def cli(tmp_path: Path):
    def _run(*args: str, run_id: str = "t", timeout: float = 600) -> CliResult:
        return run_cli(list(args), tmp_path / "reports", run_id, timeout)

    return _run
