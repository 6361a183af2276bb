"""``zchaos explore`` end to end on a tiny scenario: search, shrink, replay, report, reproduce.

The scenario (tests/explore/hello-tiny.yaml) is plain REQ/REP, which hangs
when its server dies: a legitimate failure of ``every_request_answered``,
found in one run. Its own two faults are run first (``--base-first``) so
the shrinker has something to remove. Real runs, a few seconds each.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zchaos
from harness.scenario import load_scenario
from tests.integration.conftest import ROOT, run_cli

TINY = ROOT / "tests" / "explore" / "hello-tiny.yaml"


def explore_cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    res = run_cli(["explore", *args, "--report-dir", str(tmp_path / "reports"),
                   "--run-id", "w"], tmp_path / "reports", timeout=300)
    return res.code, res.stdout, res.stderr


@pytest.mark.slow
def test_search_shrink_replay_and_a_minimal_scenario_that_reproduces(tmp_path: Path) -> None:
    code, out, err = explore_cli(tmp_path, str(TINY), "--base-first", "--budget", "3",
                                 "--shrink-budget", "6", "--replays", "2", "--seed", "5",
                                 "--no-db")
    assert code == 1, out + err
    assert "every_request_answered violated" in out
    root = tmp_path / "reports" / "w" / "explore"
    index = json.loads((root / "explore.json").read_text())
    assert index["stopped"] == "failure" and index["runs_to_first_failure"] == 1
    (failure,) = index["failures"]
    assert failure["contract"] == "every_request_answered"
    # the base's two faults shrank to the kill alone
    assert len(failure["original"]) == 2
    assert failure["faults"] == 1 and "kill" in failure["minimal"][0]
    assert failure["reproduction"]["fails"] >= 1
    phases = [e["phase"] for e in index["examples"]]
    assert phases[:2] == ["search", "confirm"] and "shrink" in phases and "replay" in phases
    for example in index["examples"]:
        assert example["coverage"] and example["schedule"]
        assert example["coverage_source"] == "report"
    folder = Path(failure["folder"])
    for name in ("minimal.yaml", "original.yaml", "failure.json", "summary.md",
                 "report/report.json", "original-report/report.json"):
        assert (folder / name).exists(), name
    # minimal.yaml is an ordinary scenario: it loads, writes back unchanged, and reproduces
    minimal = load_scenario(folder / "minimal.yaml")
    assert minimal.expect.violated == ["every_request_answered"]
    assert [c.name for c in minimal.contracts] == ["every_request_answered"]
    assert load_scenario(folder / "original.yaml").faults != minimal.faults
    again = tmp_path / "again.yaml"
    again.write_text(minimal.to_resolved_yaml())
    assert load_scenario(again) == minimal
    res = run_cli(["run", str(folder / "minimal.yaml")], tmp_path / "rerun", timeout=120)
    assert res.code == 0, res.stdout + res.stderr  # violated, as minimal.yaml expects


@pytest.mark.slow
def test_the_pytest_entry_point_fails_with_the_minimal_scenario(tmp_path: Path) -> None:
    @zchaos.explore(TINY, budget=2, shrink_budget=1, replays=1, seed=3, database=None,
                    report_dir=tmp_path)
    def test_tiny() -> None:
        raise AssertionError("the body runs only when the search found nothing")

    with pytest.raises(zchaos.ExploreFailed) as caught:
        test_tiny()
    message = str(caught.value)
    assert "every_request_answered violated" in message
    assert "expect:" in message and "faults:" in message  # the minimal scenario itself
    assert caught.value.result.exit_code == 1


def test_bad_input_is_exit_2_with_one_message(tmp_path: Path) -> None:
    code, _out, err = explore_cli(tmp_path, str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such file" in err and "Traceback" not in err
    code, _out, err = explore_cli(tmp_path, str(TINY), "-j", "2", "--runtime", "docker")
    assert code == 2 and "local runtime" in err
    code, _out, err = explore_cli(tmp_path, str(TINY), "--time", "soon")
    assert code == 2 and "--time" in err


def test_an_existing_explore_folder_is_never_reused(tmp_path: Path) -> None:
    (tmp_path / "reports" / "w" / "explore").mkdir(parents=True)
    code, _out, err = explore_cli(tmp_path, str(TINY))
    assert code == 2 and "exists already" in err
