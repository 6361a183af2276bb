"""A `zchaos compose` export brought up with docker-compose, then `zchaos nemesis` replayed.

This is the laptop reproduction path: the exported stack must serve traffic
through its Toxiproxy, and the nemesis must kill, start (also a deferred
node), pause and break links of that stack on schedule.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockertier import IMAGE

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose not installed"),
]

ROOT = Path(__file__).resolve().parents[2]
CLI = "import sys; from harness.cli import main; raise SystemExit(main(sys.argv[1:]))"

SCENARIO = {
    "name": "compose-nemesis",
    "pattern": "majordomo",
    "duration": "10s",
    "timing": {"heartbeat": "100ms", "liveness": 3},
    "nodes": {
        "broker": {"role": "majordomo.broker"},
        "worker": {"role": "majordomo.worker", "connect": ["broker"], "service": "echo",
                   "replicas": 2},
        "client": {"role": "majordomo.client", "connect": ["broker"], "service": "echo",
                   "requests": 0, "rate": 20, "timeout": "500ms", "retries": 3},
        "late": {"role": "majordomo.worker", "connect": ["broker"], "service": "echo",
                 "start": False},
    },
    "faults": [
        {"at": "500ms", "kill": "worker-1"},
        {"at": "1s", "start": "late"},
        {"at": "1s", "pause": "worker-2", "for": "1s"},
        {"at": "1s", "latency": {"link": "client->broker", "latency": 100}, "for": "1s"},
        {"at": "2500ms", "partition": [["client"], ["broker"]], "for": "500ms"},
    ],
    "contracts": ["replies_match_requests"],
}


def compose(folder: Path, project: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOXIPROXY_PORT": "0"}  # never clash with a host Toxiproxy
    return subprocess.run(["docker-compose", "-p", project, *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def stack(docker_engine: Any, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    source = tmp_path / "scenario.yaml"
    source.write_text(yaml.safe_dump(SCENARIO))
    folder = tmp_path / "stack"
    out = subprocess.run([sys.executable, "-c", CLI, "compose", str(source), "-o", str(folder),
                          "--image", IMAGE, "--toxiproxy-image", "embedded"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    project = f"zchaostest{os.getpid()}"
    try:
        up = compose(folder, project, "up", "-d")
        assert up.returncode == 0, up.stderr
        yield folder, project
    finally:
        compose(folder, project, "--profile", "deferred", "down", "-v", "--timeout", "1")


def container(docker_engine: Any, project: str, service: str) -> Any:
    found = docker_engine.containers.list(all=True, filters={"label": [
        f"com.docker.compose.project={project}", f"com.docker.compose.service={service}"]})
    return found[0] if found else None


def ok_replies(folder: Path) -> int:
    path = folder / "traces" / "client.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if '"type":"ok"' in line.replace(
        " ", ""))


def test_exported_stack_serves_and_nemesis_replays_the_schedule(
    docker_engine: Any, stack: tuple[Path, str]
) -> None:
    folder, project = stack
    deadline = time.monotonic() + 60
    while ok_replies(folder) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ok_replies(folder) >= 5, "the client must get echo replies through Toxiproxy"
    assert container(docker_engine, project, "late") is None, "deferred node not started yet"

    out = subprocess.run([sys.executable, "-c", CLI, "nemesis", str(folder), "--wait", "60"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    events = [json.loads(line) for line in (folder / "nemesis.jsonl").read_text().splitlines()]
    faults = [(e["fault"], e["phase"]) for e in events if e["type"] == "fault"]
    assert faults.count(("pause", "revert")) == 1
    assert ("partition", "apply") in faults and ("partition", "revert") in faults
    assert ("latency", "apply") in faults and ("kill", "apply") in faults
    times = [e["t"] for e in events]
    assert times == sorted(times)

    worker1 = container(docker_engine, project, "worker-1")
    assert worker1.status == "exited", "kill without restart leaves worker-1 down"
    late = container(docker_engine, project, "late")
    assert late is not None and late.status == "running", "the deferred node was started"
    assert container(docker_engine, project, "worker-2").status == "running", "unpaused"
    # The links are healed: traffic flows again after the schedule.
    before = ok_replies(folder)
    deadline = time.monotonic() + 30
    while ok_replies(folder) <= before + 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ok_replies(folder) > before + 3
