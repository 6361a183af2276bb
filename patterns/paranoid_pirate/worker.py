"""Paranoid Pirate worker: a DEALER that says READY, heartbeats, and reconnects with back-off.

Beyond the Guide's ppworker:

- requests are split at the first empty frame, so multi-frame bodies and
  deeper address stacks come back intact;
- simulated work runs inside the event loop (a deadline, not a sleep), so the
  worker keeps heartbeating while busy, which is what lets the queue tell a
  busy worker from a dead one; a *paused* worker still goes silent;
- a dropped TCP connection (seen through a socket monitor) counts as losing
  the queue: every new connection then starts with READY, as RFC 6 wants,
  instead of ZeroMQ silently reconnecting under the old registration;
- all deadlines are on the monotonic clock and polls never wait forever.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

import zmq
from zmq.utils.monitor import recv_monitor_message

from patterns.common import role, trace
from patterns.paranoid_pirate import ppp
from patterns.simple_pirate.worker import printable_identity

MAX_POLL_MS = 100  # cap on one poll so a stop request is noticed promptly


@dataclass
class _Job:
    envelope: ppp.Envelope
    done_at: float


class ParanoidPirateWorker:
    """One PPP echo worker connected to a queue's backend."""

    def __init__(
        self,
        endpoint: str,
        *,
        heartbeat_ms: int = ppp.HEARTBEAT_INTERVAL_MS,
        liveness: int = ppp.HEARTBEAT_LIVENESS,
        reconnect_ms: int = ppp.INTERVAL_INIT_MS,
        backoff_max_ms: int = ppp.INTERVAL_MAX_MS,
        work_ms: int = 0,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        self._ctx = context or zmq.Context.instance()
        self._log = log or logging.getLogger(__name__)
        self._clock = clock
        self.interval_s = max(heartbeat_ms, 1) / 1000.0
        self.silence_limit_s = self.interval_s * max(liveness, 1)
        self.work_s = max(work_ms, 0) / 1000.0
        self.backoff = ppp.Backoff(reconnect_ms, backoff_max_ms)
        self.reconnect_delays_ms: list[int] = []  # every back-off waited, in order
        self.handled = 0
        self._socket: zmq.Socket | None = None
        self._monitor: zmq.Socket | None = None
        self._pending: deque[ppp.Envelope] = deque()
        self._job: _Job | None = None
        self._stop: object | None = None
        self._connect()

    # -- connection ---------------------------------------------------------

    def _connect(self) -> None:
        sock = self._ctx.socket(zmq.DEALER)
        sock.linger = 0
        self.identity = printable_identity()
        sock.setsockopt(zmq.IDENTITY, self.identity)
        self._monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        sock.connect(self.endpoint)
        self._socket = sock
        now = self._clock()
        self._last_inbound = now
        self._heartbeat_at = now + self.interval_s
        self._send([ppp.READY])
        self._log.info("worker %s connecting to %s", self.identity.decode(), self.endpoint)

    def _disconnect(self) -> None:
        if self._socket is not None:
            try:
                self._socket.disable_monitor()
            except zmq.ZMQError:
                pass
            self._socket.close(linger=0)
            self._socket = None
        if self._monitor is not None:
            self._monitor.close(linger=0)
            self._monitor = None

    def _wait(self, seconds: float) -> None:
        stop = self._stop
        if stop is not None:
            stop.wait(seconds)  # type: ignore[attr-defined]
        else:
            time.sleep(seconds)

    def _reconnect(self, reason: str) -> None:
        delay_ms = self.backoff.next_ms()
        self.reconnect_delays_ms.append(delay_ms)
        dropped = len(self._pending) + (1 if self._job else 0)
        self._log.warning("%s; reconnecting in %d ms (dropping %d request(s))",
                          reason, delay_ms, dropped)
        self._pending.clear()
        self._job = None
        self._disconnect()
        self._wait(delay_ms / 1000.0)
        if self._stop is None or not self._stop.is_set():  # type: ignore[attr-defined]
            self._connect()

    def _send(self, frames: list[bytes]) -> None:
        if self._socket is None:
            return
        try:
            self._socket.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            self._log.debug("send would block (queue unreachable); dropped")

    # -- inbound ------------------------------------------------------------

    def _on_message(self, frames: list[bytes], now: float) -> None:
        self._last_inbound = now
        self.backoff.reset()
        if ppp.is_control(frames, ppp.HEARTBEAT):
            return
        if len(frames) == 1:
            self._log.warning("dropping unexpected control frame %r", frames[0][:16])
            return
        envelope = ppp.split_envelope(frames)
        if envelope is None:
            self._log.warning("dropping malformed request (%d frames)", len(frames))
            return
        self._pending.append(envelope)

    def _connection_lost(self) -> bool:
        if self._monitor is None:
            return False
        lost = False
        while self._monitor.poll(0, zmq.POLLIN):
            event = recv_monitor_message(self._monitor, zmq.NOBLOCK)
            lost = lost or event["event"] == zmq.EVENT_DISCONNECTED
        return lost

    # -- loop ---------------------------------------------------------------

    def _next_deadline(self) -> float:
        deadline = min(self._heartbeat_at, self._last_inbound + self.silence_limit_s)
        if self._job is not None:
            deadline = min(deadline, self._job.done_at)
        return deadline

    def poll_once(self) -> None:
        """One turn: wait for input or the next deadline, then act on what is due."""
        if self._socket is None or self._monitor is None:
            self._connect()
        sock, monitor = self._socket, self._monitor
        if sock is None or monitor is None:
            return
        now = self._clock()
        timeout_ms = min(max(int((self._next_deadline() - now) * 1000), 0), MAX_POLL_MS)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        events = dict(poller.poll(timeout_ms))
        if monitor in events and self._connection_lost():
            self._reconnect("connection to the queue dropped")
            return
        if sock in events:
            while True:
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._on_message(frames, self._clock())
        now = self._clock()
        if self._job is None and self._pending:
            self._job = _Job(self._pending.popleft(), now + self.work_s)
        if self._job is not None and now >= self._job.done_at:
            envelope = self._job.envelope
            self._job = None
            self.handled += 1
            trace.handled(envelope.body[0])
            self._send(envelope.frames())
        if now >= self._heartbeat_at:
            self._send([ppp.HEARTBEAT])
            self._heartbeat_at = now + self.interval_s
        if now - self._last_inbound > self.silence_limit_s:
            self._reconnect("queue silent")

    def run(self, stop: object | None = None) -> None:
        """Serve until ``stop.is_set()`` (a threading.Event) or a stop signal."""
        self._stop = stop
        while stop is None or not stop.is_set():  # type: ignore[attr-defined]
            self.poll_once()

    def close(self) -> None:
        self._disconnect()


def main() -> int:
    p = role.parser("Paranoid Pirate worker (RFC 6/PPP): DEALER echo worker with heartbeats and "
                    "reconnect back-off.")
    role.add_connect(p, "queue backend")
    p.add_argument("--heartbeat-ms", type=int, default=ppp.HEARTBEAT_INTERVAL_MS,
                   help="heartbeat interval (ms); must match the queue's")
    p.add_argument("--liveness", type=int, default=ppp.HEARTBEAT_LIVENESS,
                   help="heartbeats the queue may miss before the worker reconnects")
    p.add_argument("--reconnect-ms", type=int, default=ppp.INTERVAL_INIT_MS,
                   help="first reconnect back-off (ms), doubled after each failure")
    p.add_argument("--backoff-max-ms", type=int, default=ppp.INTERVAL_MAX_MS,
                   help="reconnect back-off ceiling (ms)")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    worker = ParanoidPirateWorker(
        args.connect[0], heartbeat_ms=args.heartbeat_ms, liveness=args.liveness,
        reconnect_ms=args.reconnect_ms, backoff_max_ms=args.backoff_max_ms,
        work_ms=args.work_ms, log=log,
    )
    with closing(worker):
        worker.run()
    return 0


if __name__ == "__main__":
    role.run_role(main)
