"""The search: Hypothesis generates fault schedules, real runs judge them.

Hypothesis is used for what it does well on non-deterministic systems too:

- **generating** schedules from the strategies (:mod:`harness.explore.strategies`);
- **targeting**: after each run ``hypothesis.target`` is fed the figures the
  checkers already compute (longest time with two ACTIVE servers, failed
  operations, worst latency, retries, slowest failover, and the share of
  faults that hit something), so the second half of the budget hill-climbs
  towards trouble instead of sampling blindly; a run whose faults hit
  nothing scores zero everywhere, which steers the search away from it;
- the **example database** (``.zchaos/explore-db`` by default): the batch
  that broke a contract is saved and replayed first the next time.

It is *not* used to shrink. Hypothesis's shrinker assumes a deterministic
test and reports ``Flaky`` when a replay disagrees; a real run of a live
system disagrees with itself routinely. So the search runs without the
shrink phase, stops at the first run that breaks a contract, and hands that
run to :mod:`harness.explore.shrink`, which confirms every step by running
it again. Hypothesis replays the failing example once at the end; a memo of
results by (schedule, seed) answers that replay without another run, so
Hypothesis always sees a deterministic test.

Budget and time are ours, not Hypothesis's: ``max_examples`` is the number
of batches the budget allows (so its targeting phase starts half-way), and
when the run budget or the time limit is spent the test raises
:class:`SearchStopped` (a ``BaseException``, which Hypothesis lets through).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, example, given, reject, settings, target
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import HypothesisException
from hypothesis.reporting import with_reporter

from harness.explore.journal import Example
from harness.explore.schedules import Schedule, ScheduleBuilder, schedule_key
from harness.explore.strategies import batches
from harness.explore.vocabulary import Vocabulary

TARGET_LABELS = ("two_active_s", "failed_ops", "worst_latency_ms", "retries", "failover_s")

RunBatch = Callable[[list[tuple[Schedule, int]], str], list[Example]]


class SearchStopped(BaseException):
    """The run budget or the time limit is spent: end Hypothesis's loop."""


class ViolationFound(Exception):
    """A run broke a contract its scenario expects to hold."""


@dataclass
class SearchResult:
    failure: Example | None
    stopped: str  # failure | budget | time | exhausted | unsatisfiable
    seed: int
    runs: int
    examples: list[Example] = field(default_factory=list)


