"""harness/suite.py: plan, start order, repeat seeds and accounting, exit code, summary."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from harness import cli, suite
from harness.checkers.base import CheckResult
from harness.runner import RunOptions, ScenarioOutcome
from harness.scenario import load_paths
from harness.seeds import derive

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def scenarios() -> list[Any]:
    found = load_paths([str(ROOT / "scenarios" / "hello"), str(ROOT / "scenarios" / "titanic")])
    assert len({s.duration for s in found}) > 1
    return found


def test_start_order_is_longest_first_ties_in_input_order(scenarios: list[Any]) -> None:
    jobs = suite.plan(scenarios, 2, Path("/r"))
    order = suite.start_order(jobs)
    durations = [j.scenario.duration for j in order]
    assert durations == sorted(durations, reverse=True)
    for a, b in itertools.pairwise(order):
        if a.scenario.duration == b.scenario.duration:
            assert a.index < b.index
    assert sorted(j.index for j in order) == list(range(len(jobs)))


def test_plan_keeps_input_order_and_derives_repeat_seeds(scenarios: list[Any]) -> None:
    jobs = suite.plan(scenarios, 3, Path("/r"))
    assert [j.scenario.name for j in jobs] == [s.name for s in scenarios for _ in range(3)]
    first = scenarios[0]
    seeds = [j.scenario.seed for j in jobs[:3]]
    assert seeds[0] == first.seed  # repeat 1 is the scenario's own run
    assert seeds[1:] == [derive(first.seed, "repeat", "2"), derive(first.seed, "repeat", "3")]
    assert len(set(seeds)) == 3
    assert [j.run_dir for j in jobs[:3]] == [Path("/r") / first.name / f"r0{i}" for i in (1, 2, 3)]
    single = suite.plan(scenarios, 1, Path("/r"))
    assert [j.run_dir for j in single] == [Path("/r") / s.name for s in scenarios]
    assert all(j.scenario is s for j, s in zip(single, scenarios, strict=True))


def test_default_jobs_is_three_per_cpu_at_most_eight(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite.os, "sched_getaffinity", lambda _pid: {0, 1})
    assert suite.default_jobs() == 6
    monkeypatch.setattr(suite.os, "sched_getaffinity", lambda _pid: set(range(16)))
    assert suite.default_jobs() == 8


def _outcome(name: str, verdict: str, folder: Path, contracts: dict[str, str]) -> ScenarioOutcome:
    return ScenarioOutcome(name=name, verdict=verdict, expected="pass",
                           contracts=[CheckResult(name=c, verdict=v)  # type: ignore[arg-type]
                                      for c, v in contracts.items()],
                           report_dir=folder, wall_s=1.0)


def _fake_result(scenario: Any, verdicts: list[tuple[str, dict[str, str]]],
                 tmp_path: Path) -> suite.SuiteResult:
    jobs = suite.plan([scenario], len(verdicts), tmp_path)
    outcomes = [_outcome(scenario.name, v, j.run_dir, c)
                for j, (v, c) in zip(jobs, verdicts, strict=True)]
    return suite.SuiteResult(jobs=jobs, outcomes=outcomes, repeats=len(verdicts))


def test_repeat_accounting_names_the_seeds_that_differed(scenarios: list[Any],
                                                         tmp_path: Path) -> None:
    steady = next(s for s in scenarios if s.expect.outcome == "pass")
    ok = {"replies_match_requests": "ok", "every_request_answered": "ok"}
    bad = {"replies_match_requests": "ok", "every_request_answered": "violated"}
    result = _fake_result(steady, [("pass", ok), ("fail", bad), ("pass", ok)], tmp_path)
    (r,) = result.by_scenario([steady])
    assert (r.matched, r.runs, r.verdict) == (2, 3, "fail")
    assert r.contract_counts(set()) == {"replies_match_requests": (3, 3),
                                        "every_request_answered": (2, 3)}
    (seed, outcome), = r.differing()
    assert seed == derive(steady.seed, "repeat", "2") and outcome.report_dir.name == "r02"
    assert not result.ok
    entry = cli.repeats_index(result, [steady])[0]
    assert entry["differed"][0]["replay"] == f"zchaos replay {tmp_path / steady.name / 'r02'}"
    assert entry["contracts"]["every_request_answered"] == {"as_expected": 2, "runs": 3}


def test_a_negative_control_counts_violated_as_expected(scenarios: list[Any],
                                                        tmp_path: Path) -> None:
    control = next(s for s in scenarios if s.expect.outcome != "pass")
    wanted = set(control.expect.violated)
    name = sorted(wanted)[0]
    result = _fake_result(control, [("pass", {name: "violated"}), ("fail", {name: "ok"})],
                          tmp_path)
    (r,) = result.by_scenario([control])
    assert r.contract_counts(wanted) == {name: (1, 2)}


def test_all_repeats_matching_is_ok(scenarios: list[Any], tmp_path: Path) -> None:
    result = _fake_result(scenarios[0], [("pass", {}), ("pass", {})], tmp_path)
    assert result.ok and result.by_scenario([scenarios[0]])[0].differing() == []


def test_exit_code_and_summary_with_repeats(scenarios: list[Any], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    steady = next(s for s in scenarios if s.expect.outcome == "pass")
    verdicts = [("pass", {"every_request_answered": "ok"}),
                ("unknown", {"every_request_answered": "unknown"})]

    def fake_run_suite(scs: list[Any], options: Any, **kw: Any) -> suite.SuiteResult:
        result = _fake_result(steady, verdicts, options.report_root / options.run_id)
        for o in result.outcomes:
            o.report_dir.mkdir(parents=True)
        return result

    monkeypatch.setattr(suite, "run_suite", fake_run_suite)
    options = RunOptions(report_root=tmp_path, run_id="rep")
    code = cli.run_scenarios([steady], options, jobs=2, repeats=2)
    assert code == cli.EXIT_MISMATCH
    text = capsys.readouterr().out
    assert "every_request_answered 1/2" in text and "1/2" in text
    assert f"seeds that differed: {derive(steady.seed, 'repeat', '2')} (unknown)" in text
    assert f"zchaos replay {tmp_path / 'rep' / steady.name / 'r02'}" in text
    junit = (tmp_path / "rep" / steady.name / "junit.xml").read_text()
    assert 'failures="2"' in junit and "every_request_answered 1/2" in junit


def test_same_summary_rows_in_input_order_whatever_finished_first(
        scenarios: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """-j N prints the same table as -j 1: rows in input order, not in finishing order."""

    def fake(scs: list[Any], options: Any, jobs: int = 1, **kw: Any) -> suite.SuiteResult:
        planned = suite.plan(scs, 1, options.report_root / options.run_id)
        finished = suite.start_order(planned) if jobs > 1 else planned
        by_index = {j.index: _outcome(j.scenario.name, "pass", j.run_dir, {"x": "ok"})
                    for j in finished}
        for o in by_index.values():
            o.report_dir.mkdir(parents=True, exist_ok=True)
        return suite.SuiteResult(jobs=planned, repeats=1,
                                 outcomes=[by_index[j.index] for j in planned])

    monkeypatch.setattr(suite, "run_suite", fake)
    tables = []
    for jobs in (1, 4):
        code = cli.run_scenarios(scenarios, RunOptions(report_root=tmp_path, run_id=f"j{jobs}"),
                                 jobs=jobs)
        assert code == cli.EXIT_OK
        tables.append(capsys.readouterr().out.split("reports:")[0])
    assert tables[0] == tables[1]
    names = [s.name for s in scenarios]
    positions = [tables[0].index(f" {n} ") for n in names]
    assert positions == sorted(positions)
