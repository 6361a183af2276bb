"""Runs explorer jobs for real, one at a time or ``-j N`` side by side.

Each parallel slot owns a :class:`harness.session.Session`, and so its own
embedded Toxiproxy: proxies are named after links (``client->server``), so
two runs of one scenario cannot share a Toxiproxy server. Scenarios are
otherwise isolated already (free ports, one process group per node, one
report folder per run), which is what makes ``-j`` possible on the local
runtime. With ``TOXIPROXY_URL`` (one shared server) or the docker runtime,
``-j`` must stay 1.

With one slot a job runs in the calling thread, so Ctrl-C reaches the run
exactly as in ``zchaos run`` (teardown, then KeyboardInterrupt). With
several, Ctrl-C stops handing out jobs and waits for the runs in flight to
end and tear down (each is bounded by its scenario's duration).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.explore.adapter import RunRecord, run_and_read
from harness.explore.schedules import Schedule
from harness.runner import RunOptions
from harness.scenario import Scenario


@dataclass
class Job:
    """One real run the explorer wants: which scenario, in which phase, for which schedule."""

    scenario: Scenario
    phase: str  # base | search | confirm | shrink | replay
    schedule: Schedule
    seed: int
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


Callback = Callable[[Job, RunRecord | None], None]


def _error_record(job: Job, report_root: Path, exc: BaseException) -> RunRecord:
    return RunRecord(
        name=job.scenario.name, verdict="error", contracts={}, messages={}, violated=[],
        coverage=[], coverage_source="none", informative=False, figures={},
        report_dir=report_root / job.scenario.name, wall_s=0.0,
        error=f"{type(exc).__name__}: {exc}",
    )


class Executor:
    """Owns the sessions (one per slot) and runs lists of jobs on them."""

    def __init__(self, options: RunOptions, slots: int = 1,
                 on_start: Callback | None = None, on_done: Callback | None = None) -> None:
        self.options = options
        self.slots = max(1, slots)
        self.on_start = on_start or (lambda _job, _rec: None)
        self.on_done = on_done or (lambda _job, _rec: None)
        self._sessions: list[Any] = []
        self._stack = contextlib.ExitStack()
        self._lock = threading.Lock()
        self.runs = 0
        self.reaped: list[str] = []

    @property
    def run_root(self) -> Path:
        return self.options.report_root / self.options.run_id

    def __enter__(self) -> Executor:
        from harness.session import Session

        try:
            for _ in range(self.slots):
                session = self._stack.enter_context(Session(self.options))
                self.reaped += list(getattr(session, "reaped", []) or [])
                self._sessions.append(session)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _one(self, session: Any, job: Job) -> RunRecord:
        self.on_start(job, None)
        try:
            record = run_and_read(session, job.scenario)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a harness failure is an error record, never a traceback
            record = _error_record(job, self.run_root, exc)
        with self._lock:
            self.runs += 1
        self.on_done(job, record)
        return record

    def run(self, jobs: list[Job]) -> list[RunRecord]:
        """Run every job (in parallel up to the slot count); results in job order."""
        if not jobs:
            return []
        if self.slots == 1 or len(jobs) == 1:
            return [self._one(self._sessions[0], job) for job in jobs]
        free: queue.Queue[Any] = queue.Queue()
        for session in self._sessions:
            free.put(session)

        def task(job: Job) -> RunRecord:
            session = free.get()
            try:
                return self._one(session, job)
            finally:
                free.put(session)

        results: dict[int, RunRecord] = {}
        with ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="explore") as pool:
            futures: dict[Future[RunRecord], int] = {
                pool.submit(task, job): i for i, job in enumerate(jobs)}
            try:
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in done:
                        results[futures[future]] = future.result()
            except KeyboardInterrupt:
                for future in futures:
                    future.cancel()
                raise  # the pool's exit waits for the runs in flight and their teardown
        return [results[i] for i in range(len(jobs))]
