"""The shrinker: only confirmed steps, simpler at each step, never a schedule that passed."""

from __future__ import annotations

from harness.explore.schedules import ScheduleBuilder, sort_schedule
from harness.explore.shrink import Shrinker, drop_faults, earlier, fewer_nodes, shorter
from harness.explore.vocabulary import build_vocabulary
from harness.scenario import Fault, load_scenario
from tests.explore.explore_fakes import FakeRuns

SCENARIO = load_scenario("scenarios/majordomo/majordomo-async-broker-restart.yaml")
VOCAB = build_vocabulary(SCENARIO)
BUILDER = ScheduleBuilder(SCENARIO)

PAUSE_BROKER = Fault(at=2.7, action="pause", targets=["broker"], duration=1.4)
KILL_WORKERS = Fault(at=1.4, action="kill", targets=["worker-1", "worker-2"], duration=1.2)
LATENCY = Fault(at=3.0, action="latency", links=["client-1->broker", "client-2->broker"],
                stream="both", attributes={"latency": 700, "jitter": 40}, duration=0.9)
ORIGINAL = sort_schedule([PAUSE_BROKER, KILL_WORKERS, LATENCY])


def pauses_broker(schedule, _seed) -> bool:
    return any(f.action == "pause" and "broker" in f.targets for f in schedule)


def shrink(runs: FakeRuns, budget: int = 60):
    (original,) = runs([(ORIGINAL, 11)], "search")
    shrinker = Shrinker(vocab=VOCAB, builder=BUILDER, run_batch=runs,
                        contract="replies_match_requests", original=original, budget=budget,
                        deadline=None, jobs=2)
    return shrinker.run()


def test_passes_only_propose_simpler_schedules() -> None:
    assert all(len(c) < len(ORIGINAL) for c in drop_faults(ORIGINAL, VOCAB))
    narrower = list(fewer_nodes(ORIGINAL, VOCAB))
    assert any(len(f.targets) == 1 for c in narrower for f in c if f.action == "kill")
    assert any(f.links == ["client-1->broker"] for c in narrower for f in c)
    for candidate in shorter(ORIGINAL, VOCAB):
        assert sum(f.duration or 0 for f in candidate) < sum(f.duration or 0 for f in ORIGINAL)
    for candidate in earlier(ORIGINAL, VOCAB):
        assert sum(f.at for f in candidate) < sum(f.at for f in ORIGINAL)


def test_a_deterministic_failure_shrinks_to_its_one_cause() -> None:
    runs = FakeRuns(pauses_broker)
    result = shrink(runs)
    minimal = result.minimal.schedule
    assert len(minimal) == 1
    (fault,) = minimal
    assert fault.action == "pause" and fault.targets == ["broker"]
    assert fault.at == VOCAB.window[0] and fault.duration == VOCAB.length[0]
    assert result.stopped == "minimal" and not result.flaky
    # every accepted step is a schedule that failed in a real (here: fake) run
    for step in result.steps:
        assert step.fails >= 1 and step.example.violates("replies_match_requests")
        assert BUILDER.is_valid(step.schedule)


def test_every_shrink_run_is_counted_against_its_budget() -> None:
    runs = FakeRuns(pauses_broker)
    result = shrink(runs, budget=3)
    assert result.runs <= 3
    assert result.stopped == "budget"
    assert runs.runs("shrink") + runs.runs("confirm") == result.runs


def test_a_flaky_failure_never_yields_a_schedule_that_did_not_fail() -> None:
    runs = FakeRuns(pauses_broker, flaky=0.5, seed=4)
    result = shrink(runs)
    for step in result.steps:
        assert 1 <= step.fails <= step.tries
    last = result.minimal
    assert last.example.violates("replies_match_requests")
    assert pauses_broker(last.schedule, 0)


def test_a_failure_that_does_not_reproduce_stays_the_original() -> None:
    once = {"left": 1}

    def only_first(schedule, _seed) -> bool:
        if once["left"]:
            once["left"] -= 1
            return True
        return False

    runs = FakeRuns(only_first)
    result = shrink(runs, budget=12)
    assert result.flaky
    assert len(result.steps) == 1 and result.minimal.schedule == ORIGINAL
    assert result.minimal.fails == 1 and result.minimal.tries == 2
