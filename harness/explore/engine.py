"""One exploration end to end: search, shrink, replay, write. CLI and pytest share it.

:func:`explore` loads the base scenario, derives the fault vocabulary, opens
the executor's sessions, and then:

1. **search** (:mod:`harness.explore.search`) until a run breaks a contract
   the scenario expects to hold, the run budget (``--budget``) is spent, or
   the time limit (``--time``) passes;
2. for each contract that run broke: **shrink** the schedule
   (:mod:`harness.explore.shrink`, its own run budget), write
   ``minimal.yaml``, and **replay** it ``--replays`` times to measure its
   reproduction rate (:mod:`harness.explore.replay`); a minimal schedule
   that never fails in its replays is not reported as such: the previous
   shrink step, then the original, is measured instead;
3. **write** the failure folders and ``explore.json`` (:mod:`harness.explore.writer`).

Bad input (a broken scenario file, an ``explore:`` section that allows no
fault, ``-j`` where it cannot work, a scenario whose first runs all end in
a harness error) raises :class:`ExploreError`, which the CLI turns into exit 2.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.explore.adapter import RunRecord
from harness.explore.executor import Executor, Job
from harness.explore.journal import Example, Journal
from harness.explore.progress import ProgressLine
from harness.explore.replay import Reproduction, measure
from harness.explore.schedules import (
    Schedule,
    ScheduleBuilder,
    describe_schedule,
    entries,
    sort_schedule,
)
from harness.explore.search import Search, SearchResult
from harness.explore.shrink import Shrinker, ShrinkResult, Step
from harness.explore.vocabulary import Vocabulary, build_vocabulary
from harness.explore.writer import (
    copy_report,
    failure_folder,
    write_json,
    write_scenario,
    write_summary,
)
from harness.runner import RunOptions, new_run_id
from harness.scenario import Scenario, ScenarioError, load_scenario

DEFAULT_DATABASE = Path(".zchaos") / "explore-db"
FAIL_FAST_ERRORS = 3  # this many harness errors in a row, before any other outcome: give up
PHASE_LETTER = {"base": "b", "search": "e", "confirm": "c", "shrink": "s", "replay": "r"}


class ExploreError(Exception):
    """Bad input or a scenario that cannot run at all: the CLI's exit 2."""


class _Abort(BaseException):
    """Raised from inside the search to end it (Hypothesis must not take it for a failure)."""


@dataclass
class ExploreOptions:
    scenario: str | Path | Scenario
    budget: int = 60
    time_limit: float | None = None  # seconds
    jobs: int = 1
    impls: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    replays: int = 10
    shrink_budget: int = 30
    database: Path | None = DEFAULT_DATABASE
    report_root: Path = Path("reports")
    run_id: str | None = None
    runtime: str = "local"
    image: str = "zchaos:latest"
    toxiproxy_image: str | None = None
    base_first: bool = False
    quiet: bool = False


@dataclass
class Failure:
    """One distinct failure: a contract and the shrunk schedule that breaks it."""

    contract: str
    folder: Path
    schedule: Schedule
    original: Example
    shrink: ShrinkResult
    reproduction: Reproduction
    minimal_yaml: Path
    reported_step: str  # "minimal" or the shrink step measured instead
    measured: list[dict[str, Any]] = field(default_factory=list)  # every schedule replayed
    also_violated: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": self.contract,
            "folder": str(self.folder),
            "minimal": entries(self.schedule),
            "minimal_text": describe_schedule(self.schedule),
            "faults": len(self.schedule),
            "original": entries(self.original.schedule),
            "original_text": describe_schedule(self.original.schedule),
            "reproduction": self.reproduction.to_json(),
            "reported_step": self.reported_step,
            "measured": self.measured,
            "shrink": [s.to_json() for s in self.shrink.steps],
            "shrink_runs": self.shrink.runs,
            "shrink_stopped": self.shrink.stopped,
            "flaky": self.shrink.flaky,
            "minimal_yaml": str(self.minimal_yaml),
            "also_violated": self.also_violated,
        }


