"""Simple Pirate queue: ROUTER frontend for clients, ROUTER backend for REQ workers.

The frontend is polled only while a worker is idle, so requests wait in the
clients' sockets rather than in the queue. Every message is validated; a
malformed one (from either side) is logged and dropped and never makes its
sender look like an idle worker.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import zmq

from patterns.common import role
from patterns.common.io_threads import start_io_threads
from patterns.simple_pirate import READY

POLL_MS = 100  # wake-up period so a stop request is noticed while idle


def _has_delimiter_at(frames: list[bytes], index: int) -> bool:
    return len(frames) > index and frames[index] == b""


class SimplePirateQueue:
    """The LRU queue: requests go to the least recently used idle worker."""

    def __init__(
        self,
        frontend: str,
        backend: str,
        *,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger(__name__)
        self._frontend = self._ctx.socket(zmq.ROUTER)
        self._backend = self._ctx.socket(zmq.ROUTER)
        for sock in (self._frontend, self._backend):
            sock.linger = 0
        # A worker that reconnects under its fixed identity replaces its old pipe.
        self._backend.setsockopt(zmq.ROUTER_HANDOVER, 1)
        # Sending to a vanished worker raises instead of losing the request silently.
        self._backend.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self._frontend.bind(frontend)
        self._backend.bind(backend)
        self.frontend_endpoint: str = self._frontend.getsockopt_string(zmq.LAST_ENDPOINT)
        self.backend_endpoint: str = self._backend.getsockopt_string(zmq.LAST_ENDPOINT)
        self.idle: OrderedDict[bytes, None] = OrderedDict()  # LRU first

    def _mark_idle(self, worker: bytes) -> None:
        self.idle.pop(worker, None)
        self.idle[worker] = None

    def _on_backend(self, frames: list[bytes]) -> None:
        # [W | "" | 0x01] or [W | "" | C | "" | reply...]
        if len(frames) < 3 or not _has_delimiter_at(frames, 1):
            self._log.warning("dropping malformed backend message (%d frames)", len(frames))
            return
        worker, payload = frames[0], frames[2:]
        if payload == [READY]:
            self._log.info("worker %r ready", worker)
            self._mark_idle(worker)
            return
        if len(payload) < 3 or not _has_delimiter_at(payload, 1):
            self._log.warning("dropping malformed reply from %r (%d frames)", worker, len(frames))
            return
        self._frontend.send_multipart(payload)
        self._mark_idle(worker)

    def _on_frontend(self, frames: list[bytes]) -> None:
        # [C | "" | request...] from a REQ client
        if len(frames) < 3 or not _has_delimiter_at(frames, 1):
            self._log.warning("dropping malformed request (%d frames)", len(frames))
            return
        while self.idle:
            worker, _ = self.idle.popitem(last=False)
            try:
                self._backend.send_multipart([worker, b"", *frames], zmq.NOBLOCK)
                return
            except zmq.ZMQError as exc:  # EHOSTUNREACH: gone; EAGAIN: not draining
                self._log.warning("worker %r unreachable (%s), forgetting it", worker, exc)
        self._log.warning("no reachable worker; request dropped, the client will retry")

    def poll_once(self, timeout_ms: int = POLL_MS) -> None:
        """One turn of the loop: poll, then handle what arrived."""
        poller = zmq.Poller()
        poller.register(self._backend, zmq.POLLIN)
        if self.idle:
            poller.register(self._frontend, zmq.POLLIN)
        events = dict(poller.poll(max(timeout_ms, 0)))
        if self._backend in events:
            self._on_backend(self._backend.recv_multipart())
        if self._frontend in events and self.idle:
            self._on_frontend(self._frontend.recv_multipart())

    def run(self, stop: object | None = None) -> None:
        """Serve until ``stop.is_set()`` (a threading.Event) or a stop signal."""
        while stop is None or not stop.is_set():  # type: ignore[attr-defined]
            self.poll_once()

    def close(self) -> None:
        self._frontend.close(linger=0)
        self._backend.close(linger=0)


def main() -> int:
    p = role.parser("Simple Pirate queue: LRU load balancing between Lazy Pirate clients and "
                    "REQ workers.")
    role.add_bind(p, "frontend", "backend")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind or len(args.bind) != 2:
        p.error("give --bind twice: the frontend, then the backend")
    start_io_threads()
    queue = SimplePirateQueue(args.bind[0], args.bind[1], log=log)
    log.info("simple pirate queue: frontend %s, backend %s",
             queue.frontend_endpoint, queue.backend_endpoint)
    try:
        queue.run()
    finally:
        queue.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
