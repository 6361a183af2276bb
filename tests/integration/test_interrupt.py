"""Ctrl-C (SIGINT) or SIGTERM in the middle of a run leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.reaper import is_same_process
from tests.integration.conftest import ROOT

SCENARIO = """\
name: long-steady
pattern: lazy_pirate
duration: 30s
nodes:
  server: {role: lazy_pirate.server}
  client: {role: lazy_pirate.client, connect: [server], requests: 0, rate: 50, timeout: 500ms}
contracts: [replies_match_requests]
expect: pass
"""


# How long to wait for the run to start its nodes, and to stop after the signal. These
# are patience, not measured figures: on two cores shared with pytest-xdist workers and
# other jobs, starting three Python processes alone took over 20 s (load average 20).
START_WAIT_S = 60.0
STOP_WAIT_S = 60.0


def _ledger_groups(state: Path) -> list[dict]:
    groups: list[dict] = []
    for path in state.glob("*.json"):
        try:
            groups += json.loads(path.read_text())["groups"]
        except (OSError, ValueError, KeyError):
            pass
    return groups


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_leaves_nothing(tmp_path: Path, sig: signal.Signals) -> None:
    scenario = tmp_path / "long.yaml"
    scenario.write_text(SCENARIO)
    reports = tmp_path / "reports"
    state = reports / ".zchaos-live"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(scenario), "--report-dir", str(reports),
         "--run-id", "int"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + START_WAIT_S
        groups: list[dict] = []
        while time.monotonic() < deadline:
            groups = _ledger_groups(state)
            if len(groups) >= 3:  # toxiproxy, server, client
                break
            time.sleep(0.05)
        assert len(groups) >= 3, f"nodes never started: {groups}"
        os.kill(proc.pid, sig)
        code = proc.wait(timeout=STOP_WAIT_S)
    finally:
        if proc.poll() is None:  # the test failed: still stop the run cleanly, then for sure
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert code == 130, proc.stderr.read() if proc.stderr else ""
    for group in groups:
        pid = int(group["pid"])
        alive = is_same_process(pid, group.get("start"))
        if alive:
            state_line = Path(f"/proc/{pid}/stat").read_text()
            alive = state_line[state_line.rfind(")") + 2] != "Z"
        assert not alive, f"{group['what']} (pid {pid}) survived the interrupt"
    assert not _ledger_groups(state), "the ledger was not cleared"
    # the folder says what happened and keeps what was recorded
    folder = reports / "int" / "long-steady"
    report = json.loads((folder / "report.json").read_text())
    assert report["status"] == "interrupted" and report["verdict"] == "error"
    assert (folder / "history.jsonl").read_text().strip()
    assert "(interrupted)" in (folder / "summary.md").read_text().splitlines()[0]
    index = json.loads((reports / "int" / "index.json").read_text())
    assert index["scenarios"][0]["status"] == "interrupted"


@pytest.mark.slow
def test_interrupt_with_parallel_slots_leaves_nothing(tmp_path: Path) -> None:
    """-j 2: SIGTERM to zchaos alone reaches both worker processes; each tears down."""
    for name in ("long-a", "long-b"):
        (tmp_path / f"{name}.yaml").write_text(SCENARIO.replace("name: long-steady",
                                                                f"name: {name}"))
    reports = tmp_path / "reports"
    state = reports / ".zchaos-live"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", str(tmp_path), "-j", "2",
         "--report-dir", str(reports), "--run-id", "int"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # like a CI runner: the signal goes to zchaos only
    )
    try:
        deadline = time.monotonic() + 60
        groups: list[dict] = []
        while time.monotonic() < deadline:
            groups = _ledger_groups(state)
            if len(groups) >= 6:  # per slot: toxiproxy, server, client
                break
            time.sleep(0.05)
        assert len(groups) >= 6, f"nodes never started: {groups}"
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert code == 130, proc.stderr.read() if proc.stderr else ""
    for group in groups:
        pid = int(group["pid"])
        alive = is_same_process(pid, group.get("start"))
        if alive:
            state_line = Path(f"/proc/{pid}/stat").read_text()
            alive = state_line[state_line.rfind(")") + 2] != "Z"
        assert not alive, f"{group['what']} (pid {pid}) survived the interrupt"
    assert not _ledger_groups(state), "the ledger was not cleared"
    index = json.loads((reports / "int" / "index.json").read_text())
    assert sorted(row["scenario"] for row in index["scenarios"]) == ["long-a", "long-b"]
    assert all(row["status"] == "interrupted" for row in index["scenarios"])
    for name in ("long-a", "long-b"):
        report = json.loads((reports / "int" / name / "report.json").read_text())
        assert report["status"] == "interrupted" and report["verdict"] == "error"
