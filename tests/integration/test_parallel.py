"""``zchaos run -j 3 --repeat 2`` on a real folder: folders, index, seeds, exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.scenario import load_paths
from harness.seeds import derive
from tests.integration.conftest import ROOT, run_cli


@pytest.mark.slow
def test_parallel_repeats_on_a_folder(tmp_path: Path) -> None:
    folder = ROOT / "scenarios" / "hello"
    scenarios = load_paths([str(folder)])
    reports = tmp_path / "reports"
    res = run_cli(["run", str(folder), "-j", "3", "--repeat", "2"], reports, "par")
    assert res.code == 0, res.stdout + res.stderr
    index = json.loads((res.run_root / "index.json").read_text())
    # every run, in input order (scenario by scenario, repeat by repeat), whatever finished first
    expected_order = [(s.name, f"r0{r}") for s in scenarios for r in (1, 2)]
    assert [(row["scenario"], Path(row["report"]).name) for row in index["scenarios"]] \
        == expected_order
    assert all(row["verdict"] == "pass" for row in index["scenarios"])
    repeats = {entry["scenario"]: entry for entry in index["repeats"]}
    assert list(repeats) == [s.name for s in scenarios]
    for s in scenarios:
        entry = repeats[s.name]
        assert (entry["runs"], entry["matched"], entry["differed"]) == (2, 2, [])
        assert entry["seeds"] == [s.seed, derive(s.seed, "repeat", "2")]
        assert all(c["as_expected"] == c["runs"] == 2 for c in entry["contracts"].values())
        for r, seed in zip(("r01", "r02"), entry["seeds"], strict=True):
            run_dir = res.run_root / s.name / r
            assert json.loads((run_dir / "report.json").read_text())["seed"] == seed
            assert yaml.safe_load((run_dir / "scenario.yaml").read_text())["seed"] == seed
            assert (run_dir / "junit.xml").is_file()
        assert "2/2" in (res.run_root / s.name / "junit.xml").read_text()
    html = (res.run_root / "index.html").read_text()
    assert "Repeats" in html and f"{scenarios[0].name}/r02/index.html" in html
    for s in scenarios:
        assert s.name in res.stdout
    assert "zchaos summary (repeats)" in res.stdout
    assert not list((reports / ".zchaos-live").glob("*.json")), "a ledger was left behind"
