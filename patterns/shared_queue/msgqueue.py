"""The message queue broker (the Guide's msgqueue): the rrbroker's sockets under ``zmq.proxy``.

libzmq's built-in proxy moves the messages in C. It runs in a thread of its
own as ``zmq.proxy_steerable`` so that the main thread stays in Python, where
SIGTERM/SIGINT arrive: on a stop signal it sends ``TERMINATE`` on the control
socket, the proxy returns, and the role exits 0 with every socket closed,
which the Guide's blocking ``zmq.proxy`` call cannot do.
"""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import closing

import zmq

from patterns.common import role

JOIN_SLICE_S = 0.2  # the main thread wakes this often, so a signal is handled promptly


class MessageQueue:
    """ROUTER frontend and DEALER backend bound, proxied by libzmq in a background thread."""

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
        self._backend = self._ctx.socket(zmq.DEALER)
        for sock in (self._frontend, self._backend):
            sock.linger = 0
        self._frontend.bind(frontend)
        self._backend.bind(backend)
        self.frontend_endpoint: str = self._frontend.getsockopt_string(zmq.LAST_ENDPOINT)
        self.backend_endpoint: str = self._backend.getsockopt_string(zmq.LAST_ENDPOINT)
        control = f"inproc://msgqueue-control-{uuid.uuid4().hex}"
        self._control = self._ctx.socket(zmq.PAIR)
        self._control.linger = 0
        self._control.bind(control)
        self._control_endpoint = control
        self._thread: threading.Thread | None = None

    def bind_backend(self, endpoint: str) -> str:
        """Bind the backend to one more endpoint (the async server adds ``inproc`` for its
        worker threads); call before :meth:`start`. Returns the bound endpoint."""
        self._backend.bind(endpoint)
        return self._backend.getsockopt_string(zmq.LAST_ENDPOINT)

    def _proxy(self) -> None:
        peer = self._ctx.socket(zmq.PAIR)
        peer.linger = 0
        peer.connect(self._control_endpoint)
        try:
            zmq.proxy_steerable(self._frontend, self._backend, None, peer)
        except zmq.ContextTerminated:
            pass
        finally:
            peer.close(linger=0)

    def start(self) -> None:
        """Start proxying (the sockets now belong to the proxy thread)."""
        self._thread = threading.Thread(target=self._proxy, name="msgqueue-proxy", daemon=True)
        self._thread.start()

    def run(self, stop: threading.Event | None = None) -> None:
        """Proxy until ``stop`` is set or a stop signal arrives, then stop the proxy."""
        if self._thread is None:
            self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive() and (stop is None or not stop.is_set()):
                self._thread.join(JOIN_SLICE_S)
        finally:
            self.terminate()

    def terminate(self) -> None:
        """Ask the proxy to return and wait for it (bounded)."""
        if self._thread is not None and self._thread.is_alive():
            self._control.send(b"TERMINATE")
            self._thread.join(5)

    def close(self) -> None:
        self.terminate()
        for sock in (self._frontend, self._backend, self._control):
            sock.close(linger=0)


def main() -> int:
    p = role.parser("Message queue broker (Guide msgqueue): ROUTER frontend and DEALER backend "
                    "joined by libzmq's built-in proxy.")
    role.add_bind(p, "frontend", "backend")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind or len(args.bind) != 2:
        p.error("give --bind twice: the frontend, then the backend")
    queue = MessageQueue(args.bind[0], args.bind[1], log=log)
    log.info("msgqueue: frontend %s, backend %s", queue.frontend_endpoint, queue.backend_endpoint)
    with closing(queue):
        queue.run()
    return 0


if __name__ == "__main__":
    role.run_role(main)
