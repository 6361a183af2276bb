"""Every shipped scenario runs on the local runtime and matches its `expect`.

One test item per scenario file (not per folder), so pytest-xdist spreads
them over its workers. Each worker runs its scenarios through one
:class:`harness.session.Session`, as ``zchaos run`` (and the pytest plugin)
do: one embedded Toxiproxy per process, a report folder per scenario. The
CLI's own path (summary table, index, exit code of a folder) is covered by
tests/integration/test_cli_basics.py and the report fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.runner import RunOptions
from harness.scenario import load_scenario
from harness.session import Session
from tests.integration.conftest import ROOT

FILES = sorted(p.relative_to(ROOT / "scenarios").as_posix()
               for p in (ROOT / "scenarios").rglob("*") if p.suffix in (".yaml", ".yml"))


@pytest.fixture(scope="session")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One zchaos session per test process (per xdist worker), closed at the end."""
    options = RunOptions(report_root=tmp_path_factory.mktemp("suites"), run_id="suites")
    with Session(options) as opened:
        yield opened


def test_every_folder_has_scenarios() -> None:
    folders = {f.split("/", 1)[0] for f in FILES}
    assert folders == {p.name for p in (ROOT / "scenarios").iterdir() if p.is_dir()}


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES)
def test_scenario_matches_expectation(session: Any, path: str) -> None:
    outcome = session.run(load_scenario(ROOT / "scenarios" / path))
    assert (Path(outcome.report_dir) / "report.json").is_file(), "no report written"
    detail = (f"{outcome.name}: verdict {outcome.verdict}, expected {outcome.expected}, got "
              + ", ".join(f"{c.name}={c.verdict} ({c.message})" for c in outcome.contracts)
              + (f", error {outcome.error}" if outcome.error else "")
              + "".join(f"\n  - {r}" for r in outcome.reasons)
              + f"\n  report: {outcome.report_dir}")
    assert outcome.verdict == "pass", detail
