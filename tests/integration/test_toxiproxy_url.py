"""TOXIPROXY_URL switches the harness to another Toxiproxy server, with no other change."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, run_cli


@pytest.fixture
def external_toxiproxy():
    """A Toxiproxy-compatible server the harness did not start (ours, as a stand-in)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "toxiproxy-server", "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("toxiproxy-server listening on "), line
        yield "http://" + line.rsplit(" ", 1)[1].strip()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_scenario_runs_against_the_server_named_by_toxiproxy_url(external_toxiproxy,
                                                                  tmp_path: Path) -> None:
    scenario = ROOT / "scenarios" / "lazy_pirate" / "lazy-pirate-partition.yaml"
    res = run_cli(["run", str(scenario)], tmp_path / "reports",
                  env={"TOXIPROXY_URL": external_toxiproxy})
    assert res.code == 0, res.stdout + res.stderr
    report = res.reports()["lazy-pirate-partition"]
    assert report["verdict"] == "pass"
    assert report["proxies"], "the run created its proxies"
    # the harness used that server (it started none of its own) and cleaned up after itself
    assert not (res.run_root / "toxiproxy.log").exists()
    with urllib.request.urlopen(external_toxiproxy + "/proxies", timeout=5) as resp:
        assert json.load(resp) == {}
