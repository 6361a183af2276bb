"""docs/ci/: the CI examples parse, run the README's two commands and keep the reports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SETUP = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev,plot]'"


def readme_commands() -> list[str]:
    """The README's two commands, without the scenario folders the first one names."""
    lines = [ln for ln in README.splitlines() if ln.startswith(SETUP)]
    assert len(lines) == 2, lines
    return [re.sub(r" scenarios/\S+", "", ln).strip() for ln in lines]


def scripts(doc: Any) -> list[str]:
    """Every shell line of a workflow: GitHub `run:` values and GitLab `script:` items."""
    found: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "run" and isinstance(value, str):
                found.append(" ".join(value.split()))
            elif key == "script" and isinstance(value, list):
                found += [" ".join(str(v).split()) for v in value]
            else:
                found += scripts(value)
    elif isinstance(doc, list):
        for value in doc:
            found += scripts(value)
    return found


def test_github_workflow() -> None:
    doc = yaml.safe_load((ROOT / "docs" / "ci" / "github-actions.yml").read_text())
    assert set(doc["jobs"]) == {"scenarios", "tests"}
    runs = scripts(doc)
    run_cmd, test_cmd = readme_commands()
    assert any(r.startswith(run_cmd) and "scenarios/" in r and "--run-id ci" in r for r in runs)
    assert any(r.startswith(test_cmd) for r in runs), runs
    steps = doc["jobs"]["scenarios"]["steps"]
    uses = {s.get("uses", "").split("@")[0]: s for s in steps}
    assert uses["actions/upload-artifact"]["with"]["path"] == "reports/ci/"
    assert uses["mikepenz/action-junit-report"]["with"]["report_paths"] == "reports/ci/*/junit.xml"
    # A red run still keeps its report.
    assert uses["actions/upload-artifact"]["if"] == "${{ !cancelled() }}"


def test_gitlab_example() -> None:
    doc = yaml.safe_load((ROOT / "docs" / "ci" / "gitlab-ci.yml").read_text())
    run_cmd, test_cmd = readme_commands()
    scen, tests = doc["zchaos-scenarios"], doc["zchaos-tests"]
    assert any(s.startswith(run_cmd) and "--run-id ci" in s for s in scen["script"])
    assert any(s.startswith(test_cmd) for s in tests["script"])
    assert scen["artifacts"]["when"] == "always"
    assert scen["artifacts"]["paths"] == ["reports/ci/"]
    assert scen["artifacts"]["reports"]["junit"] == "reports/ci/*/junit.xml"


def test_ci_run_uses_the_readme_test_command() -> None:
    """.ci/run runs the tests exactly as the README says (pip may be quieter there)."""
    pytest_cmd = readme_commands()[1].split(" && ")[-1]
    assert pytest_cmd == ".venv/bin/pytest -q -p no:cacheprovider"
    ci_lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines()
                if "bin/pytest" in ln and not ln.lstrip().startswith("#")]
    assert ci_lines and all(ln.split(" && ")[-1] == pytest_cmd for ln in ci_lines), ci_lines
