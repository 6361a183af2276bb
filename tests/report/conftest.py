"""Fixtures for the report tests: real short runs, rendered once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, run_cli

NEGATIVE = ROOT / "tests" / "negative"
SCENARIOS = ROOT / "scenarios"


@dataclass
class RealRuns:
    """Two real runs: a negative control flagged via --impl, and a run of two scenarios."""

    broken: Path  # run folder: lazy-pirate-reply-latency with a client that accepts stale replies
    good: Path  # run folder: lazy-pirate-server-restart (pass) + hello-server-killed (control)

    @property
    def broken_page(self) -> Path:
        return self.broken / "lazy-pirate-reply-latency" / "index.html"

    @property
    def pass_page(self) -> Path:
        return self.good / "lazy-pirate-server-restart" / "index.html"

    @property
    def control_page(self) -> Path:
        return self.good / "hello-server-killed" / "index.html"


@pytest.fixture(scope="session")
def real_runs(tmp_path_factory: pytest.TempPathFactory) -> RealRuns:
    reports = tmp_path_factory.mktemp("report-runs")
    broken = run_cli(
        ["run", "--impl",
         f"lazy_pirate.client=python {NEGATIVE / 'broken_lazy_pirate_client.py'}",
         str(SCENARIOS / "lazy_pirate" / "lazy-pirate-reply-latency.yaml")],
        reports, run_id="broken")
    assert broken.code == 1, broken.stdout + broken.stderr
    good = run_cli(
        ["run", str(SCENARIOS / "lazy_pirate" / "lazy-pirate-server-restart.yaml"),
         str(SCENARIOS / "hello" / "hello-server-killed.yaml")],
        reports, run_id="good")
    assert good.code == 0, good.stdout + good.stderr
    return RealRuns(broken=broken.run_root, good=good.run_root)
