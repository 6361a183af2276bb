"""Asynchronous server: ROUTER frontend proxied to a DEALER backend, worker threads behind it.

The proxy is the message queue's (libzmq's ``zmq_proxy`` in a thread, stopped
cleanly on SIGTERM); the backend is bound twice, to ``inproc`` for the
``--threads`` worker threads and to its ``--bind`` for worker processes, and
round-robins requests over all of them alike.
"""

from __future__ import annotations

import logging
import threading
import uuid

import zmq

from patterns.async_server.worker import AsyncWorker
from patterns.common import role
from patterns.shared_queue.msgqueue import MessageQueue


class AsyncServer:
    """The proxy plus ``threads`` echo workers in this process."""

    def __init__(
        self,
        frontend: str,
        backend: str,
        *,
        threads: int = 5,
        work_ms: int = 0,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger(__name__)
        self._queue = MessageQueue(frontend, backend, context=self._ctx, log=self._log)
        self.frontend_endpoint = self._queue.frontend_endpoint
        self.backend_endpoint = self._queue.backend_endpoint
        inproc = self._queue.bind_backend(f"inproc://async-backend-{uuid.uuid4().hex}")
        self._stop = threading.Event()
        self.workers = [AsyncWorker(inproc, work_ms=work_ms, context=self._ctx, log=self._log)
                        for _ in range(max(0, threads))]
        self._threads = [threading.Thread(target=w.run, args=(self._stop,), daemon=True,
                                          name=f"async-worker-{i}")
                         for i, w in enumerate(self.workers)]

    def run(self, stop: threading.Event | None = None) -> None:
        """Serve until ``stop`` is set or a stop signal arrives."""
        for thread in self._threads:
            thread.start()
        try:
            self._queue.run(stop)
        finally:
            self._stop.set()
            for thread in self._threads:
                thread.join(2)

    def close(self) -> None:
        self._stop.set()
        self._queue.close()
        for worker in self.workers:
            worker.close()


def main() -> int:
    p = role.parser("Asynchronous server (Guide asyncsrv): ROUTER frontend, DEALER backend to "
                    "worker threads and to worker processes connected to the backend.")
    role.add_bind(p, "frontend", "backend")
    p.add_argument("--threads", type=int, default=5, help="echo worker threads in the server")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind or len(args.bind) != 2:
        p.error("give --bind twice: the frontend, then the backend")
    server = AsyncServer(args.bind[0], args.bind[1], threads=args.threads,
                         work_ms=args.work_ms, log=log)
    log.info("async server: frontend %s, backend %s, %d worker threads",
             server.frontend_endpoint, server.backend_endpoint, args.threads)
    try:
        server.run()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
