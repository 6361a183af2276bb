"""`zchaos run --runtime docker` end to end: verdicts as on the local runtime, nothing left.

Also the worst case for cleanup: the harness itself is SIGKILLed mid-run, so
neither its ``finally`` nor ``atexit`` runs; the next run's setup (or
``zchaos clean``) must remove the dead run's containers, network and volumes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from dockertier import IMAGE

from harness.runtime.docker_reaper import ContainerReaper, leftovers

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
# A negative control (must be flagged) and a pass, with kills and restarts. The
# control's verdict must not hinge on when the workload starts: container starts
# take seconds on a loaded machine, and the fault clock starts before them.
SCENARIOS = [
    ROOT / "scenarios/freelance/freelance1-all-killed-one-returns.yaml",
    ROOT / "scenarios/lazy_pirate/lazy-pirate-server-restart.yaml",
]
CLI = "import sys; from harness.cli import main; raise SystemExit(main(sys.argv[1:]))"


def zchaos(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLI, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def verdicts(report_dir: Path) -> dict[str, dict[str, Any]]:
    """scenario -> {verdict, contracts: {name: verdict}} from every report.json below."""
    found = {}
    for path in sorted(report_dir.glob("*/*/report.json")):
        report = json.loads(path.read_text())
        found[report["scenario"]] = {
            "verdict": report["verdict"],
            "contracts": {c["name"]: c["verdict"] for c in report["contracts"]},
        }
    return found


def test_same_verdicts_as_the_local_runtime_and_nothing_left(
    docker_engine: Any, tmp_path: Path
) -> None:
    missing = [p for p in SCENARIOS if not p.exists()]
    if missing:
        pytest.skip(f"scenarios not in the tree yet: {missing}")
    paths = [str(p) for p in SCENARIOS]
    run_id = f"docker-vs-local-{os.getpid()}"
    docker = zchaos("run", "--runtime", "docker", "--image", IMAGE,
                    "--toxiproxy-image", "embedded", "--report-dir", str(tmp_path / "docker"),
                    "--run-id", run_id, *paths)
    assert docker.returncode == 0, docker.stdout[-3000:] + docker.stderr[-3000:]
    local = zchaos("run", "--report-dir", str(tmp_path / "local"), *paths)
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]

    on_docker, on_local = verdicts(tmp_path / "docker"), verdicts(tmp_path / "local")
    assert set(on_docker) == {p.stem for p in SCENARIOS}
    assert on_docker == on_local
    control = on_docker["freelance1-all-killed-one-returns"]["contracts"]
    assert control["every_request_answered"] == "violated"
    # Container logs and traces reach the report folder.
    run = tmp_path / "docker" / run_id / "lazy-pirate-server-restart"
    assert (run / "logs" / "server.log").read_text().count("--- zchaos: container") == 2
    assert (run / "history.jsonl").stat().st_size > 0
    assert leftovers(docker_engine, run_id) == []


LONG_SCENARIO = """\
name: docker-harness-killed
pattern: lazy_pirate
duration: 60s
nodes:
  server: {role: lazy_pirate.server}
  client: {role: lazy_pirate.client, connect: [server], requests: 0, rate: 10}
contracts: [replies_match_requests]
"""


def wait_for(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_a_sigkilled_harness_is_reaped_by_the_next_run(
    docker_engine: Any, tmp_path: Path
) -> None:
    scenario = tmp_path / "long.yaml"
    scenario.write_text(LONG_SCENARIO)
    run_id = f"sigkilled-{os.getpid()}"
    harness = subprocess.Popen(
        [sys.executable, "-c", CLI, "run", "--runtime", "docker", "--image", IMAGE,
         "--toxiproxy-image", "embedded", "--report-dir", str(tmp_path / "reports"),
         "--run-id", run_id, str(scenario)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Both nodes, Toxiproxy and the network exist: the run is in full swing.
        wait_for(lambda: len(leftovers(docker_engine, run_id)) >= 4, 90, "the run's containers")
        harness.send_signal(signal.SIGKILL)
        harness.wait(timeout=10)
        left = leftovers(docker_engine, run_id)
        assert any(item.startswith("container") for item in left), left

        # The next docker run reaps the dead run's resources in its setup.
        nxt = tmp_path / "short.yaml"
        nxt.write_text(LONG_SCENARIO.replace("duration: 60s", "duration: 1s")
                       .replace("docker-harness-killed", "docker-next-run"))
        after = zchaos("run", "--runtime", "docker", "--image", IMAGE, "--toxiproxy-image",
                       "embedded", "--report-dir", str(tmp_path / "reports"), str(nxt))
        assert after.returncode in (0, 1), after.stderr[-3000:]
        assert leftovers(docker_engine, run_id) == []
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait(timeout=10)
        ContainerReaper(docker_engine).reap_dead_runs()


def test_ctrl_c_tears_the_run_down(docker_engine: Any, tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) mid-run: the harness exits and removes everything of its run."""
    scenario = tmp_path / "long.yaml"
    scenario.write_text(LONG_SCENARIO.replace("docker-harness-killed", "docker-interrupted"))
    run_id = f"interrupted-{os.getpid()}"
    harness = subprocess.Popen(
        [sys.executable, "-c", CLI, "run", "--runtime", "docker", "--image", IMAGE,
         "--toxiproxy-image", "embedded", "--report-dir", str(tmp_path / "reports"),
         "--run-id", run_id, str(scenario)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(leftovers(docker_engine, run_id)) >= 4, 90, "the run's containers")
        harness.send_signal(signal.SIGINT)
        _, stderr = harness.communicate(timeout=60)
        assert harness.returncode != 0, "an interrupted run is not a pass"
        assert "Traceback" not in stderr
        assert leftovers(docker_engine, run_id) == []
        logs = tmp_path / "reports" / run_id / "docker-interrupted" / "logs"
        assert (logs / "server.log").exists(), "logs are saved even when interrupted"
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait(timeout=10)
        ContainerReaper(docker_engine).reap_dead_runs()