@dataclass
class ExploreResult:
    scenario: Scenario
    folder: Path  # reports/<run-id>/explore
    seed: int
    search: SearchResult
    failures: list[Failure]
    journal: Journal
    wall_s: float
    runs_to_failure: int | None

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def message(self) -> str:
        """What a failing pytest test shows: the minimal scenario and how often it fails."""
        if not self.failures:
            return (f"no contract broken in {self.search.runs} run(s) of {self.scenario.name} "
                    f"(stopped: {self.search.stopped})")
        parts = []
        for failure in self.failures:
            rep = failure.reproduction
            parts.append(
                f"{failure.contract} violated by {describe_schedule(failure.schedule)}"
                f"\nreproduced {rep.fails}/{rep.replays}; minimal scenario "
                f"({failure.minimal_yaml}):\n\n{failure.minimal_yaml.read_text()}")
        return "\n\n".join(parts)


def _load(options: ExploreOptions) -> Scenario:
    if isinstance(options.scenario, Scenario):
        return options.scenario
    try:
        return load_scenario(options.scenario)
    except ScenarioError as exc:
        raise ExploreError(str(exc)) from None


def _check_options(options: ExploreOptions, vocab: Vocabulary) -> None:
    if options.budget < 1:
        raise ExploreError("--budget must be at least 1 run")
    if options.jobs < 1:
        raise ExploreError("-j must be at least 1")
    if options.jobs > 1 and options.runtime != "local":
        raise ExploreError("-j > 1 runs examples side by side on the local runtime only")
    if options.jobs > 1 and os.environ.get("TOXIPROXY_URL"):
        raise ExploreError("-j > 1 needs a Toxiproxy per slot, so it cannot share "
                           "TOXIPROXY_URL (proxies are named after links); use -j 1")
    if options.replays < 0 or options.shrink_budget < 0:
        raise ExploreError("--replays and --shrink-budget must not be negative")
    if not vocab.categories():
        raise ExploreError("the explore section allows no fault at all: enable a process "
                           "fault, partitions, one-way cuts, disconnects or a toxic")


