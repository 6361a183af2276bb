"""Majordomo broker (MDP 0.1, RFC 7) with the MMI service (RFC 8).

One ROUTER serves clients and workers; the header frame tells them apart.
This broker follows the DISCONNECT table of PROTOCOLS.md §5.5 and avoids the
Guide examples' flaws listed in §5.7:

- every known worker is heartbeated, busy ones included, and **busy workers
  expire too**: a worker that is silent for ``heartbeat * liveness`` is dead
  whether or not it holds a request (its request is then lost and recovered by
  the client's retry; MMI stops reporting it at once). A worker whose jobs run
  longer than that must heartbeat while busy;
- READY is answered by an immediate HEARTBEAT (or the first REQUEST), so a
  worker on a slow link hears from the broker one round trip after
  connecting rather than up to a heartbeat interval later;
- a worker whose connection has gone (``EHOSTUNREACH`` on its heartbeat)
  is forgotten at once, not only after its expiry;
- expired workers are purged by expiry (a scan of every worker, not just the
  head of a list) and dispatch skips any worker whose expiry has passed;
- ``mmi.service`` answers 200 only while a registered, non-expired worker of
  the service exists; the ``mmi.`` test is a prefix test on the service name;
- malformed input never raises: it is logged and dropped, and a worker that
  speaks MDP/Worker out of protocol is sent DISCONNECT and forgotten;
- a REPLY is forwarded only to the client the worker's current request came
  from, never to an address the worker made up.

The socket is ``ROUTER_MANDATORY`` and every send is non-blocking: a request
dispatched to a worker whose connection has already gone raises
``EHOSTUNREACH``; the broker then forgets the worker and puts the request back
at the head of the queue, which it may safely do because no worker saw it.

Performance: the loop sleeps in ``recv`` itself (``RCVTIMEO`` armed to the
next heartbeat tick) rather than in a poll followed by receives until
``EAGAIN``; messages re-frame in place or go out as a head tuple plus the
received body (no intermediate lists); a worker's next REQUEST leaves before
the REPLY it just answered is forwarded; and the hot path never logs (the debug
level is checked once per ``serve``). See docs/majordomo.md for the figures.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

import zmq

from patterns.common import role
from patterns.common.fastio import recv_frames, send_frames, send_prefixed, set_recv_timeout
from patterns.majordomo import mdp

log = logging.getLogger("majordomo.broker")

_EMPTY = mdp.EMPTY
_C_CLIENT = mdp.C_CLIENT
_W_WORKER = mdp.W_WORKER
_W_READY = mdp.W_READY
_W_REQUEST = mdp.W_REQUEST
_W_REPLY = mdp.W_REPLY
_W_HEARTBEAT = mdp.W_HEARTBEAT
_W_DISCONNECT = mdp.W_DISCONNECT
_MMI_PREFIX = mdp.MMI_PREFIX

# Messages handled between two calls of ``should_stop`` under a continuous flood
# (timers are checked at every message; this only bounds the stop latency).
_STOP_CHECK_EVERY = 1000
# Requests queued per service before the oldest are dropped (clients retry).
_MAX_QUEUE = 100_000


def _never() -> bool:
    return False


class _Worker:
    """One registered worker connection (identity = its ROUTER routing id)."""

    __slots__ = ("alive", "client", "expiry", "identity", "service")

    def __init__(self, identity: bytes, service: _Service, expiry: float) -> None:
        self.identity = identity
        self.service = service
        self.expiry = expiry
        self.client: bytes | None = None  # set while busy: the client it is serving
        self.alive = True


class _Service:
    """A named service: its queued requests, its idle workers (LRU first), all its workers."""

    __slots__ = ("idle", "name", "requests", "workers")

    def __init__(self, name: bytes) -> None:
        self.name = name
        self.requests: deque[list[bytes]] = deque()  # client frames [C, "", MDPC01, svc, body...]
        self.idle: deque[_Worker] = deque()  # may hold dead entries; skipped lazily
        self.workers: dict[bytes, _Worker] = {}


class MajordomoBroker:
    """The broker's state machine around one ROUTER socket.

    ``serve()`` runs the loop until ``should_stop()`` is true (checked at least
    once per heartbeat interval) or a stop signal interrupts it.
    """

    def __init__(
        self,
        *,
        heartbeat_ms: int = 2500,
        liveness: int = 3,
        context: zmq.Context | None = None,
    ) -> None:
        if heartbeat_ms <= 0 or liveness <= 0:
            raise ValueError("heartbeat_ms and liveness must be positive")
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.linger = 0
        self.socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.heartbeat = heartbeat_ms / 1000.0
        self.expiry_s = self.heartbeat * liveness
        self.services: dict[bytes, _Service] = {}
        self.workers: dict[bytes, _Worker] = {}
        self._now = time.monotonic()
        self._heartbeat_at = self._now + self.heartbeat
        self._debug = False
        # How late a heartbeat tick may be when the broker sleeps in recv (see serve).
        self._timer_slack_ms = max(1, heartbeat_ms // 20)
        self.endpoints: list[str] = []

    # --- lifecycle ---

    def bind(self, endpoint: str) -> str:
        """Bind one endpoint; returns the resolved endpoint (useful with port 0/``*``)."""
        self.socket.bind(endpoint)
        resolved = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.endpoints.append(resolved)
        return resolved

    def serve(self, should_stop: Callable[[], bool] | None = None) -> None:
        """Run until ``should_stop()`` returns true.

        ``should_stop`` is called at every heartbeat tick, whenever the socket
        stayed idle until the tick, and every ``_STOP_CHECK_EVERY`` messages.

        The loop sleeps in ``recv`` itself with ``RCVTIMEO`` armed to the next
        tick rather than in ``zmq_poll`` followed by receives until ``EAGAIN``:
        a wake-up then costs no poll call (two ``getsockopt`` plus the poll) and
        no ``Again`` exception to end the drain. ``RCVTIMEO`` is re-armed only
        when it would overshoot the tick by more than ``heartbeat / 20``, so a
        busy broker sets it about twenty times per interval, not per message.
        The clock is read once per message; the timers are a comparison on it.
        """
        self._debug = log.isEnabledFor(logging.DEBUG)
        stop = should_stop or _never
        sock = self.socket
        handle = self._handle
        again = zmq.Again
        monotonic = time.monotonic
        slack = self._timer_slack_ms
        armed = -1  # the RCVTIMEO currently set on the socket (ms); -1 = none yet
        handled = 0
        now = monotonic()
        while True:
            if now >= self._heartbeat_at:
                self._now = now
                self._heartbeat_and_purge()
                self._heartbeat_at = now + self.heartbeat
                if stop():
                    return
            wait = int((self._heartbeat_at - now) * 1000) + 1
            if armed < wait or armed > wait + slack:
                set_recv_timeout(sock, wait)
                armed = wait
            try:
                frames = recv_frames(sock, False)
            except again:  # RCVTIMEO: the next tick is due
                now = monotonic()
                if stop():
                    return
                continue
            now = self._now = monotonic()
            handle(frames)
            handled += 1
            if handled >= _STOP_CHECK_EVERY:
                handled = 0
                if stop():
                    return

    def close(self, *, farewell: bool = True) -> None:
        """Close the socket; with ``farewell`` send DISCONNECT to every worker first."""
        if farewell and not self.socket.closed:
            for worker in list(self.workers.values()):
                self._send(mdp.broker_to_worker(worker.identity, _W_DISCONNECT))
        self.workers.clear()
        self.services.clear()
        if not self.socket.closed:
            self.socket.close(linger=0)
        if self._own_context:
            self.context.term()

    # --- message intake ---

    def _handle(self, frames: list[bytes]) -> None:
        if len(frames) < 3 or frames[1] != _EMPTY:
            self._drop(frames, "no empty delimiter")
            return
        header = frames[2]
        if header == _C_CLIENT:
            self._on_client(frames)
        elif header == _W_WORKER:
            self._on_worker(frames)
        else:
            self._drop(frames, "unknown header")

    def _on_client(self, frames: list[bytes]) -> None:
        # [C | "" | MDPC01 | service | body (1+)]
        if len(frames) < 5:
            self._drop(frames, "client request without body")
            return
        name = frames[3]
        if name[:4] == _MMI_PREFIX:
            self._on_mmi(frames)
            return
        service = self.services.get(name)
        if service is None:
            service = self.services[name] = _Service(name)
        requests = service.requests
        if len(requests) >= _MAX_QUEUE:
            requests.popleft()
            log.warning("queue of service %r full; dropped its oldest request", name)
        requests.append(frames)
        if service.idle:
            self._dispatch(service)

    def _on_worker(self, frames: list[bytes]) -> None:
        # [W | "" | MDPW01 | command | ...]
        count = len(frames)
        if count < 4:
            self._reject(frames[0], "worker message without command")
            return
        identity = frames[0]
        command = frames[3]
        worker = self.workers.get(identity)
        if command == _W_REPLY:
            if worker is None:
                self._reject(identity, "REPLY from unknown worker")
            elif count < 7 or frames[5] != _EMPTY:
                self._reject(identity, "malformed REPLY")
            elif worker.client is None or worker.client != frames[4]:
                self._reject(identity, "REPLY for a request it does not hold")
            else:
                worker.expiry = self._now + self.expiry_s
                service = worker.service
                client = frames[4]
                worker.client = None
                service.idle.append(worker)
                # The worker's next request goes out before the reply: in MDP's
                # lock-step the worker idles until it arrives.
                if service.requests:
                    self._dispatch(service)
                # Re-frame in place: [C | "" | MDPC01 | service | body...]
                frames[:6] = (client, _EMPTY, _C_CLIENT, service.name)
                self._send(frames)
        elif command == _W_HEARTBEAT:
            if worker is None:
                self._reject(identity, "HEARTBEAT from unknown worker")
            elif count != 4:
                self._reject(identity, "malformed HEARTBEAT")
            else:
                worker.expiry = self._now + self.expiry_s
        elif command == _W_READY:
            if worker is not None:
                self._reject(identity, "second READY")
            elif count != 5 or not frames[4]:
                self._reject(identity, "malformed READY")
            elif frames[4][:4] == _MMI_PREFIX:
                self._reject(identity, "READY for a reserved mmi.* service")
            else:
                self._register(identity, frames[4])
        elif command == _W_DISCONNECT:
            if worker is not None:
                self._forget(worker)
            if self._debug:
                log.debug("worker %r disconnected", identity)
        else:
            self._reject(identity, "unknown worker command")

    def _on_mmi(self, frames: list[bytes]) -> None:
        name = frames[3]
        if name == mdp.MMI_SERVICE:
            service = self.services.get(frames[4])
            found = service is not None and self._has_live_worker(service)
            code = mdp.MMI_FOUND if found else mdp.MMI_NOT_FOUND
        else:
            code = mdp.MMI_NOT_IMPLEMENTED
        self._send([frames[0], _EMPTY, _C_CLIENT, name, code])

    # --- registry ---

    def _register(self, identity: bytes, name: bytes) -> None:
        service = self.services.get(name)
        if service is None:
            service = self.services[name] = _Service(name)
        worker = _Worker(identity, service, self._now + self.expiry_s)
        self.workers[identity] = worker
        service.workers[identity] = worker
        service.idle.append(worker)
        if self._debug:
            log.debug("worker %r registered for %r", identity, name)
        if service.requests:
            self._dispatch(service)
        if worker.client is None and worker.alive:
            # Answer READY with a heartbeat at once rather than at the next tick:
            # the worker's liveness clock started when it connected, and on a slow
            # link READY + the next tick + the way back can exceed it.
            self._send([identity, _EMPTY, _W_WORKER, _W_HEARTBEAT])

    def _forget(self, worker: _Worker) -> None:
        """Remove a worker everywhere, tolerating that it is busy (not in the idle queue)."""
        worker.alive = False
        self.workers.pop(worker.identity, None)
        worker.service.workers.pop(worker.identity, None)

    def _has_live_worker(self, service: _Service) -> bool:
        now = time.monotonic()
        return any(w.expiry >= now for w in service.workers.values())

    # --- dispatch, heartbeats, purge ---

    def _dispatch(self, service: _Service) -> None:
        """Oldest request to the least recently used live idle worker, while both exist."""
        idle = service.idle
        requests = service.requests
        now = self._now
        while requests and idle:
            worker = idle.popleft()
            if not worker.alive:
                continue
            if worker.expiry < now:
                self._expire(worker)
                continue
            request = requests.popleft()
            client = request[0]
            try:
                # [W | "" | MDPW01 | REQUEST | C | "" | body...]
                send_prefixed(
                    self.socket,
                    (worker.identity, _EMPTY, _W_WORKER, _W_REQUEST, client, _EMPTY),
                    request,
                    4,
                )
            except zmq.ZMQError:
                # Its connection is gone (EHOSTUNREACH) or it is not reading
                # (EAGAIN): nobody saw the request, so it goes back in front.
                requests.appendleft(request)
                self._forget(worker)
                if self._debug:
                    log.debug("worker %r unreachable; request re-queued", worker.identity)
                continue
            worker.client = client

    def _expire(self, worker: _Worker) -> None:
        log.info("worker %r of %r expired", worker.identity, worker.service.name)
        self._send(mdp.broker_to_worker(worker.identity, _W_DISCONNECT))
        self._forget(worker)

    def _heartbeat_and_purge(self) -> None:
        now = self._now
        heartbeat = _W_HEARTBEAT
        for worker in list(self.workers.values()):
            if worker.expiry < now:
                self._expire(worker)
                continue
            try:
                send_frames(self.socket, [worker.identity, _EMPTY, _W_WORKER, heartbeat])
            except zmq.ZMQError as exc:
                if exc.errno == zmq.EHOSTUNREACH:
                    # Its connection is gone: it cannot answer any more, and a
                    # worker that reconnects comes back under a new identity.
                    log.info("worker %r of %r disconnected", worker.identity, worker.service.name)
                    self._forget(worker)
        for name, service in list(self.services.items()):
            if any(not w.alive for w in service.idle):
                service.idle = deque(w for w in service.idle if w.alive)
            if not service.workers and not service.requests:
                del self.services[name]
            elif service.idle and service.requests:
                self._dispatch(service)

    # --- output ---

    def _send(self, message: list[bytes]) -> bool:
        try:
            send_frames(self.socket, message)
        except zmq.ZMQError as exc:  # peer gone or not reading: the message is dropped
            if self._debug:
                log.debug("dropped message to %r: %s", message[0], exc)
            return False
        return True

    def _reject(self, identity: bytes, why: str) -> None:
        """DISCONNECT an offending worker connection and forget it (RFC 7 / §5.5)."""
        log.warning("worker %r: %s; sending DISCONNECT", identity, why)
        self._send(mdp.broker_to_worker(identity, _W_DISCONNECT))
        worker = self.workers.get(identity)
        if worker is not None:
            self._forget(worker)

    def _drop(self, frames: list[bytes], why: str) -> None:
        log.warning("dropped malformed message (%s): %d frames", why, len(frames))


def main() -> int:
    p = role.parser("Majordomo (MDP 0.1) broker with the MMI service (RFC 7, RFC 8).")
    role.add_bind(p, "frontend (clients and workers)")
    p.add_argument("--heartbeat-ms", type=int, default=2500, help="heartbeat interval (ms)")
    p.add_argument(
        "--liveness", type=int, default=3, help="missed heartbeats before a worker is dead"
    )
    args = p.parse_args()
    role.configure_logging(args.verbose)
    broker = MajordomoBroker(
        heartbeat_ms=args.heartbeat_ms, liveness=args.liveness, context=zmq.Context.instance()
    )
    try:
        for endpoint in args.bind or ["tcp://*:5555"]:
            log.info("bound %s", broker.bind(endpoint))
        broker.serve()
    finally:
        broker.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
