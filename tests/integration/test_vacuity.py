"""A verdict says what the run exercised: coverage, fail-fast, checked commands, seeds.

Each test runs the real CLI. The two vacuous scenarios are issue 10's own
examples (tests/integration/vacuous/): both used to PASS.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT

VACUOUS = Path(__file__).parent / "vacuous"

STEADY = """\
name: {name}
pattern: lazy_pirate
duration: 3s
seed: 5
nodes:
  server: {{role: lazy_pirate.server{server}}}
  client: {{role: lazy_pirate.client, connect: [server], replicas: 2, requests: 20, rate: 20}}
{extra}contracts: [replies_match_requests]
expect: pass
"""


def scenario(tmp_path: Path, name: str, server: str = "", extra: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(STEADY.format(name=name, server=server, extra=extra))
    return path


@pytest.mark.slow
def test_idle_faults_make_a_pass_unknown(cli) -> None:
    res = cli("run", str(VACUOUS / "majordomo-idle.yaml"),
              str(VACUOUS / "lazy-pirate-late-partition.yaml"))
    assert res.code == 1, res.stdout + res.stderr
    reports = res.reports()
    idle = reports["majordomo-idle"]
    assert idle["verdict"] == "unknown"
    assert [c["verdict"] for c in idle["contracts"]] == ["ok", "ok"]  # the old false PASS
    assert [u["index"] for u in idle["coverage"]["uncovered"]] == [0, 1, 2]
    assert any("fault #0" in r and "kill worker-1" in r and "idle system" in r
               for r in idle["reasons"])
    late = reports["lazy-pirate-late-partition"]
    assert late["verdict"] == "unknown"
    (uncovered,) = late["coverage"]["uncovered"]
    assert uncovered["target"] == ["client-1->server"]
    assert "client-1 had exited" in uncovered["why"]
    assert "UNKNOWN" in res.stdout and "fault #0 proves nothing" in res.stdout
    summary = (res.run_root / "lazy-pirate-late-partition" / "summary.md").read_text()
    assert "## Fault coverage (0 of 1 hit)" in summary
    junit = (res.run_root / "majordomo-idle" / "junit.xml").read_text()
    assert 'name="fault coverage"' in junit and 'type="uncovered"' in junit


@pytest.mark.slow
def test_a_node_that_exits_at_once_is_an_error_within_a_second(cli, tmp_path: Path) -> None:
    dies = tmp_path / "dies.py"
    dies.write_text("import sys\nprint('cannot bind: address in use', file=sys.stderr)\n"
                    "sys.exit(3)\n")
    path = scenario(tmp_path, "dies-at-start", server=f", command: python {dies}")
    res = cli("run", str(path))
    assert res.code == 1, res.stdout + res.stderr
    report = res.reports()["dies-at-start"]
    assert report["verdict"] == "error" and report["contracts"] == []
    assert report["error"].startswith("server exited with code 3 before it was ready")
    assert report["failure"]["code"] == 3
    assert "cannot bind: address in use" in report["failure"]["log_tail"]
    assert report["timing"]["wall_s"] < 1.0, report["timing"]
    summary = (res.run_root / "dies-at-start" / "summary.md").read_text()
    assert "## What failed to start" in summary and "cannot bind" in summary


@pytest.mark.slow
def test_a_client_that_writes_nothing_is_named(cli, tmp_path: Path) -> None:
    silent = tmp_path / "silent.py"
    silent.write_text("raise SystemExit(0)\n")
    path = tmp_path / "silent.yaml"
    path.write_text(STEADY.format(name="silent", server="", extra="").replace(
        "replicas: 2, requests: 20", f"command: python {silent}, requests: 20"))
    res = cli("run", str(path))
    report = res.reports()["silent"]
    assert res.code == 1 and report["verdict"] == "error"
    assert "client exited with code 0 before writing any trace event" in report["error"]


@pytest.mark.slow
def test_one_dead_client_of_several_is_reported(cli, tmp_path: Path) -> None:
    crash = tmp_path / "crash.py"
    crash.write_text(textwrap.dedent("""\
        from patterns.common import trace
        trace.invoke("client-9:1", "client-9:1")
        raise SystemExit(1)
        """))
    extra = (f"  other: {{role: lazy_pirate.client, connect: [server], "
             f"command: python {crash}}}\n")
    res = cli("run", str(scenario(tmp_path, "one-dies", extra=extra)))
    report = res.reports()["one-dies"]
    assert any("other (a client) died on its own" in n and "code 1" in n
               for n in report["notes"]), report["notes"]
    assert "other (a client) died on its own" in res.stdout


def test_impl_commands_are_checked_before_anything_starts(cli, tmp_path: Path) -> None:
    plain = tmp_path / "plain.py"
    plain.write_text("print('hi')\n")
    nodejs = tmp_path / "node.sh"
    nodejs.write_text("#!/usr/bin/env no-such-interpreter-zz\n")
    nodejs.chmod(0o755)
    target = str(ROOT / "scenarios" / "hello" / "hello-steady.yaml")
    for impl, message in [
        ("./missing", "'./missing': no such file"),
        (str(plain), "is not executable"),
        (str(nodejs), "unknown interpreter 'no-such-interpreter-zz'"),
        ("no-such-program-zz --flag", "unknown program or interpreter 'no-such-program-zz'"),
        ("python missing_script.py", "script 'missing_script.py': no such file"),
        ("python -m no_such_module_zz", "no Python module named 'no_such_module_zz'"),
    ]:
        res = cli("run", "--impl", f"hello.server={impl}", target, run_id="impl")
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert res.code == 2, (impl, res.stderr)
        assert len(lines) == 1 and message in lines[0], (impl, lines)
        assert not res.run_root.exists(), "nothing may start"


def test_seed_and_version_and_clean_help(cli) -> None:
    target = str(ROOT / "scenarios" / "hello" / "hello-steady.yaml")
    res = cli("run", "--seed", "-1", target)
    assert res.code == 2 and "--seed -1" in res.stderr and "Traceback" not in res.stderr
    res = cli("--version")
    assert res.code == 0 and res.stdout.startswith("zchaos ")
    res = cli("clean", "--help")
    assert res.code == 0 and "process" in res.stdout and "container" in res.stdout


def test_clean_without_a_docker_engine_says_so_in_one_line(tmp_path: Path) -> None:
    from tests.integration.conftest import run_cli

    res = run_cli(["clean", "--report-dir", str(tmp_path / "reports")], tmp_path,
                  env={"DOCKER_HOST": f"unix://{tmp_path}/no-such-docker.sock"})
    assert res.code == 0, res.stderr
    assert res.stdout.splitlines() == [
        "docker: no Docker engine reachable, so no containers, networks or volumes to clean "
        "(start dockerd or set DOCKER_HOST to clean those)", "nothing to clean"]


def test_check_is_bounded_on_huge_counts(cli, tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_text(STEADY.format(name="huge", server="", extra="").replace(
        "replicas: 2", "replicas: 100000000"))
    res = cli("check", str(huge))
    assert res.code == 2
    assert "100000000 replicas is too many" in res.stderr


def test_check_warns_about_an_idle_schedule(cli) -> None:
    res = cli("check", str(VACUOUS / "majordomo-idle.yaml"))
    assert res.code == 0
    warnings = [ln for ln in res.stderr.splitlines() if "warning:" in ln]
    assert len(warnings) == 3
    assert "kill at 1500ms may hit an idle system" in warnings[0]
    assert "set rate to at most" in warnings[0]


@pytest.mark.slow
def test_an_interrupted_run_leaves_a_marked_folder(tmp_path: Path) -> None:
    """SIGKILL of the harness: the folder still says `interrupted` and keeps its traces."""
    import signal
    import subprocess
    import time

    path = tmp_path / "long.yaml"
    path.write_text(STEADY.format(name="long", server="", extra="").replace(
        "duration: 3s", "duration: 30s").replace("requests: 20", "requests: 0"))
    reports = tmp_path / "reports"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(path),
                             "--report-dir", str(reports), "--run-id", "k"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ})
    folder = reports / "k" / "long"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (folder / "traces" / "client-1.jsonl").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    report = json.loads((folder / "report.json").read_text())
    assert report["status"] == "interrupted" and report["verdict"] == "error"
    assert (folder / "traces" / "client-1.jsonl").exists()
    assert "interrupted" in (folder / "summary.md").read_text()
    # what the killed harness left (its nodes, its Toxiproxy), as the next run would
    from harness.reaper import reap_dead_runs

    assert reap_dead_runs(reports / ".zchaos-live")
