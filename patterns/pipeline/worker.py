"""Task worker (``pipeline.worker``): the Guide's taskwork2, with ids and a traced kill.

``--connect`` up to three times, in the Guide's order: the ventilator's PUSH
(tasks), the sink's PULL (results) and, optionally, the sink's PUB (the kill
signal; without it this is the Guide's first design, which never stops).
Each task is traced ``task_received`` when the application takes it and
``task_done`` once its result is queued for the sink; a task between the two
is *held* by this worker, and is lost if the worker dies (PUSH/PULL has no
acknowledgement and nothing redelivers). Tasks still in this worker's socket
queue when it dies are lost too, without a trace of who held them: the
checker names them as lost in transit.

Any message on the control socket is the kill signal (as in the Guide): the
worker traces ``killed`` and exits 0. It also traces ``kill_channel`` when
its control connection comes up or goes down (from libzmq's socket
monitor): a worker whose SUB is not connected when the sink sends KILL
misses it, the Guide's own warning. The control socket is read before the
next task, so a worker never starts a task after the batch is over. The
Guide's bare-workload tasks (``"37"``) are worked too, and answered with the
workload echoed, as taskwork2 does.
"""

from __future__ import annotations

import logging
import time

import zmq

from patterns.common import role, trace
from patterns.common.fastio import recv_frames, send_frames
from patterns.common.role import raise_if_stopped
from patterns.common.streams import (
    PeerCounter,
    SocketLimits,
    add_limit_options,
    new_socket,
)
from patterns.pipeline import tasks

POLL_MS = 200

log = logging.getLogger("pipeline.worker")


class Worker:
    """PULL tasks, PUSH results, SUB to the kill signal."""

    def __init__(self, ventilator: str, sink: str, control: str | None, *,
                 limits: SocketLimits = SocketLimits(), name: str | None = None,
                 context: zmq.Context | None = None) -> None:
        ctx = context or zmq.Context.instance()
        self.name = name or trace.node_name("worker")
        self.receiver = new_socket(ctx, zmq.PULL, limits)
        self.sender = new_socket(ctx, zmq.PUSH, limits)
        self.controller: zmq.Socket | None = None
        self.control_peers: PeerCounter | None = None
        self.poller = zmq.Poller()
        if control is not None:
            self.controller = new_socket(ctx, zmq.SUB, limits)
            self.controller.setsockopt(zmq.SUBSCRIBE, b"")
            self.control_peers = PeerCounter(self.controller)
            self.controller.connect(control)
            self.poller.register(self.controller, zmq.POLLIN)
            self.poller.register(self.control_peers.monitor, zmq.POLLIN)
        self.receiver.connect(ventilator)
        self.sender.connect(sink)
        self.poller.register(self.receiver, zmq.POLLIN)
        self.done = 0
        self.killed = False

    def step(self, timeout_ms: int = POLL_MS) -> None:
        """Wait (bounded) for the kill signal or a task, and act on it."""
        raise_if_stopped()
        ready = dict(self.poller.poll(timeout_ms))
        peers = self.control_peers
        if peers is not None and peers.monitor in ready:
            before = peers.peers
            if (peers.update() > 0) != (before > 0):
                trace.emit("kill_channel", connected=peers.peers > 0)
        if self.controller is not None and self.controller in ready:
            signal = self.controller.recv_multipart()
            trace.emit("killed", signal=signal[0][:32] if signal else b"")
            self.killed = True
            return
        if self.receiver in ready:
            self.work(recv_frames(self.receiver)[0])

    def work(self, frame: bytes) -> None:
        decoded = tasks.decode_task(frame)
        if decoded is None:
            log.warning("malformed task %r dropped", frame[:64])
            return
        task, workload_ms = decoded
        fields = task.fields() if task is not None else {"untracked": True}
        trace.emit("task_received", work_ms=workload_ms, **fields)
        if workload_ms > 0:
            time.sleep(workload_ms / 1000)
        result = tasks.encode_result(task, self.name) if task is not None else frame
        send_frames(self.sender, [result], noblock=False)
        self.done += 1
        trace.emit("task_done", **fields)

    def run(self) -> None:
        while not self.killed:
            self.step()

    def close(self) -> None:
        if self.control_peers is not None:
            self.control_peers.close()
        for sock in (self.receiver, self.sender, self.controller):
            if sock is not None:
                sock.close(linger=0)


def main() -> int:
    p = role.parser("Task worker: PULL tasks, PUSH results, exit on the sink's kill signal.")
    role.add_connect(p, "ventilator (tasks), then sink (results), then sink (kill signal)")
    add_limit_options(p)
    args = p.parse_args()
    logger = role.configure_logging(args.verbose)
    if not args.connect or len(args.connect) not in (2, 3):
        p.error("give --connect two or three times: ventilator, sink results[, sink control]")
    control = args.connect[2] if len(args.connect) == 3 else None
    worker = Worker(args.connect[0], args.connect[1], control,
                    limits=SocketLimits.from_args(args))
    trace.emit("ready", kill_signal=control is not None)
    logger.info("working (kill signal: %s)", "yes" if control else "no")
    try:
        worker.run()
        logger.info("kill signal received after %d tasks; exiting", worker.done)
    finally:
        worker.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
