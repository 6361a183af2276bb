"""Freelance model 3 client (RFC 10/FLP): an agent thread behind a PAIR pipe.

The agent owns one ROUTER connected to every server. It names each server
by the endpoint it connected to, set with ``CONNECT_ROUTING_ID`` before the
``connect`` (behind a proxy the server cannot know that address, so the
server's own identity cannot be relied on). It pings every server each
``ping`` interval when it has not heard from it, and counts a server as dead
after ``ttl`` of silence; any message from a server (PONG or reply) proves it
alive.

The fixes to the Guide's ``flcliapi`` (PROTOCOLS.md §10.3):

- a server is usable only after it spoke (a PONG), not on CONNECT;
- the CCF is the application's request sequence, new for every request, and a
  reply is forwarded only while that request is pending and its CCF matches:
  PONGs, stale and late replies are dropped, never delivered;
- each attempt is sent once; an attempt unanswered within ``timeout`` demotes
  that server (it rejoins the live list, at the end, when it speaks again) and
  the request moves to the next live server, so a just-dead server costs one
  attempt timeout instead of its whole TTL;
- the poll timeout is the nearest deadline (pings included, pending or not),
  clamped at 0; unknown identities and malformed messages are dropped.

Pipe commands: ``["CONNECT" | endpoint]``, ``["REQUEST" | seq | expect | body...]``
(``expect`` empty = any body), ``["STOP"]``. Answers: ``["OK" | seq | endpoint |
body...]`` or ``["FAILED" | seq | reason]``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import zmq

from patterns.common.errors import RequestAbandoned

PING = b"PING"
PONG = b"PONG"
_agents = itertools.count()


@dataclass
class ServerInfo:
    """What the agent knows about one server."""

    endpoint: bytes
    ping_at: float
    expires: float
    alive: bool = False


@dataclass
class Pending:
    """The request in flight (at most one)."""

    seq: bytes
    expect: bytes
    body: list[bytes]
    deadline: float
    attempts_left: int
    server: bytes | None = None  # where the current attempt went
    attempt_deadline: float | None = None
    tried: list[bytes] = field(default_factory=list)


class FlpAgent:
    """The background half of the client: servers, pings, attempts, acceptance."""

    def __init__(
        self,
        context: zmq.Context,
        pipe_endpoint: str,
        *,
        timeout: float,
        retries: int,
        ping: float,
        ttl: float,
        log: logging.Logger,
    ) -> None:
        self.timeout = timeout
        self.retries = max(1, retries)
        self.ping = ping
        self.ttl = ttl
        self._log = log
        self.pipe = context.socket(zmq.PAIR)
        self.pipe.setsockopt(zmq.LINGER, 0)
        self.pipe.connect(pipe_endpoint)
        self.router = context.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.servers: dict[bytes, ServerInfo] = {}
        self.actives: list[bytes] = []  # live servers, in the order they (re)joined
        self.pending: Pending | None = None
        self.dropped = 0  # replies refused (stale CCF, unknown identity, malformed)

    # -- the loop -------------------------------------------------------------

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.pipe, zmq.POLLIN)
        poller.register(self.router, zmq.POLLIN)
        try:
            while True:
                ready = dict(poller.poll(self._poll_timeout_ms()))
                if self.pipe in ready and not self._on_command(self.pipe.recv_multipart()):
                    return
                if self.router in ready:
                    self._drain_router()
                self._on_timers(time.monotonic())
        finally:
            self.router.close(0)
            self.pipe.close(0)

    def _poll_timeout_ms(self) -> float:
        deadlines = [s.ping_at for s in self.servers.values()]
        if self.pending is not None:
            deadlines.append(self.pending.deadline)
            if self.pending.attempt_deadline is not None:
                deadlines.append(self.pending.attempt_deadline)
        if not deadlines:
            return 1000.0
        return max(0.0, (min(deadlines) - time.monotonic()) * 1000.0)

    # -- commands from the application -----------------------------------------

    def _on_command(self, frames: list[bytes]) -> bool:
        command = frames[0] if frames else b""
        if command == b"STOP":
            return False
        if command == b"CONNECT" and len(frames) == 2:
            self._connect(frames[1])
        elif command == b"REQUEST" and len(frames) >= 4:
            if self.pending is not None:
                self._finish_failed("superseded by a new request")
            now = time.monotonic()
            self.pending = Pending(seq=frames[1], expect=frames[2], body=frames[3:],
                                   deadline=now + self.retries * self.timeout,
                                   attempts_left=self.retries)
            self._dispatch(now)
        else:
            self._log.warning("agent: unknown command %r", frames[:2])
        return True

    def _connect(self, endpoint: bytes) -> None:
        if endpoint in self.servers:
            return
        self.router.setsockopt(zmq.CONNECT_ROUTING_ID, endpoint)
        self.router.connect(endpoint.decode())
        now = time.monotonic()
        # not alive until it answers; ping at once
        self.servers[endpoint] = ServerInfo(endpoint, ping_at=now, expires=now + self.ttl)

    # -- messages from servers --------------------------------------------------

    def _drain_router(self) -> None:
        while True:
            try:
                frames = self.router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._on_server_message(frames)

    def _on_server_message(self, frames: list[bytes]) -> None:
        identity = frames[0]
        server = self.servers.get(identity)
        if server is None:
            self.dropped += 1
            self._log.warning("agent: dropped message from unknown peer %r", identity[:64])
            return
        now = time.monotonic()
        server.expires = now + self.ttl
        server.ping_at = now + self.ping
        if not server.alive:
            server.alive = True
            self.actives.append(identity)
            self._log.debug("agent: %s is alive", identity.decode(errors="replace"))
        rest = frames[1:]
        if rest == [PONG]:
            return
        pending = self.pending
        if len(rest) < 2 or pending is None or rest[0] != pending.seq:
            self.dropped += 1
            self._log.debug("agent: dropped stale or malformed reply %r", rest[:3])
            return
        if pending.expect and rest[1:] != [pending.expect]:
            self.dropped += 1
            self._log.warning("agent: dropped reply %r, expected %r", rest[1:3], pending.expect)
            return
        self.pipe.send_multipart([b"OK", pending.seq, identity, *rest[1:]])
        self.pending = None

    # -- time -------------------------------------------------------------------

    def _on_timers(self, now: float) -> None:
        for server in self.servers.values():
            if now >= server.ping_at:
                self._send(server.endpoint, [PING])
                server.ping_at = now + self.ping
            if server.alive and now >= server.expires:
                self._demote(server.endpoint, "expired")
        pending = self.pending
        if pending is None:
            return
        if now >= pending.deadline:
            self._finish_failed("global timeout")
            return
        if pending.attempt_deadline is not None and now >= pending.attempt_deadline:
            if pending.server is not None:
                self._demote(pending.server, "no reply within the attempt timeout")
            pending.server = None
            pending.attempt_deadline = None
            if pending.attempts_left <= 0:
                self._finish_failed(f"no reply after {len(pending.tried)} attempts")
                return
        self._dispatch(now)

    def _dispatch(self, now: float) -> None:
        """Send the pending request to the first live server, once per attempt."""
        pending = self.pending
        if pending is None or pending.server is not None or pending.attempts_left <= 0:
            return
        while self.actives:
            endpoint = self.actives[0]
            if now >= self.servers[endpoint].expires:
                self._demote(endpoint, "expired")
                continue
            if not self._send(endpoint, [pending.seq, *pending.body]):
                self._demote(endpoint, "unreachable")
                continue
            pending.server = endpoint
            pending.attempt_deadline = min(now + self.timeout, pending.deadline)
            pending.attempts_left -= 1
            pending.tried.append(endpoint)
            return
        # no live server: wait for one to speak, or for the global deadline

    def _demote(self, endpoint: bytes, why: str) -> None:
        server = self.servers[endpoint]
        if server.alive:
            self._log.info("agent: %s out of service (%s)", endpoint.decode(errors="replace"), why)
        server.alive = False
        if endpoint in self.actives:
            self.actives.remove(endpoint)

    def _send(self, endpoint: bytes, frames: list[bytes]) -> bool:
        try:
            self.router.send_multipart([endpoint, *frames], zmq.NOBLOCK)
            return True
        except zmq.ZMQError as exc:  # EHOSTUNREACH / EAGAIN: not routable now
            self._log.debug("agent: send to %r failed: %s", endpoint, exc)
            return False

    def _finish_failed(self, reason: str) -> None:
        if self.pending is not None:
            self.pipe.send_multipart([b"FAILED", self.pending.seq, reason.encode()])
            self.pending = None


class FreelanceClient3:
    """The application half: ``request(body)`` returns the reply or raises RequestAbandoned.

    ``timeout_ms`` bounds one attempt (one server); ``retries`` bounds the
    attempts per request; the request is abandoned after ``retries x
    timeout_ms`` in all (the Guide's GLOBAL_TIMEOUT), live servers or not.
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        timeout_ms: int = 1000,
        retries: int = 3,
        ping_ms: int = 2000,
        ttl_ms: int = 6000,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger("freelance.client3")
        self.global_timeout = max(1, retries) * timeout_ms / 1000.0
        pipe_endpoint = f"inproc://flp-agent-{next(_agents)}-{id(self)}"
        self._pipe = self._ctx.socket(zmq.PAIR)
        self._pipe.setsockopt(zmq.LINGER, 0)
        self._pipe.bind(pipe_endpoint)
        self.agent = FlpAgent(self._ctx, pipe_endpoint, timeout=timeout_ms / 1000.0,
                              retries=retries, ping=ping_ms / 1000.0, ttl=ttl_ms / 1000.0,
                              log=self._log)
        self._thread = threading.Thread(target=self.agent.run, name="flp-agent", daemon=True)
        self._thread.start()
        self.sequence = 0
        self.last_server: str | None = None
        for endpoint in endpoints:
            self.connect(endpoint)

    def connect(self, endpoint: str) -> None:
        self._pipe.send_multipart([b"CONNECT", endpoint.encode()])

    def request(self, body: bytes, *, expect: bytes | None = None) -> bytes:
        """Send ``body``; the reply must echo it, or equal ``expect`` (b"" = any body)."""
        self.sequence += 1
        seq = str(self.sequence).encode()
        wanted = body if expect is None else expect
        self._pipe.send_multipart([b"REQUEST", seq, wanted, body])
        deadline = time.monotonic() + self.global_timeout + 2.0  # the agent answers first
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._pipe.poll(left * 1000.0, zmq.POLLIN):
                raise RequestAbandoned("the FLP agent did not answer")
            frames = self._pipe.recv_multipart()
            if len(frames) < 2 or frames[1] != seq:
                continue  # an answer to an earlier, abandoned request
            if frames[0] == b"OK" and len(frames) >= 4:
                self.last_server = frames[2].decode(errors="replace")
                return frames[3]
            reason = frames[2].decode(errors="replace") if len(frames) > 2 else "failed"
            raise RequestAbandoned(reason)

    def close(self) -> None:
        if self._thread.is_alive():
            try:
                self._pipe.send(b"STOP", zmq.NOBLOCK)
            except zmq.ZMQError:
                pass
            self._thread.join(timeout=5)
        self._pipe.close(0)
