"""Task ventilator (``pipeline.ventilator``): the Guide's taskvent, with ids and a real start.

It binds a PUSH socket for workers (``--bind``) and, with a ``--connect``,
PUSHes the Guide's start-of-batch message ``0`` to the sink. Then it sends
``--tasks`` tasks at ``--rate`` per second, each with a workload drawn from
1..``--work-ms`` (the Guide draws 1..100) by a generator seeded from
``ZCHAOS_SEED``, and stays up (a restarted ventilator would be a new epoch).

Where the Guide waits for the operator to press Enter "when the workers are
ready", this ventilator waits, bounded by ``--timeout-ms``, until
``--workers`` workers have completed the ZMTP handshake with its PUSH socket
(a TCP accept would only prove that Toxiproxy is there), so the first worker
to connect does not grab the whole batch. With ``--wait-sink`` it also waits
for its connection to the sink: the Guide's "start the sink first".

Every task is traced as ``task_sent`` *before* it is sent (a ventilator killed
in between has announced a task nobody got, never sent one nobody
announced). PUSH never drops: with every worker's queue at the HWM the send
blocks, and the ventilator slows down instead.
"""

from __future__ import annotations

import argparse
import logging
import time

import zmq

from patterns.common import role, trace
from patterns.common.fastio import send_frames
from patterns.common.streams import (
    Pacer,
    PeerCounter,
    SocketLimits,
    add_limit_options,
    default_epoch,
    new_socket,
    seeded_random,
)
from patterns.pipeline import tasks
from patterns.pipeline.tasks import TaskId


class Ventilator:
    """PUSH to the workers, PUSH to the sink (optional), one batch of tasks."""

    def __init__(self, endpoint: str, sink: str | None, *,
                 limits: SocketLimits = SocketLimits(),
                 name: str | None = None, epoch: int | None = None,
                 context: zmq.Context | None = None) -> None:
        ctx = context or zmq.Context.instance()
        self.name = name or trace.node_name("ventilator")
        self.epoch = default_epoch() if epoch is None else epoch
        self.sender = new_socket(ctx, zmq.PUSH, limits)
        self.workers = PeerCounter(self.sender)
        self.sender.bind(endpoint)
        self.sink: zmq.Socket | None = None
        self.sink_peers: PeerCounter | None = None
        if sink is not None:
            self.sink = new_socket(ctx, zmq.PUSH, limits)
            self.sink_peers = PeerCounter(self.sink)
            self.sink.connect(sink)
        self.sent = 0
        self._traced = trace.enabled()

    def wait_ready(self, workers: int, wait_sink: bool, timeout_s: float,
                   log: logging.Logger) -> None:
        """Until ``workers`` workers (and the sink, if asked) are connected, bounded."""
        deadline = time.monotonic() + timeout_s
        sink = self.sink_peers
        if wait_sink and sink is not None and sink.wait_for(1, timeout_s) < 1:
            log.warning("sink not connected after %.1f s; starting anyway", timeout_s)
        if workers > 0:
            reached = self.workers.wait_for(workers, max(0.0, deadline - time.monotonic()))
            if reached < workers:
                log.warning("%d of %d workers connected after %.1f s; starting anyway",
                            reached, workers, timeout_s)

    def start_batch(self, count: int) -> None:
        trace.emit("batch_start", ventilator=self.name, epoch=self.epoch, tasks=count,
                   workers=self.workers.update())
        if self.sink is not None:
            send_frames(self.sink, [tasks.BATCH_START], noblock=False)

    def send_task(self, workload_ms: int) -> TaskId:
        self.sent += 1
        task = TaskId(self.name, self.epoch, self.sent)
        if self._traced:
            trace.emit("task_sent", work_ms=workload_ms, **task.fields())
        send_frames(self.sender, [tasks.encode_task(task, workload_ms)], noblock=False)
        return task

    def close(self) -> None:
        self.workers.close()
        if self.sink_peers is not None:
            self.sink_peers.close()
        self.sender.close(linger=0)
        if self.sink is not None:
            self.sink.close(linger=0)


def main() -> int:
    p = role.parser("Task ventilator: PUSHes a batch of tasks to workers, '0' to the sink.")
    role.add_bind(p, "tasks (PUSH, for workers)")
    role.add_connect(p, "sink (its results PULL)")
    p.add_argument("--tasks", type=int, default=100, help="tasks in the batch")
    p.add_argument("--rate", type=float, default=0.0, help="tasks per second (0 = no pause)")
    p.add_argument("--work-ms", type=int, default=100,
                   help="each task's workload is drawn from 1..WORK_MS ms (0: no work)")
    p.add_argument("--workers", type=int, default=0,
                   help="workers to wait for before the batch (0 = do not wait)")
    p.add_argument("--wait-sink", action=argparse.BooleanOptionalAction,
                   default=False, help="wait for the sink connection before the batch")
    p.add_argument("--timeout-ms", type=int, default=10000,
                   help="the longest to wait for workers and sink before starting anyway")
    add_limit_options(p)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind:
        p.error("--bind is required")
    vent = Ventilator(args.bind[0], (args.connect or [None])[0],
                     limits=SocketLimits.from_args(args))
    rng = seeded_random("ventilator")
    try:
        vent.wait_ready(args.workers, args.wait_sink, args.timeout_ms / 1000, log)
        log.info("sending %d tasks (epoch %d) to %d connected workers", args.tasks, vent.epoch,
                 vent.workers.update())
        vent.start_batch(args.tasks)
        pacer = Pacer(args.rate)
        for n in range(args.tasks):
            pacer.wait(n)
            vent.send_task(rng.randint(1, args.work_ms) if args.work_ms > 0 else 0)
        trace.emit("batch_sent", ventilator=vent.name, epoch=vent.epoch, tasks=vent.sent)
        log.info("batch sent; idle until stopped")
        while True:
            time.sleep(1)
    finally:
        vent.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
