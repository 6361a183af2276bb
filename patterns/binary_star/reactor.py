"""Run the Binary Star state machine over real sockets, in one thread.

Three sockets: the client frontend (ROUTER, also the voter), the state
publisher (PUB) and the subscription to the peer's publisher (SUB). The loop
polls with a timeout equal to the time left until the next heartbeat, on the
monotonic clock, clamped at 0 so pyzmq never waits forever.

Unlike the Guide's Python reactor, a fatal transition really stops the
server: it writes a ``fatal`` trace event and :meth:`BinaryStarReactor.run`
returns :data:`FATAL_EXIT`, which the CLI turns into the process status.
Serving is an echo: the reply carries the request's frames unchanged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import zmq

from patterns.binary_star.fsm import BinaryStarFSM, FatalTransition, Outcome, parse_state_message
from patterns.common import trace

FATAL_EXIT = 3  # process status after dual active / dual passive / same-role peers
_DRAIN_LIMIT = 100  # messages read per socket per wake-up, so one flood cannot starve the other

FsmFactory = Callable[[bool, float], BinaryStarFSM]


def _drain(sock: zmq.Socket) -> Iterator[list[bytes]]:
    """The messages already waiting on ``sock``, at most ``_DRAIN_LIMIT``; never blocks."""
    for _ in range(_DRAIN_LIMIT):
        try:
            yield sock.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return


def request_op(frames: list[bytes]) -> bytes | None:
    """The request body (the op id) inside ``[identity ... | "" | body ...]``, or None.

    A REQ client's message arrives as ``[identity | "" | body]``; a DEALER
    that skips the empty delimiter sends ``[identity | body]``. Anything with
    no body frame at all is malformed.
    """
    if len(frames) < 2:
        return None
    if b"" in frames[1:]:
        index = frames.index(b"", 1)
        body = frames[index + 1 :]
        return body[0] if body else None
    return frames[1]


class BinaryStarReactor:
    """One Binary Star server: state exchange with the peer, voting, echo service."""

    def __init__(
        self,
        frontend: str,
        statepub: str,
        peer: str,
        *,
        primary: bool,
        heartbeat_ms: int,
        fsm_factory: FsmFactory | None = None,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.frontend_endpoint = frontend
        self.statepub_endpoint = statepub
        self.peer_endpoint = peer
        self.heartbeat = heartbeat_ms / 1000.0
        factory = fsm_factory or (lambda p, hb: BinaryStarFSM(p, hb))
        self.fsm = factory(primary, self.heartbeat)
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger("binary_star")
        self.stopping = threading.Event()
        self.served = 0

    def stop(self) -> None:
        """Ask :meth:`run` to return at its next wake-up (thread-safe)."""
        self.stopping.set()

    def run(self) -> int:
        """Serve until stopped (returns 0) or until a fatal transition (FATAL_EXIT)."""
        frontend = self._ctx.socket(zmq.ROUTER)
        statepub = self._ctx.socket(zmq.PUB)
        statesub = self._ctx.socket(zmq.SUB)
        sockets = (frontend, statepub, statesub)
        for sock in sockets:
            sock.setsockopt(zmq.LINGER, 0)
        try:
            frontend.setsockopt(zmq.ROUTER_MANDATORY, 1)
            frontend.bind(self.frontend_endpoint)
            statepub.bind(self.statepub_endpoint)
            statesub.setsockopt(zmq.SUBSCRIBE, b"")
            statesub.connect(self.peer_endpoint)
            return self._loop(frontend, statepub, statesub)
        finally:
            for sock in sockets:
                sock.close(0)

    # -- the loop -------------------------------------------------------------

    def _loop(self, frontend: zmq.Socket, statepub: zmq.Socket, statesub: zmq.Socket) -> int:
        self._log.info("starting as %s", self.fsm.state.name)
        trace.state(self.fsm.state.name)
        poller = zmq.Poller()
        poller.register(frontend, zmq.POLLIN)
        poller.register(statesub, zmq.POLLIN)
        send_at = last_wake = time.monotonic()
        try:
            while not self.stopping.is_set():
                timeout_ms = max(0.0, (send_at - time.monotonic()) * 1000.0)
                ready = dict(poller.poll(timeout_ms))
                now = time.monotonic()
                if now - last_wake > self.fsm.failover_timeout:
                    self._catch_up(statesub, now - last_wake)
                    ready = dict(poller.poll(0))
                last_wake = now
                if statesub in ready:
                    self._read_states(statesub)
                if frontend in ready:
                    self._read_requests(frontend)
                self._apply(self.fsm.on_tick())
                now = time.monotonic()
                if now >= send_at:
                    statepub.send_string(str(int(self.fsm.state)))
                    send_at += self.heartbeat
                    if send_at <= now:  # fell behind (e.g. after SIGSTOP): do not burst
                        send_at = now + self.heartbeat
        except FatalTransition as exc:
            self._log.error("fatal: %s; exiting", exc.reason)
            trace.emit("fatal", reason=exc.reason, state=self.fsm.state.name)
            return FATAL_EXIT
        return 0

    def _catch_up(self, statesub: zmq.Socket, stalled: float) -> None:
        """After a stall longer than the failover timeout (SIGSTOP, swap), listen first.

        The peer may have taken over while we were frozen. Before serving or
        publishing anything, read what the peer said for one heartbeat: if it
        went ACTIVE the FSM raises dual active and this server exits alone,
        instead of announcing ACTIVE and taking the survivor down with it.
        """
        self._log.warning("stalled for %.3f s; listening to the peer before serving", stalled)
        deadline = time.monotonic() + self.heartbeat
        while (left := deadline - time.monotonic()) > 0:
            if statesub.poll(left * 1000.0, zmq.POLLIN):
                self._read_states(statesub)

    def _read_states(self, statesub: zmq.Socket) -> None:
        for frames in _drain(statesub):
            event = parse_state_message(frames)
            if event is None:
                self._log.warning("dropped malformed state message %r", frames[:4])
                continue
            self._apply(self.fsm.on_peer_state(event))

    def _read_requests(self, frontend: zmq.Socket) -> None:
        for frames in _drain(frontend):
            op = request_op(frames)
            if op is None:
                self._log.warning("dropped malformed request %r", frames[:4])
                continue
            outcome = self.fsm.on_client_request()
            self._apply(outcome)
            if not outcome.serve:
                self._log.debug("dropped request %r in state %s", op, self.fsm.state.name)
                continue
            self.served += 1
            trace.handled(op)  # before the reply, so the history stays causal
            try:
                frontend.send_multipart(frames, zmq.NOBLOCK)
            except zmq.ZMQError as exc:  # client gone (ROUTER_MANDATORY) or HWM
                self._log.info("reply to %r undeliverable: %s", op, exc)

    def _apply(self, outcome: Outcome) -> None:
        if outcome.changed_from is not None:
            self._log.info("%s -> %s", outcome.changed_from.name, self.fsm.state.name)
            trace.state(self.fsm.state.name, previous=outcome.changed_from.name)
