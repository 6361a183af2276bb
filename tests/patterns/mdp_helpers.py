"""What the Majordomo tests share: a broker serving in a thread and raw MDP peers.

The API, frame-level and negative-control tests all drive a broker object in
a background thread of the test process and talk to it through raw sockets;
one definition keeps their start, stop and restart the same, and makes a
stuck broker thread fail every one of them the same way.
"""

from __future__ import annotations

import threading

import zmq

from patterns.majordomo import mdp
from patterns.majordomo.broker import MajordomoBroker

HB_MS = 50
WAIT_S = 3.0  # generous bound for anything that should happen "soon" on a loaded machine


class BrokerThread:
    """A ``broker_cls`` broker serving in a daemon thread, restartable on the same endpoint.

    Without a ``context`` it makes (and terminates at :meth:`stop`) its own;
    a given one is left to its owner. Closing skips the farewell: a stop looks
    like a crash to the workers, as a killed broker would.
    """

    def __init__(
        self,
        endpoint: str = "tcp://127.0.0.1:*",
        liveness: int = 3,
        broker_cls: type[MajordomoBroker] = MajordomoBroker,
        context: zmq.Context | None = None,
    ) -> None:
        self.liveness = liveness
        self.broker_cls = broker_cls
        self._shared_context = context
        self._start(endpoint)

    def _start(self, endpoint: str) -> None:
        self.context = self._shared_context or zmq.Context()
        self.broker = self.broker_cls(
            heartbeat_ms=HB_MS, liveness=self.liveness, context=self.context
        )
        self.endpoint = self.broker.bind(endpoint)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.broker.serve(self._stop.is_set)
        finally:
            self.broker.close(farewell=False)  # a crash: workers are not told

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        assert not self._thread.is_alive(), "broker thread did not stop"
        if self._shared_context is None:
            self.context.term()

    def restart(self) -> None:
        self.stop()
        self._start(self.endpoint)

    def __enter__(self) -> BrokerThread:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def connect(ctx: zmq.Context, kind: int, endpoint: str) -> zmq.Socket:
    """A ``kind`` socket connected to ``endpoint``, closed with linger 0."""
    s = ctx.socket(kind)
    s.linger = 0
    s.connect(endpoint)
    return s


def recv(sock: zmq.Socket, timeout: float = WAIT_S) -> list[bytes] | None:
    """The next message on ``sock`` within ``timeout`` seconds, else ``None``."""
    if sock.poll(int(timeout * 1000)):
        return sock.recv_multipart()
    return None


def register(ctx: zmq.Context, endpoint: str, service: bytes = b"echo") -> zmq.Socket:
    """A raw worker: a DEALER that has sent READY for ``service``."""
    w = connect(ctx, zmq.DEALER, endpoint)
    w.send_multipart(mdp.worker_ready(service))
    return w
