"""Run a list of scenarios, ``jobs`` at a time and each ``repeats`` times: outcomes in order.

:func:`run_suite` is what ``zchaos run`` (and the pytest plugin) call; it
prints nothing. Callers get one :class:`ScenarioOutcome` per planned run, in
input order (scenario by scenario, repeat by repeat) whatever the order they
finished in, plus one :class:`RepeatResult` per scenario.

With one slot the runs happen in this process, in the calling thread, as
``zchaos run`` always did: Ctrl-C reaches the run directly (teardown, then
the interrupted report). With ``jobs > 1`` each slot is a **worker
process** with its own :class:`harness.session.Session`, and so its own
embedded Toxiproxy: proxies are named after links (``client->server``), so
two runs cannot share one server, and the report writer (matplotlib) is
not thread-safe. Every run still has its own runtime object, clock, ports
(reserved: harness/ports.py) and report folder. Slots take the longest
scenarios first, so the wall time is not decided by a long one started last.

Interrupts: Ctrl-C in a terminal reaches the workers too (same process
group); a SIGTERM to this process alone is passed on to the workers as
SIGINT; a worker also turns its own SIGTERM into an interrupt. Each worker
tears its run down (its report is marked ``interrupted``) and leaves;
nothing queued starts. ``run_suite`` then returns with ``interrupted`` set
and the interrupted runs' outcomes read back from their folders.

Repeats: repeat 1 runs with the scenario's own seed (so ``--repeat 1`` is
a plain run) and repeat ``r`` with ``derive(seed, "repeat", r)``; each repeat
has its own folder ``<run>/<scenario>/rNN`` whose ``scenario.yaml`` holds
that seed, so ``zchaos replay`` of that folder reproduces it.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from harness.runner import RunOptions, ScenarioOutcome, expectation_text
from harness.seeds import derive

MAX_DEFAULT_JOBS = 8
SLOTS_PER_CPU = 3  # a scenario mostly waits (timeouts, heartbeats, fault windows)
WORKER_START_TIMEOUT_S = 60.0
WORKER_STOP_TIMEOUT_S = 30.0


def default_jobs() -> int:
    """Slots when ``-j`` is not given: three per CPU this process may use, at most eight."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_JOBS, SLOTS_PER_CPU * cpus))


def repeat_seed(seed: int, repeat: int) -> int:
    """The seed of repeat ``repeat`` (1-based): the scenario's own for the first."""
    return seed if repeat == 1 else derive(seed, "repeat", str(repeat))


@dataclass
class Job:
    """One planned run: a scenario (with this repeat's seed) and where its report goes."""

    index: int  # position in the plan: input order, repeat by repeat
    scenario: Any
    repeat: int  # 1-based
    run_dir: Path  # <run>/<scenario>, or <run>/<scenario>/rNN with repeats
    repeats: int = 1

    @property
    def label(self) -> str:
        name = self.scenario.name
        return name if self.repeats == 1 else f"{name} r{self.repeat:02d}"


def plan(scenarios: list[Any], repeats: int, run_root: Path) -> list[Job]:
    """Every run, in input order: each scenario, ``repeats`` times (folders rNN when > 1)."""
    jobs: list[Job] = []
    for scenario in scenarios:
        for r in range(1, repeats + 1):
            if repeats == 1:
                jobs.append(Job(len(jobs), scenario, 1, run_root / scenario.name))
                continue
            copy = scenario.model_copy(update={"seed": repeat_seed(scenario.seed, r)})
            jobs.append(Job(len(jobs), copy, r, run_root / scenario.name / f"r{r:02d}", repeats))
    return jobs


def start_order(jobs: list[Job]) -> list[Job]:
    """Longest scenarios first (ties: input order), so no long one starts last."""
    return sorted(jobs, key=lambda job: (-float(job.scenario.duration), job.index))


@dataclass
class RepeatResult:
    """One scenario over its repeats: how often its verdict and each contract matched."""

    name: str
    expected: str
    outcomes: list[ScenarioOutcome]
    seeds: list[int]

    @property
    def runs(self) -> int:
        return len(self.outcomes)

    @property
    def matched(self) -> int:
        """Runs whose verdict matched ``expect`` (verdict ``pass``)."""
        return sum(o.verdict == "pass" for o in self.outcomes)

    @property
    def verdict(self) -> str:
        """``pass`` when every run matched, else the first other verdict in repeat order."""
        return next((o.verdict for o in self.outcomes if o.verdict != "pass"), "pass")

    def contract_counts(self, expected_violated: set[str]) -> dict[str, tuple[int, int]]:
        """contract -> (runs where it came out as expected, runs that decided it at all).

        "As expected" is ``ok`` for a contract that must hold and ``violated``
        for one a negative control expects violated; a run that checked
        nothing (``error``) does not count as a run of that contract.
        """
        counts: dict[str, list[int]] = {}
        for outcome in self.outcomes:
            for c in outcome.contracts:
                want = "violated" if c.name in expected_violated else "ok"
                entry = counts.setdefault(c.name, [0, 0])
                entry[0] += c.verdict == want
                entry[1] += 1
        return {name: (held, runs) for name, (held, runs) in counts.items()}

    def differing(self) -> list[tuple[int, ScenarioOutcome]]:
        """(seed, outcome) of every run whose verdict did not match ``expect``."""
        return [(seed, o) for seed, o in zip(self.seeds, self.outcomes, strict=True)
                if o.verdict != "pass"]