class Search:
    """One Hypothesis-driven search over a vocabulary, bounded by runs and time."""

    def __init__(
        self,
        *,
        vocab: Vocabulary,
        builder: ScheduleBuilder,
        run_batch: RunBatch,
        budget: int,
        deadline: float | None,
        jobs: int,
        seed: int,
        database: Path | None,
        first: list[tuple[Schedule, int]] | None = None,
        key: str = "",
    ) -> None:
        self.vocab = vocab
        self.builder = builder
        self.run_batch = run_batch
        self.budget = budget
        self.deadline = deadline
        self.jobs = max(1, jobs)
        self.seed = seed
        self.database = database
        self.first = first or []
        self.key = key
        # By schedule alone: a run's seed is drawn with its schedule, but a schedule
        # already run is not run again for another seed (the targeting phase would
        # otherwise "climb" by re-rolling seeds of one schedule).
        self.memo: dict[str, Example] = {}
        self.examples: list[Example] = []
        self.failure: Example | None = None

    # -- limits -------------------------------------------------------------
    def runs_left(self) -> int:
        return max(0, self.budget - len(self.examples))

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    # -- one Hypothesis example: a batch of schedules --------------------------
    def _test(self, batch: list[tuple[Schedule, int]]) -> None:
        if self.failure is not None:
            # Hypothesis's optimiser may call again before it notices the failure.
            raise SearchStopped("failure")
        results: list[Example] = []
        todo: list[tuple[Schedule, int]] = []
        for schedule, seed in batch:
            if not schedule:
                continue
            cached = self.memo.get(schedule_key(schedule))
            if cached is not None:
                results.append(cached)
            elif all(schedule_key(schedule) != schedule_key(s) for s, _ in todo):
                todo.append((schedule, seed))
        if any(item.record.violated for item in results):
            todo = []  # the failing batch again (Hypothesis's final replay): answer from memory
        elif not todo:
            # Every schedule empty or run already: not a new example, and it must not
            # use up one of Hypothesis's max_examples (one per batch of new runs).
            reject()
        if todo:
            if self.runs_left() == 0:
                raise SearchStopped("budget")
            if self.out_of_time():
                raise SearchStopped("time")
            ran = self.run_batch(todo[: self.runs_left()], "search")
            for item in ran:
                self.memo[schedule_key(item.schedule)] = item
                self.examples.append(item)
            results += ran
        self._steer(results)
        failing = [item for item in results if item.record.violated]
        if failing:
            if self.failure is None:
                self.failure = failing[0]
            raise ViolationFound(", ".join(failing[0].record.violated))

    def _steer(self, results: list[Example]) -> None:
        """``hypothesis.target`` on the batch's best figures; uninformative runs score 0."""
        informative = [e for e in results if e.record.informative]
        hit_share = 0.0
        for item in results:
            coverage = item.record.coverage
            if coverage:
                hit_share = max(hit_share, sum(bool(c.get("hit")) for c in coverage)
                                / len(coverage))
        try:
            target(hit_share, label="faults_hit")
            for label in TARGET_LABELS:
                value = max((float(e.record.figures.get(label, 0.0)) for e in informative),
                            default=0.0)
                target(value, label=label)
        except HypothesisException:
            pass  # an explicit example: no targeting there

    # -- the loop -----------------------------------------------------------
    def _round(self, number: int) -> str:
        """One Hypothesis run over the runs left; returns why it stopped."""
        batches_allowed = max(1, math.ceil(self.runs_left() / self.jobs))

        def explore_schedules(batch: list[tuple[Schedule, int]]) -> None:
            self._test(batch)

        # The database key must differ per scenario, vocabulary and batch shape.
        explore_schedules._hypothesis_internal_add_digest = self.key.encode()  # type: ignore[attr-defined]
        test = given(batches(self.vocab, self.builder, self.jobs))(explore_schedules)
        if number == 0:
            for first in reversed(self.first):
                test = example([first])(test)
        # The seed first: hypothesis.seed() turns the database off in the settings it
        # finds, and the settings applied after it turn ours back on.
        test = hypothesis_seed(self.seed + number)(test)
        phases = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target)
        test = settings(
            max_examples=batches_allowed,
            deadline=None,
            database=(DirectoryBasedExampleDatabase(str(self.database))
                      if self.database is not None else None),
            phases=phases if number == 0 else phases[2:],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(test)
        try:
            with with_reporter(lambda _text: None):
                test()
        except ViolationFound:
            return "failure"
        except SearchStopped as stop:
            return str(stop) or "budget"
        except HypothesisException as exc:
            # Unsatisfiable (nothing valid to draw) or an unexpected engine complaint;
            # what we recorded stays valid either way.
            return "unsatisfiable" if "Unsatisfiable" in type(exc).__name__ else \
                f"hypothesis: {type(exc).__name__}"
        return "exhausted"

    def run(self) -> SearchResult:
        """Rounds of Hypothesis until a failure, the budget, the time limit, or nothing new.

        One round is usually the whole search. With ``-j`` a batch may mix new
        schedules with ones already run (only the new ones run), so a round can
        end with runs left; the next round (next seed, no database replay)
        spends them, and a round that runs nothing new ends the search.
        """
        stopped = "exhausted"
        for number in itertools.count():
            before = len(self.examples)
            stopped = self._round(number)
            if (stopped != "exhausted" or self.failure is not None or self.runs_left() == 0
                    or self.out_of_time() or len(self.examples) == before):
                break
        if self.failure is not None:
            stopped = "failure"
        elif stopped == "exhausted" and self.runs_left() == 0:
            stopped = "budget"
        elif stopped == "exhausted" and self.out_of_time():
            stopped = "time"
        return SearchResult(self.failure, stopped, self.seed, len(self.examples),
                            list(self.examples))