class _Exploration:
    """The state of one exploration (journal, names, executor, progress)."""

    def __init__(self, options: ExploreOptions, base: Scenario, vocab: Vocabulary,
                 progress: ProgressLine) -> None:
        self.options = options
        self.base = base
        self.vocab = vocab
        self.builder = ScheduleBuilder(base)
        self.progress = progress
        self.journal = Journal()
        self._counters = {phase: itertools.count(1) for phase in PHASE_LETTER}
        self._names_lock = threading.Lock()
        self.executor: Executor | None = None

    # -- running -------------------------------------------------------------
    def name_for(self, phase: str) -> str:
        with self._names_lock:
            return f"{self.base.name}-{PHASE_LETTER[phase]}{next(self._counters[phase]):03d}"

    def _on_start(self, _job: Job, _record: RunRecord | None) -> None:
        self.progress.started()

    def _on_done(self, job: Job, record: RunRecord | None) -> None:
        assert record is not None
        example = self.journal.add(job.phase, job.schedule, job.seed, record, job.note)
        job.extra["example"] = example
        self.progress.finished(example)

    def run_jobs(self, jobs: list[Job]) -> list[Example]:
        assert self.executor is not None
        self.executor.run(jobs)
        return [job.extra["example"] for job in jobs]

    def run_batch(self, items: list[tuple[Schedule, int]], phase: str) -> list[Example]:
        jobs = []
        for schedule, seed in items:
            scenario = self.builder.build(schedule, name=self.name_for(phase), seed=seed)
            jobs.append(Job(scenario, phase, schedule, seed))
        examples = self.run_jobs(jobs)
        self._fail_fast()
        return examples

    def _fail_fast(self) -> None:
        first = self.journal.examples[:FAIL_FAST_ERRORS]
        if (len(first) == FAIL_FAST_ERRORS and all(e.record.verdict == "error" for e in first)
                and len(self.journal.examples) == FAIL_FAST_ERRORS):
            raise _Abort(first[-1].record.error or "harness error")

    # -- one failure: shrink, write, replay ----------------------------------------
    def commands(self) -> dict[str, str]:
        return dict(self.options.impls)

    def scenario_data(self, schedule: Schedule, contract: str, seed: int,
                      suffix: str, note: str) -> dict[str, Any]:
        spec = next(c for c in self.base.contracts if c.name == contract)
        return self.builder.data(
            schedule,
            name=f"{self.base.name}-{suffix}-{contract}".replace("_", "-"),
            seed=seed,
            description=note,
            contracts=[spec.to_yaml_entry()],
            expect={"violated": [contract]},
            commands=self.commands(),
        )

    def write_and_replay(self, folder: Path, step: Step, contract: str,
                         label: str) -> tuple[Path, Reproduction]:
        text = describe_schedule(step.schedule)
        note = (f"Found by zchaos explore from {self.base.source}: {contract} violated with "
                f"{len(step.schedule)} fault(s): {text}.")
        data = self.scenario_data(step.schedule, contract, step.example.seed, "min", note)
        path = folder / "minimal.yaml"
        write_scenario(path, data, header=(
            f"zchaos explore: minimal scenario breaking {contract} ({label}).\n"
            f"Reproduce: zchaos run {path}\n"
            "(exit 0 = the contract was violated again, as expected here)"))
        try:
            loaded = load_scenario(path)
        except ScenarioError as exc:  # pragma: no cover - the builder validated the same data
            raise ExploreError(f"internal: minimal.yaml does not load back: {exc}") from None

        def replays(count: int) -> list[Example]:
            jobs = []
            for _ in range(count):
                name = self.name_for("replay")
                jobs.append(Job(loaded.model_copy(update={"name": name}), "replay",
                                step.schedule, loaded.seed, note=f"replay of {label}"))
            return self.run_jobs(jobs)

        self.progress.set_phase("replay", self.options.replays)
        return path, measure(replays, contract, self.options.replays)

    def handle_failure(self, original: Example, contract: str,
                       deadline: float | None) -> Failure:
        root = self.executor.run_root.parent if self.executor else Path(".")
        self.progress.note(f"[red]{contract} violated[/red] by "
                           f"{describe_schedule(original.schedule)}: shrinking")
        self.progress.set_phase("shrink", self.options.shrink_budget)
        shrinker = Shrinker(vocab=self.vocab, builder=self.builder, run_batch=self.run_batch,
                            contract=contract, original=original,
                            budget=self.options.shrink_budget, deadline=deadline,
                            jobs=self.options.jobs)
        shrink = shrinker.run()
        chain = list(shrink.steps)
        candidates = [chain[-1]]
        if len(chain) > 2:
            candidates.append(chain[-2])
        if len(chain) > 1:
            candidates.append(chain[0])
        folder = reproduction = minimal_path = None
        chosen = chain[-1]
        measured: list[dict[str, Any]] = []
        for step in candidates:
            label = "minimal" if step is chain[-1] else f"shrink step '{step.passes}'"
            folder = failure_folder(root, contract, step.schedule)
            minimal_path, reproduction = self.write_and_replay(folder, step, contract, label)
            chosen = step
            measured.append({"step": label, "schedule": describe_schedule(step.schedule),
                             **reproduction.to_json()})
            if reproduction.fails or step is candidates[-1]:
                break
            self.progress.note(f"[yellow]{label} did not fail in {reproduction.replays} "
                               "replays; measuring the previous step[/yellow]")
            shutil.rmtree(folder, ignore_errors=True)  # not the finding after all
        assert folder is not None and reproduction is not None and minimal_path is not None
        original_data = self.scenario_data(original.schedule, contract, original.seed,
                                           "orig", f"The unshrunk schedule that first broke "
                                           f"{contract} in zchaos explore.")
        write_scenario(folder / "original.yaml", original_data,
                       header="zchaos explore: the original (unshrunk) failing schedule.")
        proof = reproduction.first_failing() or chosen.example
        copy_report(proof.record.report_dir, folder / "report")
        copy_report(original.record.report_dir, folder / "original-report")
        failure = Failure(contract=contract, folder=folder, schedule=chosen.schedule,
                          original=original, shrink=shrink, reproduction=reproduction,
                          minimal_yaml=minimal_path, measured=measured,
                          reported_step="minimal" if chosen is chain[-1] else chosen.passes)
        self.progress.found()
        return failure