@dataclass
class SuiteResult:
    """Everything a caller needs: outcomes in plan order, per-scenario repeat accounting."""

    jobs: list[Job]
    outcomes: list[ScenarioOutcome]  # one per finished (or interrupted) job, plan order
    repeats: int = 1
    interrupted: bool = False
    reaped: list[str] = field(default_factory=list)

    def by_scenario(self, scenarios: list[Any]) -> list[RepeatResult]:
        found = {Path(o.report_dir): o for o in self.outcomes}
        results = []
        for scenario in scenarios:
            mine = [j for j in self.jobs if j.scenario.name == scenario.name]
            done = [(j, found[j.run_dir]) for j in mine if j.run_dir in found]
            results.append(RepeatResult(
                name=scenario.name, expected=expectation_text(scenario),
                outcomes=[o for _j, o in done], seeds=[j.scenario.seed for j, _o in done]))
        return results

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(o.verdict == "pass" for o in self.outcomes)


StartHook = Callable[[Job], None]
ProgressHook = Callable[[Job, str], None]
DoneHook = Callable[[Job, ScenarioOutcome], None]


def run_suite(
    scenarios: list[Any],
    options: RunOptions,
    jobs: int = 1,
    repeats: int = 1,
    on_start: StartHook | None = None,
    on_progress: ProgressHook | None = None,
    on_done: DoneHook | None = None,
    on_ready: Callable[[list[str]], None] | None = None,
) -> SuiteResult:
    """Run ``scenarios`` (each ``repeats`` times) on ``jobs`` slots; never prints.

    Returns when everything ran, or after an interrupt (``interrupted`` set,
    every started run torn down). Hooks are called from worker threads of
    this process; ``on_ready`` gets what the sessions reaped from dead runs.
    """
    run_root = options.report_root / options.run_id
    planned = plan(scenarios, max(1, repeats), run_root)
    result = SuiteResult(jobs=planned, outcomes=[], repeats=max(1, repeats))
    hooks = _Hooks(on_start, on_progress, on_done)
    slots = max(1, min(jobs, len(planned)))
    outcomes: dict[int, ScenarioOutcome] = {}
    started: set[int] = set()
    try:
        if slots == 1:
            _run_here(planned, options, hooks, outcomes, started, result, on_ready)
        else:
            _run_in_workers(planned, options, slots, hooks, outcomes, started, result, on_ready)
    except KeyboardInterrupt:
        result.interrupted = True
        for job in planned:
            if job.index in started and job.index not in outcomes:
                found = _read_interrupted(job, job.run_dir)
                if found is not None:
                    outcomes[job.index] = found
    result.outcomes = [outcomes[j.index] for j in planned if j.index in outcomes]
    return result


@dataclass
class _Hooks:
    on_start: StartHook | None
    on_progress: ProgressHook | None
    on_done: DoneHook | None

    def start(self, job: Job) -> None:
        if self.on_start:
            self.on_start(job)

    def progress(self, job: Job, msg: str) -> None:
        if self.on_progress:
            self.on_progress(job, msg)

    def done(self, job: Job, outcome: ScenarioOutcome) -> None:
        if self.on_done:
            self.on_done(job, outcome)


def _run_here(planned: list[Job], options: RunOptions, hooks: _Hooks,
              outcomes: dict[int, ScenarioOutcome], started: set[int], result: SuiteResult,
              on_ready: Callable[[list[str]], None] | None) -> None:
    from harness.session import Session

    with Session(options) as session:
        result.reaped = list(getattr(session, "reaped", []) or [])
        if on_ready:
            on_ready(result.reaped)
        for job in planned:  # one slot: input order, exactly as before -j existed
            started.add(job.index)
            hooks.start(job)
            outcome = session.run(job.scenario, lambda msg, job=job: hooks.progress(job, msg),
                                  job.run_dir)
            outcomes[job.index] = outcome
            hooks.done(job, outcome)


def _read_interrupted(job: Job, folder: Path) -> ScenarioOutcome | None:
    """An interrupted run's outcome, from the report.json it left (None: nothing there)."""
    try:
        report = json.loads((folder / "report.json").read_text())
    except (OSError, ValueError):
        return None
    return ScenarioOutcome(
        name=job.scenario.name, verdict=report.get("verdict", "error"),
        expected=report.get("expected", ""), contracts=[], report_dir=folder,
        wall_s=float((report.get("timing") or {}).get("wall_s", 0.0)),
        operations=report.get("operations") or {}, error=report.get("error"),
        reasons=report.get("reasons") or [], coverage=report.get("coverage") or {},
        status="interrupted")


# -- worker processes -------------------------------------------------------------------

