"""NEGATIVE CONTROL: a load-balancing broker that round-robins instead of routing to idle workers.

It hands requests to every worker that ever said READY, in turn, whether it
is idle or not (what a DEALER backend does: the shared queue's behaviour),
and reads the client side whenever it knows a worker. A request then
queues behind a busy worker while others idle; ``lru_dispatch`` must flag
the first such decision. Its trace events are the real broker's (``idle``
when a worker is ready, ``route`` for the worker it picked), so the checker
judges the routing, not the bookkeeping.

Same options as ``patterns.lbbroker.broker``:

    zchaos run --impl lbbroker.broker="python tests/negative/lbbroker_round_robin.py" \\
        scenarios/lbbroker/lbbroker-steady.yaml

Do not use it for anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from collections.abc import Callable
from typing import Any

import zmq

from patterns.common import role, trace
from patterns.common.lru_queue import run_queue_cli
from patterns.lbbroker.broker import LoadBalancingBroker


class RoundRobinBroker(LoadBalancingBroker):
    """Every known worker in turn, busy or not."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known: list[bytes] = []
        self.turn = 0

    def _mark_idle(self, worker: bytes, why: str = "ready") -> None:
        if worker not in self.known:
            self.known.append(worker)
        super()._mark_idle(worker, why)

    def _poll(self, timeout_ms: int) -> dict[zmq.Socket, int]:
        poller = zmq.Poller()
        poller.register(self._backend, zmq.POLLIN)
        if self.known:  # BUG: reads requests whether or not a worker is idle
            poller.register(self._frontend, zmq.POLLIN)
        return dict(poller.poll(max(timeout_ms, 0)))

    def poll_once(self, timeout_ms: int = 100) -> None:
        events = self._poll(timeout_ms)
        if self._backend in events:
            self._on_backend(self._backend.recv_multipart())
        if self._frontend in events and self.known:
            self._on_frontend(self._frontend.recv_multipart())

    def _send_to_idle_worker(
        self,
        frames: list[bytes],
        usable: Callable[[bytes], bool] | None = None,
        prefix: tuple[bytes, ...] = (),
        **trace_fields: Any,
    ) -> bool:
        # BUG: the next worker in turn, not the least recently used idle one
        worker = self.known[self.turn % len(self.known)]
        self.turn += 1
        capacity = len(self.idle)
        self._backend.send_multipart([worker, *prefix, *frames])
        self.idle.pop(worker, None)
        trace.emit("route", op=frames[-1], worker=worker, capacity=capacity, **trace_fields)
        return True


def main() -> int:
    p = role.parser("BROKEN load-balancing broker (negative control): round-robin over every "
                    "known worker, busy or not.")
    role.add_bind(p, "frontend", "backend")
    return run_queue_cli(p, "round-robin broker",
                         lambda frontend, backend, _args, log:
                         RoundRobinBroker(frontend, backend, log=log))


if __name__ == "__main__":
    role.run_role(main)
