"""The pytest plugin (harness/pytest_plugin.py), driven the way a user drives it: ``pytest``
in a subprocess, on a folder of scenario files, with and without pytest-xdist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

ROOT = Path(__file__).resolve().parents[2]

STEADY = """\
name: plug-steady
pattern: hello
duration: 2s
seed: 1
nodes:
  server: {role: hello.server}
  client: {role: hello.client, connect: [server], requests: 20, rate: 40}
contracts:
  - replies_match_requests
  - every_request_answered: {within: 1s}
expect: pass
"""

# The server is slower than the latency bound, but the file claims every contract holds.
SLOW = """\
name: plug-slow
pattern: hello
duration: 2s
seed: 3
nodes:
  server: {role: hello.server, work: 60ms}
  client: {role: hello.client, connect: [server], requests: 10, rate: 20}
contracts:
  - replies_match_requests
  - latency: {p50_max: 20ms}
expect: pass
"""

BAD = """\
name: plug-bad
pattern: hello
duration: 2s
nodes:
  server: {role: hello.sever}
"""


def pytest_run(cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """pytest as a user runs it, in ``cwd``, without this suite's ini file (addopts, -n)."""
    (cwd / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios" / "mine"
    folder.mkdir(parents=True)
    (folder / "steady.yaml").write_text(STEADY)
    (folder / "slow.yml").write_text(SLOW)
    (folder / "compose.yaml").write_text("services:\n  a: {image: busybox}\n")  # not a scenario
    return tmp_path


def test_collects_scenarios_only_under_named_paths(suite: Path) -> None:
    (suite / "scenarios" / "bad.yaml").write_text(BAD)
    res = pytest_run(suite, "--co", "-q", "scenarios")
    out = res.stdout + res.stderr
    assert "scenarios/mine/steady.yaml::plug-steady" in out, out
    assert "scenarios/mine/slow.yml::plug-slow" in out, out
    assert "compose.yaml" not in out, out
    # The bad file: zchaos's own file:line: field: message, no traceback.
    assert "bad.yaml:5: nodes.server.role: unknown role 'hello.sever'" in out, out
    assert "Traceback" not in out, out
    assert res.returncode == 2, out
    # No arguments: nothing of the YAML is collected (only paths the user names).
    bare = pytest_run(suite, "--co", "-q")
    assert "plug-steady" not in bare.stdout and bare.returncode == 5, bare.stdout


def test_markers_and_keywords_select_scenarios(suite: Path) -> None:
    res = pytest_run(suite, "--co", "-q", "--strict-markers", "-m", "hello and zchaos",
                     "-k", "latency", "scenarios")
    assert "plug-slow" in res.stdout and "plug-steady" not in res.stdout, res.stdout
    assert res.returncode == 0, res.stdout + res.stderr


def test_bad_options_are_usage_errors(suite: Path) -> None:
    res = pytest_run(suite, "--zchaos-seed", "-1", "scenarios")
    assert res.returncode == 4 and "--zchaos-seed -1" in res.stderr, res.stderr
    res = pytest_run(suite, "--zchaos-impl", "nosuch.role=python x.py", "scenarios")
    assert res.returncode == 4 and "unknown role 'nosuch.role'" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.slow
def test_runs_with_xdist_like_zchaos_run(suite: Path) -> None:
    """Two workers, one run folder: a pass, a contract-by-contract failure, JUnit properties."""
    reports = suite / "reports"
    res = pytest_run(suite, "scenarios", "-n", "2", "--zchaos-report-dir", str(reports),
                     "--zchaos-run-id", "ci", "--junitxml", str(suite / "junit.xml"))
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "1 failed, 1 passed" in out, out
    assert "zchaos scenario plug-slow: verdict FAIL, expected pass" in out
    assert "  replies_match_requests: ok" in out and "  latency: violated" in out, out
    run = reports / "ci"
    assert f"replay: zchaos replay {run / 'plug-slow'}" in out
    index = json.loads((run / "index.json").read_text())
    assert {r["scenario"]: r["verdict"] for r in index["scenarios"]} == {
        "plug-steady": "pass", "plug-slow": "fail"}
    assert (run / "index.html").is_file()
    for name, verdict in (("plug-steady", "pass"), ("plug-slow", "fail")):
        assert json.loads((run / name / "report.json").read_text())["verdict"] == verdict
    props = {}
    for case in ET.parse(suite / "junit.xml").getroot().iter("testcase"):
        props[case.get("name")] = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["plug-slow"]["contract:latency"] == "violated"
    assert props["plug-slow"]["zchaos_replay"] == f"zchaos replay {run / 'plug-slow'}"
    assert props["plug-steady"]["zchaos_verdict"] == "pass"
