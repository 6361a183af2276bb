"""Shrinking a failing schedule by confirmation: every step is a real run that failed.

Hypothesis's shrinker replays candidates and trusts one run each; on a live
system that either reports a schedule that no longer fails or raises
``Flaky``. This shrinker keeps Hypothesis's *passes* and ordering (smaller
is simpler: fewer faults, then fewer nodes touched, then simpler fault
kinds, then shorter, then earlier, then milder parameters) but accepts a
candidate only when a real run of it broke the same contract. Consequences,
by construction:

- the minimal schedule has failed at least once for real (it is never a
  schedule that merely used to fail);
- each accepted step carries its measured rate (failures / tries);
- a step that fails only sometimes may be rejected although it would have
  failed on another try: the shrink is greedy and conservative, never
  optimistic. Before the first step the original schedule is run once more;
  if it passes then, the bug is flaky and every candidate gets up to two
  tries.

Candidates are valid scenarios only (the loader decides), tried at most
once per (schedule, seed), and run ``-j`` at a time: the first failing one
in pass order is accepted and the passes start over. Shrinking stops at a
local minimum (no candidate of any pass fails), when its run budget is
spent, or at the deadline; the best schedule so far is the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.explore.journal import Example
from harness.explore.schedules import (
    ONE_WAY_CUT,
    Schedule,
    ScheduleBuilder,
    describe_schedule,
    entries,
    kind_of,
    schedule_key,
    sort_schedule,
)
from harness.explore.vocabulary import STEP, Vocabulary, rank
from harness.scenario import Fault

RunBatch = Callable[[list[tuple[Schedule, int]], str], list[Example]]


@dataclass
class Step:
    """One accepted schedule on the way down, with its measured failure rate."""

    schedule: Schedule
    passes: str  # which pass produced it ("original" for the start)
    fails: int
    tries: int
    example: Example  # a run of it that failed

    def to_json(self) -> dict[str, Any]:
        return {"pass": self.passes, "schedule": entries(self.schedule),
                "schedule_text": describe_schedule(self.schedule), "fails": self.fails,
                "tries": self.tries, "run": self.example.record.name}


@dataclass
class ShrinkResult:
    contract: str
    steps: list[Step] = field(default_factory=list)
    runs: int = 0
    stopped: str = "minimal"  # minimal | budget | time
    flaky: bool = False

    @property
    def minimal(self) -> Step:
        return self.steps[-1]


def _grid(value: float) -> float:
    return round(round(value / STEP) * STEP, 6)


def _with(fault: Fault, **update: Any) -> Fault:
    return fault.model_copy(update=update)


def _replace(schedule: Schedule, index: int, fault: Fault) -> Schedule:
    items = list(schedule)
    items[index] = fault
    return sort_schedule(items)


# -- passes: each yields candidates simpler than ``schedule`` -----------------------


def drop_faults(schedule: Schedule, vocab: Vocabulary) -> Iterator[Schedule]:
    """Fewer faults: without each one (the latest first), then without each pair."""
    n = len(schedule)
    for i in reversed(range(n)):
        yield schedule[:i] + schedule[i + 1:]
    for i in reversed(range(n)):
        for j in reversed(range(i)):
            yield tuple(f for k, f in enumerate(schedule) if k not in (i, j))


def fewer_nodes(schedule: Schedule, vocab: Vocabulary) -> Iterator[Schedule]:
    """Fewer nodes or links touched: one target of a group, one link of a bundle,
    a smaller side of a partition, one stream instead of both."""
    for i, fault in enumerate(schedule):
        if fault.is_process and len(fault.targets) > 1:
            for node in fault.targets:
                yield _replace(schedule, i, _with(fault, targets=[node]))
        elif fault.action == "partition" and fault.sides and len(fault.sides) == 2:
            small, _big = sorted(fault.sides, key=len)
            for node in small if len(small) > 1 else []:
                side = [n for n in small if n != node]
                other = [n for n in vocab.nodes if n not in side]
                links = vocab.cut_links(set(side))
                if links and vocab.partition_allowed(set(side)):
                    yield _replace(schedule, i, _with(fault, sides=[side, other], links=links))
        elif fault.links and len(fault.links) > 1 and fault.action != "partition":
            for link in fault.links:
                yield _replace(schedule, i, _with(fault, links=[link]))
        if (not fault.is_process and fault.action not in ("partition", "disconnect", "heal")
                and fault.stream == "both"):
            for stream in ("up", "down"):
                yield _replace(schedule, i, _with(fault, stream=stream))


def _simplest_params(kind: str, vocab: Vocabulary) -> dict[str, int]:
    spec = vocab.toxics.get(kind)
    if spec is None:
        return {}
    params = {name: lo for name, (lo, _hi) in spec.attributes.items()}
    if kind == "latency" and params.get("latency", 0) == 0:
        params["latency"] = max(1, spec.attributes["latency"][1] // 2)
    return params


def simpler_kinds(schedule: Schedule, vocab: Vocabulary) -> Iterator[Schedule]:
    """A simpler kind on the same targets: kill before stop before restart before pause;
    partition before disconnect before a one-way cut before the toxics."""
    for i, fault in enumerate(schedule):
        kind = kind_of(fault)
        if fault.is_process:
            for other in vocab.process_kinds():
                if rank(other) >= rank(kind) or other == "start":
                    continue
                if not any(tuple(fault.targets) == t for t in vocab.process.get(other, ())):
                    continue
                length = None if other == "restart" else (fault.duration or vocab.length[0])
                if other in ("kill", "stop") and fault.duration is None and kind != "restart":
                    length = None
                yield _replace(schedule, i, _with(fault, action=other, duration=length))
        elif fault.links and fault.action != "partition":
            for other in vocab.link_kinds():
                if rank(other) >= rank(kind):
                    continue
                if other == "disconnect":
                    new = _with(fault, action="disconnect", attributes={}, stream="both",
                                toxicity=1.0)
                elif other == ONE_WAY_CUT:
                    stream = fault.stream if fault.stream != "both" else "up"
                    new = _with(fault, action="timeout", attributes={"timeout": 0},
                                stream=stream, toxicity=1.0)
                else:
                    new = _with(fault, action=other, attributes=_simplest_params(other, vocab),
                                toxicity=1.0)
                yield _replace(schedule, i, new)


def shorter(schedule: Schedule, vocab: Vocabulary) -> Iterator[Schedule]:
    """Each timed fault as short as allowed, then half as long."""
    low = vocab.length[0]
    for i, fault in enumerate(schedule):
        if fault.duration is None or fault.duration <= low:
            continue
        yield _replace(schedule, i, _with(fault, duration=low))
        half = _grid(max(low, fault.duration / 2))
        if low < half < fault.duration:
            yield _replace(schedule, i, _with(fault, duration=half))


def earlier(schedule: Schedule, vocab: Vocabulary) -> Iterator[Schedule]:
    """Each fault at the start of the window, then half-way there."""
    start = vocab.window[0]
    for i, fault in enumerate(schedule):
        if fault.at <= start:
            continue
        yield _replace(schedule, i, _with(fault, at=start))
        half = _grid(start + (fault.at - start) / 2)
        if start < half < fault.at:
            yield _replace(schedule, i, _with(fault, at=half))


def milder(schedule: Schedule, vocab: Vocabulary) -> Iterator[Schedule]:
    """Toxic parameters towards the low end of their range; toxicity 1 (always)."""
    for i, fault in enumerate(schedule):
        spec = vocab.toxics.get(fault.action)
        if fault.toxicity != 1.0:
            yield _replace(schedule, i, _with(fault, toxicity=1.0))
        if spec is None or kind_of(fault) == ONE_WAY_CUT:
            continue
        for name, value in fault.attributes.items():
            low = spec.attributes.get(name, (0, 0))[0]
            if value <= low:
                continue
            for smaller in dict.fromkeys([low, low + (value - low) // 2]):
                if smaller < value:
                    attrs = {**fault.attributes, name: smaller}
                    if fault.action == "latency" and attrs.get("latency", 1) == 0:
                        continue
                    yield _replace(schedule, i, _with(fault, attributes=attrs))


PASSES: tuple[tuple[str, Callable[[Schedule, Vocabulary], Iterator[Schedule]]], ...] = (
    ("fewer faults", drop_faults),
    ("fewer nodes", fewer_nodes),
    ("simpler kind", simpler_kinds),
    ("shorter", shorter),
    ("earlier", earlier),
    ("milder", milder),
)


class Shrinker:
    """Greedy, confirmation-based shrinking of one failing example for one contract."""

    def __init__(
        self,
        *,
        vocab: Vocabulary,
        builder: ScheduleBuilder,
        run_batch: RunBatch,
        contract: str,
        original: Example,
        budget: int,
        deadline: float | None,
        jobs: int,
    ) -> None:
        self.vocab = vocab
        self.builder = builder
        self.run_batch = run_batch
        self.contract = contract
        self.original = original
        self.budget = budget
        self.deadline = deadline
        self.jobs = max(1, jobs)
        self.seed = original.seed
        self.tried: set[str] = {schedule_key(original.schedule)}
        self.result = ShrinkResult(contract=contract)

    def _left(self) -> int:
        return max(0, self.budget - self.result.runs)

    def _stop_reason(self) -> str | None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return "time"
        if self._left() == 0:
            return "budget"
        return None

    def _run(self, schedules: list[Schedule], phase: str) -> list[Example]:
        ran = self.run_batch([(s, self.seed) for s in schedules], phase)
        self.result.runs += len(ran)
        return ran

    def _candidates(self, current: Schedule) -> Iterator[tuple[str, Schedule]]:
        for name, make in PASSES:
            for candidate in make(current, self.vocab):
                candidate = sort_schedule(candidate)
                if not candidate:
                    continue
                key = schedule_key(candidate)
                if key in self.tried:
                    continue
                self.tried.add(key)
                if self.builder.is_valid(candidate):
                    yield name, candidate

    def run(self) -> ShrinkResult:
        first = Step(self.original.schedule, "original", 1, 1, self.original)
        self.result.steps.append(first)
        # Run the original once more: it confirms the failure and tells whether it is flaky.
        if self._stop_reason() is None:
            (again,) = self._run([self.original.schedule], "confirm")
            first.tries += 1
            if again.violates(self.contract):
                first.fails += 1
            else:
                self.result.flaky = True
        tries = 2 if self.result.flaky else 1
        while True:
            reason = self._stop_reason()
            if reason is not None:
                self.result.stopped = reason
                return self.result
            accepted = self._one_round(self.result.minimal.schedule, tries)
            if accepted is None:
                self.result.stopped = self._stop_reason() or "minimal"
                return self.result
            self.result.steps.append(accepted)

    def _one_round(self, current: Schedule, tries: int) -> Step | None:
        """Try candidates of every pass in order, ``-j`` at a time; the first that fails wins.

        With ``tries`` 2 (a flaky failure) a candidate that passed once is run
        once more before it is rejected.
        """
        pending = self._candidates(current)
        while True:
            batch: list[tuple[str, Schedule]] = []
            for item in pending:
                batch.append(item)
                if len(batch) >= min(self.jobs, self._left()):
                    break
            if not batch or self._stop_reason() is not None:
                return None
            tally: dict[str, list[int]] = {schedule_key(s): [0, 0] for _, s in batch}
            failing: dict[str, Example] = {}
            for attempt in range(tries):
                todo = [(n, s) for n, s in batch if schedule_key(s) not in failing]
                if attempt > 0:
                    todo = todo[: self._left()]
                if not todo:
                    break
                ran = self._run([s for _, s in todo], "shrink")
                for (name, schedule), example in zip(todo, ran, strict=True):
                    key = schedule_key(schedule)
                    tally[key][1] += 1
                    if example.violates(self.contract):
                        tally[key][0] += 1
                        example.note = f"accepted: {name}"
                        failing.setdefault(key, example)
                for name, schedule in batch:
                    key = schedule_key(schedule)
                    if key in failing:
                        fails, total = tally[key]
                        return Step(schedule, name, fails, total, failing[key])