def _sigterm_as_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _warm_up() -> None:
    """Import what every run needs before the slot says it is ready.

    The report writer's imports (matplotlib, jinja2) cost seconds on a busy
    machine; paid inside the first run they would land in the middle of
    other slots' timing-sensitive runs instead of before any started.
    """
    with contextlib.suppress(Exception):
        import io

        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(2, 1))  # fonts and the PNG writer, once
        axes.set_title("warm-up")
        figure.savefig(io.BytesIO(), format="png")
        plt.close(figure)
    with contextlib.suppress(Exception):
        import harness.checkers
        import harness.report.pages
        import harness.report.plots
        import harness.report.writer  # noqa: F401


def _worker(conn: Connection, options: RunOptions) -> None:
    """A slot's process: one Session, then jobs from the pipe until None or EOF."""
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    from harness.session import Session

    _warm_up()

    try:
        with Session(options) as session:
            conn.send(("ready", list(getattr(session, "reaped", []) or [])))
            while True:
                try:
                    message = conn.recv()
                except EOFError:  # the parent is gone: leave, after teardown
                    return
                if message is None:
                    return
                scenario, run_dir = message
                outcome = session.run(scenario, lambda msg: conn.send(("progress", msg)),
                                      run_dir)
                conn.send(("done", outcome))
    except KeyboardInterrupt:
        return
    except (BrokenPipeError, OSError):
        return
    finally:
        with contextlib.suppress(OSError):
            conn.close()


class _Slot:
    """The parent's end of one worker process."""

    def __init__(self, context: Any, options: RunOptions) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, options),
                                       name="zchaos-run-slot", daemon=False)
        self.process.start()
        child.close()

    def hello(self) -> list[str]:
        try:
            if self.conn.poll(WORKER_START_TIMEOUT_S):
                _kind, reaped = self.conn.recv()
                return list(reaped)
        except (EOFError, OSError):
            pass
        raise RuntimeError(f"a zchaos run worker did not start (exit code "
                           f"{self.process.exitcode}); `zchaos run -j 1` runs without workers")

    def run(self, job: Job, hooks: _Hooks) -> ScenarioOutcome | None:
        """The job's outcome; None when the worker went away (interrupted)."""
        self.conn.send((job.scenario, job.run_dir))
        while True:
            try:
                kind, payload = self.conn.recv()
            except (EOFError, OSError):
                return None
            if kind == "progress":
                hooks.progress(job, str(payload))
            else:
                return payload  # type: ignore[no-any-return]

    def interrupt(self) -> None:
        if self.process.pid and self.process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGINT)

    def ask_to_stop(self, interrupt: bool = False) -> None:
        if interrupt:
            self.interrupt()
        else:
            with contextlib.suppress(OSError, BrokenPipeError):
                self.conn.send(None)

    def stop(self) -> None:
        """Wait for the worker to leave (after :meth:`ask_to_stop`); kill it if it hangs."""
        _join(self.process, WORKER_STOP_TIMEOUT_S)
        if self.process.is_alive():
            self.process.kill()
            _join(self.process, 5)
        with contextlib.suppress(OSError):
            self.conn.close()


def _join(process: Any, timeout: float) -> None:
    """Join, even through a second Ctrl-C: teardown is bounded, orphans are not allowed."""
    while True:
        try:
            process.join(timeout)
            return
        except KeyboardInterrupt:
            continue


def _run_in_workers(planned: list[Job], options: RunOptions, slots: int, hooks: _Hooks,
                    outcomes: dict[int, ScenarioOutcome], started: set[int],
                    result: SuiteResult,
                    on_ready: Callable[[list[str]], None] | None) -> None:
    context = multiprocessing.get_context("spawn")
    workers: list[_Slot] = []
    interrupted = False
    reaped_lock = threading.Lock()
    try:
        for _ in range(slots):
            workers.append(_Slot(context, options))
        queue = start_order(planned)
        queue_lock = threading.Lock()
        stopping = threading.Event()

        def slot_loop(worker: _Slot) -> None:
            reaped = worker.hello()  # a slot starts work as soon as it is up
            with reaped_lock:
                result.reaped += reaped
            if on_ready and reaped:
                on_ready(reaped)
            while not stopping.is_set():
                with queue_lock:
                    if not queue or stopping.is_set():
                        return
                    job = queue.pop(0)
                    started.add(job.index)
                hooks.start(job)
                outcome = worker.run(job, hooks)
                if outcome is None:
                    return
                outcomes[job.index] = outcome
                hooks.done(job, outcome)

        with ThreadPoolExecutor(max_workers=slots, thread_name_prefix="zchaos-slot") as pool:
            futures: list[Future[None]] = [pool.submit(slot_loop, w) for w in workers]
            try:
                pending = set(futures)
                while pending:
                    _done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in _done:
                        future.result()
            except KeyboardInterrupt:
                interrupted = True
                stopping.set()
                for worker in workers:
                    worker.interrupt()  # each tears its run down, then leaves
                for worker in workers:
                    _join(worker.process, WORKER_STOP_TIMEOUT_S)
                raise
    except BaseException:
        interrupted = True
        raise
    finally:
        for worker in workers:  # all at once: each closes its own Toxiproxy
            worker.ask_to_stop(interrupt=interrupted)
        for worker in workers:
            worker.stop()
