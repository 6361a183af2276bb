"""The search with fake runs: stops at the first failure or the budget, remembers failures."""

from __future__ import annotations

from pathlib import Path

from harness.explore.schedules import ScheduleBuilder, schedule_key
from harness.explore.search import Search
from harness.explore.vocabulary import build_vocabulary
from harness.scenario import load_scenario
from tests.explore.explore_fakes import FakeRuns

SCENARIO = load_scenario("scenarios/majordomo/majordomo-async-broker-restart.yaml")
VOCAB = build_vocabulary(SCENARIO)


def search(runs: FakeRuns, *, budget: int = 40, jobs: int = 1, seed: int = 3,
           database: Path | None = None) -> Search:
    return Search(vocab=VOCAB, builder=ScheduleBuilder(SCENARIO), run_batch=runs,
                  budget=budget, deadline=None, jobs=jobs, seed=seed, database=database,
                  key=f"test|{VOCAB.digest()}|j{jobs}")


def two_faults(schedule, _seed) -> bool:
    return len(schedule) >= 2


def test_the_budget_bounds_the_runs_when_nothing_fails() -> None:
    runs = FakeRuns(lambda _s, _seed: False)
    result = search(runs, budget=12).run()
    assert result.failure is None
    assert result.stopped == "budget" and result.runs == 12 == runs.runs("search")


def test_it_stops_at_the_first_failure_and_reports_that_run() -> None:
    runs = FakeRuns(two_faults)
    result = search(runs).run()
    assert result.stopped == "failure" and result.failure is not None
    assert len(result.failure.schedule) >= 2
    assert result.failure is result.examples[-1]  # nothing ran after it
    assert all(len(e.schedule) < 2 for e in result.examples[:-1])


def test_parallel_batches_spend_the_whole_budget() -> None:
    # batches mixing new and already-run schedules must not end the search early
    for jobs, budget in ((2, 9), (2, 60), (3, 40)):
        runs = FakeRuns(lambda _s, _seed: False)
        result = search(runs, budget=budget, jobs=jobs).run()
        assert result.runs == budget == runs.runs("search")
        assert result.stopped == "budget"


def test_the_same_seed_repeats_the_search() -> None:
    first, second = FakeRuns(lambda _s, _seed: False), FakeRuns(lambda _s, _seed: False)
    search(first, budget=8, seed=42).run()
    search(second, budget=8, seed=42).run()
    assert [schedule_key(s) for _, s in first.calls] == [schedule_key(s) for _, s in second.calls]


def test_a_failing_example_is_tried_first_next_time(tmp_path: Path) -> None:
    db = tmp_path / "db"
    first = search(FakeRuns(two_faults), seed=1, database=db).run()
    assert first.failure is not None
    again = FakeRuns(two_faults)
    second = search(again, seed=99, database=db).run()
    assert second.failure is not None
    assert second.runs == 1  # the saved failure, replayed before anything new
    assert schedule_key(second.failure.schedule) == schedule_key(first.failure.schedule)


def long_outage(schedule, _seed) -> bool:
    return sum(f.duration or 0 for f in schedule) >= 2.0


def test_nothing_runs_after_the_first_failure_whatever_the_phase() -> None:
    # the fake figures grow with the number of faults, so the targeting phase
    # climbs towards schedules like the failing ones
    for seed in range(1, 6):
        runs = FakeRuns(long_outage)
        result = search(runs, budget=40, seed=seed).run()
        if result.failure is not None:
            assert result.failure is result.examples[-1]
            assert runs.runs() == result.runs
