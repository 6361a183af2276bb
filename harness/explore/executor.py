"""Runs explorer jobs for real, one at a time or ``-j N`` side by side.

With one slot a job runs in this process, in the calling thread, so Ctrl-C
reaches the run exactly as in ``zchaos run`` (teardown, then
KeyboardInterrupt).

With ``-j N`` each slot is a **worker process** that owns a
:class:`harness.session.Session` for its whole life, and so its own embedded
Toxiproxy: proxies are named after links (``client->server``), so two runs
of one scenario cannot share one Toxiproxy server, and the report writer
(matplotlib) is not thread-safe, so runs cannot share one process either.
Scenarios are otherwise isolated already (free ports, one process group per
node, one report folder per run). With ``TOXIPROXY_URL`` (one shared server)
or the docker runtime, ``-j`` must stay 1.

Ctrl-C in a terminal reaches the workers too (same process group): each
tears its run down and exits. A SIGTERM to this process alone (turned into
KeyboardInterrupt by the CLI) is passed on to the workers as SIGINT, and a
worker whose parent vanished sees its pipe close and leaves after teardown.
"""

from __future__ import annotations

import contextlib
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

from harness.explore.adapter import RunRecord, run_and_read
from harness.explore.schedules import Schedule
from harness.runner import RunOptions
from harness.scenario import Scenario

WORKER_START_TIMEOUT_S = 60.0
WORKER_STOP_TIMEOUT_S = 30.0


@dataclass
class Job:
    """One real run the explorer wants: which scenario, in which phase, for which schedule."""

    scenario: Scenario
    phase: str  # search | confirm | shrink | replay
    schedule: Schedule
    seed: int
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


Callback = Callable[[Job, RunRecord | None], None]


def _error_record(scenario: Scenario, report_root: Path, exc: BaseException) -> RunRecord:
    return RunRecord(
        name=scenario.name, verdict="error", contracts={}, messages={}, violated=[],
        coverage=[], coverage_source="none", informative=False, figures={},
        report_dir=report_root / scenario.name, wall_s=0.0,
        error=f"{type(exc).__name__}: {exc}",
    )


def _run_one(session: Any, scenario: Scenario, report_root: Path) -> RunRecord:
    try:
        return run_and_read(session, scenario)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a harness failure is an error record, never a traceback
        return _error_record(scenario, report_root, exc)


def _worker(conn: Connection, options: RunOptions) -> None:
    """A slot's process: one Session, then jobs from the pipe until None or EOF."""
    from harness.session import Session

    report_root = options.report_root / options.run_id
    try:
        with Session(options) as session:
            conn.send(("ready", list(getattr(session, "reaped", []) or [])))
            while True:
                try:
                    scenario = conn.recv()
                except EOFError:  # the explorer is gone: leave, after teardown
                    return
                if scenario is None:
                    return
                conn.send(("done", _run_one(session, scenario, report_root)))
    except KeyboardInterrupt:
        return
    finally:
        with contextlib.suppress(OSError):
            conn.close()


class _Slot:
    """The explorer's end of one worker process."""

    def __init__(self, context: Any, options: RunOptions) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, options),
                                       name="zchaos-explore-slot", daemon=False)
        self.process.start()
        child.close()

    def hello(self) -> list[str]:
        if not self.conn.poll(WORKER_START_TIMEOUT_S):
            raise RuntimeError("an explore worker did not start")
        _kind, reaped = self.conn.recv()
        return list(reaped)

    def run(self, scenario: Scenario) -> RunRecord:
        self.conn.send(scenario)
        _kind, record = self.conn.recv()
        return record

    def stop(self, interrupt: bool = False) -> None:
        if interrupt and self.process.pid and self.process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGINT)
        else:
            with contextlib.suppress(OSError, BrokenPipeError):
                self.conn.send(None)
        self.process.join(WORKER_STOP_TIMEOUT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        with contextlib.suppress(OSError):
            self.conn.close()


class Executor:
    """Owns the session (or the worker processes) and runs lists of jobs."""

    def __init__(self, options: RunOptions, slots: int = 1,
                 on_start: Callback | None = None, on_done: Callback | None = None) -> None:
        self.options = options
        self.slots = max(1, slots)
        self.on_start = on_start or (lambda _job, _rec: None)
        self.on_done = on_done or (lambda _job, _rec: None)
        self._session: Any = None
        self._workers: list[_Slot] = []
        self._stack = contextlib.ExitStack()
        self._lock = threading.Lock()
        self._interrupted = False
        self.runs = 0
        self.reaped: list[str] = []

    @property
    def run_root(self) -> Path:
        return self.options.report_root / self.options.run_id

    def __enter__(self) -> Executor:
        if self.slots == 1:
            from harness.session import Session

            self._session = self._stack.enter_context(Session(self.options))
            self.reaped = list(getattr(self._session, "reaped", []) or [])
            return self
        context = multiprocessing.get_context("spawn")
        try:
            self._workers = [_Slot(context, self.options) for _ in range(self.slots)]
            for worker in self._workers:
                self.reaped += worker.hello()
        except BaseException:
            self._stop_workers(interrupt=True)
            raise
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._stop_workers(interrupt=exc_type is KeyboardInterrupt or self._interrupted)
        self._stack.close()

    def _stop_workers(self, interrupt: bool) -> None:
        for worker in self._workers:
            worker.stop(interrupt=interrupt)
        self._workers = []

    def _finish(self, job: Job, record: RunRecord) -> RunRecord:
        with self._lock:
            self.runs += 1
        self.on_done(job, record)
        return record

    def run(self, jobs: list[Job]) -> list[RunRecord]:
        """Run every job (side by side up to the slot count); results in job order."""
        if not jobs:
            return []
        if self._session is not None:
            records = []
            for job in jobs:
                self.on_start(job, None)
                records.append(self._finish(job, _run_one(self._session, job.scenario,
                                                          self.run_root)))
            return records
        return self._run_parallel(jobs)

    def _run_parallel(self, jobs: list[Job]) -> list[RunRecord]:
        free: list[_Slot] = list(self._workers)
        free_lock = threading.Lock()

        def task(job: Job) -> RunRecord:
            with free_lock:
                worker = free.pop()
            try:
                self.on_start(job, None)
                try:
                    record = worker.run(job.scenario)
                except (EOFError, OSError) as exc:  # the worker died under us
                    record = _error_record(job.scenario, self.run_root, exc)
                return self._finish(job, record)
            finally:
                with free_lock:
                    free.append(worker)

        results: dict[int, RunRecord] = {}
        with ThreadPoolExecutor(max_workers=len(self._workers),
                                thread_name_prefix="explore") as pool:
            futures: dict[Future[RunRecord], int] = {
                pool.submit(task, job): i for i, job in enumerate(jobs)}
            try:
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in done:
                        results[futures[future]] = future.result()
            except KeyboardInterrupt:
                self._interrupted = True
                for future in futures:
                    future.cancel()
                self._stop_workers(interrupt=True)  # the runs in flight tear down
                raise
        return [results[i] for i in range(len(jobs))]
