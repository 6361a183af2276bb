"""Simple Pirate queue: ROUTER frontend for clients, ROUTER backend for REQ workers.

The frontend is polled only while a worker is idle, so requests wait in the
clients' sockets rather than in the queue. Every message is validated; a
malformed one (from either side) is logged and dropped and never makes its
sender look like an idle worker.
"""

from __future__ import annotations

import zmq

from patterns.common import role
from patterns.common.fastio import recv_frames, send_prefixed
from patterns.common.lru_queue import LruQueue, run_queue_cli
from patterns.simple_pirate import READY

POLL_MS = 100  # wake-up period so a stop request is noticed while idle
BATCH = 64  # messages handled per socket per turn at most (neither side starves the other)


class SimplePirateQueue(LruQueue):
    """The LRU queue: requests go to the least recently used idle worker."""

    # What a worker's one-frame READY may be (the load-balancing broker takes more).
    ready_signals: tuple[bytes, ...] = (READY,)

    def _on_backend(self, frames: list[bytes]) -> None:
        # [W | "" | 0x01] or [W | "" | C | "" | reply...]  (an empty frame is falsy)
        count = len(frames)
        if count < 3 or frames[1]:
            self._log.warning("dropping malformed backend message (%d frames)", count)
            return
        worker = frames[0]
        if count == 3:
            if frames[2] in self.ready_signals:
                self._log.info("worker %r ready", worker)
                self._mark_idle(worker)
            else:
                self._log.warning("dropping unknown control frame from %r", worker)
            return
        if count < 5 or frames[3]:
            self._log.warning("dropping malformed reply from %r (%d frames)", worker, count)
            return
        send_prefixed(self._frontend, (), frames, 2)  # [C | "" | reply...]
        self._mark_idle(worker, "reply")

    def _on_frontend(self, frames: list[bytes]) -> None:
        # [C | "" | request...] from a REQ client
        if len(frames) < 3 or frames[1]:
            self._log.warning("dropping malformed request (%d frames)", len(frames))
            return
        # a REQ worker wants the delimiter: [W | "" | C | "" | request...]
        if not self._send_to_idle_worker(frames, prefix=(b"",)):
            self._log.warning("no reachable worker; request dropped, the client will retry")

    def poll_once(self, timeout_ms: int = POLL_MS) -> None:
        """One turn of the loop: poll, then handle what has arrived, a batch at a time.

        Replies first (each makes a worker idle), then requests for as long as a
        worker is idle: a request may be waiting even when the poll did not
        watch the frontend (no worker was idle then), so it is tried anyway.
        """
        events = self._poll(timeout_ms)
        if self._backend in events:
            for _ in range(BATCH):
                try:
                    frames = recv_frames(self._backend)
                except zmq.Again:
                    break
                self._on_backend(frames)
        for _ in range(BATCH):
            if not self.idle:
                break
            try:
                frames = recv_frames(self._frontend)
            except zmq.Again:
                break
            self._on_frontend(frames)


def main() -> int:
    p = role.parser("Simple Pirate queue: LRU load balancing between Lazy Pirate clients and "
                    "REQ workers.")
    role.add_bind(p, "frontend", "backend")
    return run_queue_cli(p, "simple pirate queue",
                         lambda frontend, backend, _args, log:
                         SimplePirateQueue(frontend, backend, log=log))


if __name__ == "__main__":
    role.run_role(main)