def _write_index(result: ExploreResult, options: ExploreOptions, vocab: Vocabulary,
                 stopped: str) -> None:
    examples = result.journal.examples
    minutes = result.wall_s / 60 if result.wall_s else 0
    document = {
        "scenario": result.scenario.name,
        "source": str(result.scenario.source),
        "seed": result.seed,
        "budget": options.budget,
        "time_limit_s": options.time_limit,
        "jobs": options.jobs,
        "replays": options.replays,
        "shrink_budget": options.shrink_budget,
        "impls": dict(options.impls),
        "database": str(options.database) if options.database else None,
        "vocabulary": vocab.describe(),
        "stopped": stopped,
        "runs": len(examples),
        "search_runs": sum(1 for e in examples if e.phase in ("base", "search")),
        "runs_to_first_failure": result.runs_to_failure,
        "wall_s": round(result.wall_s, 3),
        "runs_per_minute": round(len(examples) / minutes, 2) if minutes else None,
        "uninformative_runs": sum(1 for e in examples if not e.record.informative),
        "failures": [f.to_json() for f in result.failures],
        "examples": [e.to_json() for e in examples],
    }
    write_json(result.folder / "explore.json", document)
    for failure in result.failures:
        doc = failure.to_json()
        doc.update(scenario=result.scenario.name, seed=failure.reproduction.examples[0].seed
                   if failure.reproduction.examples else failure.original.seed,
                   runs_to_failure=result.runs_to_failure,
                   reproduce=f"zchaos run {failure.minimal_yaml}",
                   message=failure.original.record.messages.get(failure.contract, ""))
        write_json(failure.folder / "failure.json", doc)
        write_summary(failure.folder / "summary.md", doc)


def explore(options: ExploreOptions, console: Console | None = None) -> ExploreResult:
    """Run one exploration; raises :class:`ExploreError` on bad input, KeyboardInterrupt on ^C."""
    started = time.monotonic()
    base = _load(options)
    vocab = build_vocabulary(base)
    _check_options(options, vocab)
    deadline = None if options.time_limit is None else started + options.time_limit
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**31)
    run_id = options.run_id or new_run_id()
    run_options = RunOptions(report_root=options.report_root, run_id=f"{run_id}/explore/runs",
                             runtime=options.runtime, impls=dict(options.impls),
                             image=options.image, toxiproxy_image=options.toxiproxy_image)
    folder = options.report_root / run_id / "explore"
    if folder.exists():
        # A run writes into its report folder (traces are appended): never mix two explorations.
        raise ExploreError(f"{folder} exists already: give another --run-id")
    progress = ProgressLine(console, quiet=options.quiet)
    state = _Exploration(options, base, vocab, progress)
    failures: list[Failure] = []
    search_result = SearchResult(None, "interrupted", seed, 0)
    stopped = "interrupted"
    result = ExploreResult(base, folder, seed, search_result, failures, state.journal, 0.0, None)
    try:
        with Executor(run_options, options.jobs, state._on_start, state._on_done) as executor, \
                progress:
            state.executor = executor
            if executor.reaped:
                progress.note(f"reaped leftovers of a dead run: {', '.join(executor.reaped)}")
            progress.note(f"exploring {base.name} ({base.source}): budget {options.budget} "
                          f"runs, -j {options.jobs}, seed {seed}; window "
                          f"{vocab.window[0]:g}-{vocab.window[1]:g}s, at most "
                          f"{vocab.max_faults} fault(s)")
            progress.set_phase("search", options.budget)
            first = [(sort_schedule(base.faults), base.seed)] \
                if options.base_first and base.faults else []
            key = f"zchaos-explore|{base.name}|{vocab.digest()}|j{options.jobs}"
            search = Search(vocab=vocab, builder=state.builder, run_batch=state.run_batch,
                            budget=options.budget, deadline=deadline, jobs=options.jobs,
                            seed=seed, database=options.database, first=first, key=key)
            try:
                search_result = search.run()
            except _Abort as abort:
                raise ExploreError(f"{base.name} could not be run ({FAIL_FAST_ERRORS} harness "
                                   f"errors in a row): {abort}") from None
            result.search = search_result
            stopped = search_result.stopped
            if search_result.failure is not None:
                original = search_result.failure
                result.runs_to_failure = sum(
                    1 for e in state.journal.examples
                    if e.phase in ("base", "search") and e.index <= original.index)
                order = [c.name for c in base.contracts]
                broken = sorted(original.record.violated, key=order.index)
                for contract in broken:
                    # The same finding when the shrunk schedule's failing run broke it too
                    # (minimal.yaml's replays check only their own contract).
                    covered = next((f for f in failures
                                    if f.shrink.minimal.example.violates(contract)), None)
                    if covered is not None:
                        covered.also_violated.append(contract)
                        continue
                    failures.append(state.handle_failure(original, contract, deadline))
            elif not any(e.record.informative for e in state.journal.examples):
                progress.note("[yellow]no run was informative: no fault hit a live, busy "
                              "target; widen the explore window or the vocabulary[/yellow]")
    finally:
        result.wall_s = time.monotonic() - started
        if folder.parent.exists():
            _write_index(result, options, vocab, stopped)
    return result
