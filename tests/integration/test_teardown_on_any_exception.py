"""A run unwound by an exception that is not an ``Exception`` still stops its nodes.

pytest-timeout fails a test by raising its own outcome exception (a
``BaseException``), and a signal handler may raise ``SystemExit``: neither
is a harness error to report, but both must leave no node running.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from harness.runner import RunOptions, ScenarioRun
from harness.scenario import load_scenario
from harness.session import Session
from tests.integration.conftest import ROOT


class Unwound(BaseException):
    """Stands for pytest-timeout's outcome exception."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purpose; /proc says whether it is one
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


@pytest.mark.slow
def test_base_exception_mid_run_stops_every_node(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = load_scenario(ROOT / "scenarios/hello/hello-steady.yaml")
    seen: dict[str, list[int]] = {}
    original = ScenarioRun._drive

    def drive_then_unwind(self: ScenarioRun) -> float:
        poll = self._poll_runtime

        def poll_and_unwind() -> None:
            poll()
            procs = getattr(self.runtime, "_procs", {})
            pids = [p.popen.pid for p in procs.values() if p.popen is not None]
            if len(pids) >= len(scenario.nodes) and "pids" not in seen:
                seen["pids"] = pids
                raise Unwound()  # once: teardown polls the runtime too

        self._poll_runtime = poll_and_unwind  # type: ignore[method-assign]
        return original(self)

    monkeypatch.setattr(ScenarioRun, "_drive", drive_then_unwind)
    options = RunOptions(report_root=tmp_path / "reports", run_id="unwound")
    with Session(options) as session, pytest.raises(Unwound):
        session.run(scenario)
    assert seen.get("pids"), "the run never had all its nodes up"
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in seen["pids"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in seen["pids"] if _alive(pid)]
    for pid in left:  # a failing run must not leave its nodes behind either
        os.killpg(pid, signal.SIGKILL)
    assert not left
