"""Fake runs for the explorer's unit tests: a predicate decides each run's verdicts.

The search, the shrinker and the replays only see :class:`Example` values
from a ``run_batch`` callable, so a deterministic (or deliberately flaky)
predicate stands in for real runs and the tests stay fast.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from pathlib import Path

from harness.explore.adapter import RunRecord
from harness.explore.journal import Example, Journal
from harness.explore.schedules import Schedule

Predicate = Callable[[Schedule, int], bool]  # True = the contract broke in this run


class FakeRuns:
    """``run_batch`` for Search and Shrinker: contract ``broken`` breaks when ``predicate`` says so.

    ``flaky`` (0..1) makes a breaking run pass that often, from a seeded RNG.
    """

    def __init__(self, predicate: Predicate, contract: str = "replies_match_requests",
                 flaky: float = 0.0, seed: int = 0) -> None:
        self.predicate = predicate
        self.contract = contract
        self.flaky = flaky
        self.rng = random.Random(seed)
        self.journal = Journal()
        self.calls: list[tuple[str, Schedule]] = []
        self._names = itertools.count(1)

    def __call__(self, items: list[tuple[Schedule, int]], phase: str) -> list[Example]:
        out = []
        for schedule, seed in items:
            self.calls.append((phase, schedule))
            broken = self.predicate(schedule, seed) and self.rng.random() >= self.flaky
            verdict = "violated" if broken else "ok"
            record = RunRecord(
                name=f"fake-{next(self._names)}", verdict="fail" if broken else "pass",
                contracts={self.contract: verdict}, messages={},
                violated=[self.contract] if broken else [],
                coverage=[{"hit": True} for _ in schedule], coverage_source="fake",
                informative=True, figures={"failed_ops": float(len(schedule))},
                report_dir=Path("/nonexistent"), wall_s=0.0,
            )
            out.append(self.journal.add(phase, schedule, seed, record))
        return out

    def runs(self, phase: str | None = None) -> int:
        return sum(1 for p, _ in self.calls if phase is None or p == phase)
