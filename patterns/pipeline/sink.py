"""Task sink (``pipeline.sink``): the Guide's tasksink2, counting each task once.

It binds a PULL for results (first ``--bind``) and a PUB for the kill signal
(second ``--bind``). The batch starts with the ventilator's ``0`` (or the
first result, if that comes first: PULL fair-queues the ventilator's pipe
with the workers', so a late sink cannot rely on the order). Each result is
traced ``result`` the first time its task is seen and ``duplicate`` after
that: the sink *counts* each task once, which is the contract the checkers
hold it to.

When ``--tasks`` distinct results are in, it traces ``batch_done`` and
``kill`` and publishes ``KILL``. Unlike the Guide's sink it then keeps
publishing ``KILL`` every 100 ms until stopped, so a worker whose SUB
connection was down at that instant (the Guide's slow-joiner flaw) still
stops. If results stop coming for ``--timeout-ms`` before the batch is
complete, the sink gives up on the missing tasks (``batch_done`` with
``complete: false``) and sends the kill signal anyway, so the workers that
are left do not run forever.
"""

from __future__ import annotations

import argparse
import logging
import time

import zmq

from patterns.common import role, trace
from patterns.common.fastio import poll_in, recv_frames, send_frames
from patterns.common.role import raise_if_stopped
from patterns.common.streams import (
    SocketLimits,
    add_limit_options,
    new_socket,
)
from patterns.pipeline import tasks

KILL_REPEAT_S = 0.1
POLL_MS = 100


class Sink:
    """PULL results, PUB the kill signal, and the tally of one batch."""

    def __init__(self, results: str, control: str, *, expected: int, timeout_s: float,
                 limits: SocketLimits = SocketLimits(), context: zmq.Context | None = None,
                 log: logging.Logger | None = None) -> None:
        ctx = context or zmq.Context.instance()
        self.log = log or logging.getLogger("pipeline.sink")
        self.receiver = new_socket(ctx, zmq.PULL, limits)
        self.controller = new_socket(ctx, zmq.PUB, limits)
        self.receiver.bind(results)
        self.controller.bind(control)
        self.expected = expected
        self.timeout_s = timeout_s
        self.counted: set[str] = set()
        self.untracked = 0
        self.started_at: float | None = None
        self.last_at = 0.0
        self.finished = False
        self._next_kill = 0.0

    @property
    def tally(self) -> int:
        return len(self.counted) + self.untracked

    def _start(self, source: str) -> None:
        if self.started_at is None:
            self.started_at = time.monotonic()
            trace.emit("batch_start", source=source, expected=self.expected)

    def handle(self, frame: bytes) -> None:
        self.last_at = time.monotonic()
        if frame == tasks.BATCH_START:
            self._start("ventilator")
            return
        self._start("result")
        decoded = tasks.decode_result(frame)
        if decoded is None:
            # The Guide's workers send b"" or the workload: a result, but whose?
            self.untracked += 1
            trace.emit("result", untracked=True)
            return
        task, worker = decoded
        key = str(task)
        if key in self.counted:
            self.log.warning("result for %s again (from %s): not counted twice", key, worker)
            trace.emit("duplicate", worker=worker, **task.fields())
            return
        self.counted.add(key)
        self.count(task, worker)

    def count(self, task: tasks.TaskId, worker: str) -> None:
        """Record one task as done (a separate step so a broken sink can get it wrong)."""
        trace.emit("result", worker=worker, **task.fields())

    def check_batch(self) -> None:
        """Finish the batch once complete, or once results stopped coming for too long."""
        if self.finished or self.started_at is None:
            return
        now = time.monotonic()
        if self.expected > 0 and self.tally >= self.expected:
            self.finish("batch complete")
        elif self.timeout_s > 0 and now - self.last_at >= self.timeout_s:
            self.finish(f"no result for {self.timeout_s:.3f} s: gave up on the missing tasks")

    def finish(self, reason: str) -> None:
        assert self.started_at is not None
        elapsed_ms = round((time.monotonic() - self.started_at) * 1000, 3)
        complete = self.expected > 0 and self.tally >= self.expected
        missing = max(0, self.expected - self.tally)
        trace.emit("batch_done", counted=len(self.counted), untracked=self.untracked,
                   expected=self.expected, missing=missing, complete=complete,
                   elapsed_ms=elapsed_ms)
        self.log.info("batch done after %.0f ms: %d of %d results (%s); sending KILL",
                      elapsed_ms, self.tally, self.expected, reason)
        trace.emit("kill", reason=reason)
        self.finished = True
        self.kill_if_due(force=True)

    def kill_if_due(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.finished and (force or now >= self._next_kill):
            send_frames(self.controller, [tasks.KILL], noblock=False)
            self._next_kill = now + KILL_REPEAT_S

    def step(self) -> None:
        raise_if_stopped()
        if poll_in(self.receiver, POLL_MS):
            frames = recv_frames(self.receiver)
            self.handle(frames[0] if len(frames) == 1 else b"|".join(frames))
        self.check_batch()
        self.kill_if_due()

    def run(self) -> None:
        while True:
            self.step()

    def close(self) -> None:
        self.receiver.close(linger=0)
        self.controller.close(linger=0)


def add_sink_options(p: argparse.ArgumentParser) -> None:
    add = p.add_argument
    add("--tasks", type=int, default=100, help="results that complete the batch")
    add("--timeout-ms", type=int, default=5000,
        help="give up on missing results after this long without one (0 = never)")
    add_limit_options(p)


def main(sink_class: type[Sink] = Sink) -> int:
    p = role.parser("Task sink: PULL results, count each task once, PUB KILL when done.")
    role.add_bind(p, "results (PULL)", "control (PUB, the kill signal)")
    add_sink_options(p)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind or len(args.bind) != 2:
        p.error("give --bind twice: the results endpoint, then the kill-signal endpoint")
    sink = sink_class(args.bind[0], args.bind[1], expected=args.tasks,
                      timeout_s=args.timeout_ms / 1000, limits=SocketLimits.from_args(args),
                      log=log)
    log.info("collecting %d results on %s; kill signal on %s", args.tasks, args.bind[0],
             args.bind[1])
    try:
        sink.run()
    finally:
        sink.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
