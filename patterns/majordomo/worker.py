"""Majordomo worker API (MDP/Worker 0.1) and the ``majordomo.worker`` echo role.

A two-method API in the spirit of the Guide's ``mdwrkapi``: ``recv()`` hands
over the next request body, ``send()`` returns the reply. Everything else —
READY, heartbeats both ways, DISCONNECT, reconnecting after the broker has
been silent for ``heartbeat * liveness`` — happens inside ``recv()``.

Fixed relative to the Guide (PROTOCOLS.md §5.7): the poll interval is the
heartbeat, not the request timeout; the broker's liveness is a deadline on
``time.monotonic()`` refreshed by any inbound message; a malformed message is
logged and dropped instead of raising; messages that queued up while the
application was busy are read before the worker decides the broker is dead.

The API is single-threaded on purpose: while the application works no
heartbeats go out, so a stuck worker stops looking alive (the broker expires
busy workers too, see ``broker.py``).
"""

from __future__ import annotations

import logging
import time

import zmq

from patterns.common import role, trace
from patterns.common.fastio import poll_in, recv_frames, send_frames
from patterns.majordomo import mdp

log = logging.getLogger("majordomo.worker")


class MajordomoWorker:
    """One worker connection serving exactly one service."""

    def __init__(
        self,
        broker: str,
        service: bytes,
        *,
        heartbeat_ms: int = 2500,
        liveness: int = 3,
        reconnect_ms: int = 2500,
        context: zmq.Context | None = None,
    ) -> None:
        if heartbeat_ms <= 0 or liveness <= 0:
            raise ValueError("heartbeat_ms and liveness must be positive")
        self.broker = broker
        self.service = service
        self.heartbeat = heartbeat_ms / 1000.0
        self.broker_timeout = self.heartbeat * liveness
        self.reconnect = max(0, reconnect_ms) / 1000.0
        self._own_context = context is None
        self.context = context or zmq.Context()
        self.socket: zmq.Socket | None = None
        self.connections = 0  # how many times we (re)connected; for tests and logs
        self._reply_to: bytes | None = None  # client address of the request we hold
        self._reply_connection = 0
        self._heartbeat_at = 0.0
        self._broker_expiry = 0.0
        self._connected_at = 0.0
        self._reconnect_at: float | None = None
        self._connect()

    # --- connection ---

    def _connect(self) -> None:
        self._close_socket()
        sock = self.context.socket(zmq.DEALER)
        sock.linger = 0
        sock.connect(self.broker)
        self.socket = sock
        self.connections += 1
        self._send(mdp.worker_ready(self.service))
        now = time.monotonic()
        self._connected_at = now
        self._broker_expiry = now + self.broker_timeout
        self._reconnect_at = None
        log.info("connected to %s for service %r", self.broker, self.service)

    def _close_socket(self) -> None:
        if self.socket is not None:
            self.socket.close(linger=0)
            self.socket = None

    def _send(self, frames: list[bytes]) -> None:
        assert self.socket is not None  # internal invariant, not input validation
        try:
            send_frames(self.socket, frames)
        except zmq.Again:
            log.warning("send queue to the broker is full; message dropped")
        # Any command we send proves we are alive: no heartbeat needed before the next interval.
        self._heartbeat_at = time.monotonic() + self.heartbeat

    def _schedule_reconnect(self, why: str, delay: float) -> None:
        log.warning("%s; reconnecting in %.0f ms", why, delay * 1000)
        self._close_socket()
        self._reply_to = None
        self._reconnect_at = time.monotonic() + delay

    # --- API ---

    def recv(self, timeout_ms: int | None = None) -> list[bytes] | None:
        """The next request's body frames; None when ``timeout_ms`` passes first.

        ``None`` for ``timeout_ms`` waits until a request arrives.
        """
        self._reply_to = None
        deadline = None if timeout_ms is None else time.monotonic() + max(0, timeout_ms) / 1000
        while True:
            now = time.monotonic()
            if self._reconnect_at is not None:
                if now >= self._reconnect_at:
                    self._connect()
                    continue
                wake = self._reconnect_at
                if deadline is not None and deadline < wake:
                    if now >= deadline:
                        return None
                    time.sleep(deadline - now)
                    return None
                time.sleep(wake - now)
                continue
            sock = self.socket
            assert sock is not None
            wake = min(self._heartbeat_at, self._broker_expiry)
            if deadline is not None:
                wake = min(wake, deadline)
            if poll_in(sock, max(0, int((wake - now) * 1000) + 1)):
                try:
                    frames = recv_frames(sock)
                except zmq.Again:
                    continue
                body = self._on_message(frames)
                if body is not None:
                    return body
                continue
            now = time.monotonic()
            if now >= self._broker_expiry:
                self._schedule_reconnect("broker silent", self.reconnect)
                continue
            if now >= self._heartbeat_at:
                self._send(mdp.worker_heartbeat())
            if deadline is not None and now >= deadline:
                return None

    def _on_message(self, frames: list[bytes]) -> list[bytes] | None:
        command = mdp.parse_worker_command(frames)
        if command is None:
            log.warning("dropped malformed message from the broker (%d frames)", len(frames))
            return None
        # RFC 7: every command except DISCONNECT counts as a heartbeat.
        if command.command == mdp.W_DISCONNECT:
            # Re-register at once (the broker is alive, it just does not know
            # us), unless this connection was itself refused straight away:
            # then wait, so a broker that rejects us is not flooded.
            young = time.monotonic() - self._connected_at < self.heartbeat
            self._schedule_reconnect("broker sent DISCONNECT", self.reconnect if young else 0.0)
            return None
        self._broker_expiry = time.monotonic() + self.broker_timeout
        if command.command == mdp.W_REQUEST:
            self._reply_to = command.client
            self._reply_connection = self.connections
            return list(command.body)
        return None  # HEARTBEAT

    def send(self, reply: list[bytes]) -> None:
        """Reply to the request last returned by :meth:`recv`.

        If the connection was replaced since (it cannot be, unless the caller
        interleaves calls oddly) the reply is dropped: the new broker
        connection never saw that request.
        """
        if self._reply_to is None or self._reply_connection != self.connections:
            log.warning("no request to reply to; reply dropped")
            return
        if self.socket is None:
            return
        self._send(mdp.worker_reply(self._reply_to, reply))
        self._reply_to = None

    def close(self) -> None:
        """Tell the broker we are leaving (DISCONNECT), then close."""
        if self.socket is not None:
            try:
                self.socket.send_multipart(mdp.worker_disconnect(), zmq.NOBLOCK)
            except zmq.ZMQError:
                pass
        self._close_socket()
        if self._own_context:
            self.context.term()


def main() -> int:
    p = role.parser("Majordomo (MDP 0.1) echo worker: replies with the request body.")
    role.add_connect(p, "broker")
    p.add_argument("--service", default="echo", help="service name to register for")
    p.add_argument("--heartbeat-ms", type=int, default=2500, help="heartbeat interval (ms)")
    p.add_argument("--liveness", type=int, default=3, help="silent heartbeats before reconnecting")
    p.add_argument("--reconnect-ms", type=int, default=2500, help="delay before reconnecting")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    logger = role.configure_logging(args.verbose)
    endpoint = (args.connect or ["tcp://127.0.0.1:5555"])[0]
    worker = MajordomoWorker(
        endpoint,
        args.service.encode(),
        heartbeat_ms=args.heartbeat_ms,
        liveness=args.liveness,
        reconnect_ms=args.reconnect_ms,
        context=zmq.Context.instance(),
    )
    work = args.work_ms / 1000.0
    try:
        while True:
            body = worker.recv()
            if body is None:
                continue
            trace.handled(body[0] if body else b"")
            if args.verbose:
                logger.debug("handling %r", body)
            if work > 0:
                time.sleep(work)
            worker.send(body)
    finally:
        worker.close()


if __name__ == "__main__":
    role.run_role(main)
