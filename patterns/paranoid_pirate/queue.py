"""Paranoid Pirate queue: LRU dispatch to heartbeating DEALER workers (RFC 6/PPP).

Differences from the Guide's ppqueue, each fixing a flaw PROTOCOLS.md §4 lists:

- heartbeats go to *every* known worker, busy ones included, on a timer that
  runs whatever the traffic;
- only READY and a REPLY make a worker idle; HEARTBEAT only refreshes its expiry,
  so a worker heartbeating while busy is never handed a second request;
- an expired worker is purged (idle or busy) and never dispatched to, checked
  again at dispatch time;
- READY from an identity already known replaces the old entry;
- a REPLY from a worker the queue does not know (one it expired while it was
  paused, say) is still forwarded, and registers that worker: it is
  evidently alive and speaking PPP;
- a send to a worker that has disconnected fails (ROUTER_MANDATORY) instead of
  silently losing the request, which then goes to the next idle worker;
- malformed input from either side is logged and dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import zmq

from patterns.common import role
from patterns.common.lru_queue import LruQueue, run_queue_cli
from patterns.paranoid_pirate import ppp

MAX_POLL_MS = 100  # cap on one poll so a stop request is noticed promptly


class ParanoidPirateQueue(LruQueue):
    """Frontend ROUTER for Lazy Pirate clients, backend ROUTER for PPP workers."""

    def __init__(
        self,
        frontend: str,
        backend: str,
        *,
        heartbeat_ms: int = ppp.HEARTBEAT_INTERVAL_MS,
        liveness: int = ppp.HEARTBEAT_LIVENESS,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(frontend, backend, context=context, log=log)
        self._clock = clock
        self.interval_s = max(heartbeat_ms, 1) / 1000.0
        self.expiry_s = self.interval_s * max(liveness, 1)
        self.expiry: dict[bytes, float] = {}  # every known worker, idle or busy
        self._heartbeat_at = self._clock() + self.interval_s

    # -- worker bookkeeping -------------------------------------------------

    def _forget(self, worker: bytes, reason: str = "unreachable") -> None:
        self.expiry.pop(worker, None)
        super()._forget(worker, reason)

    def _make_idle(self, worker: bytes, now: float, why: str) -> None:
        self.expiry[worker] = now + self.expiry_s
        self._mark_idle(worker, why)

    def purge(self, now: float) -> None:
        """Forget every worker whose expiry has passed, idle or busy."""
        for worker in [w for w, t in self.expiry.items() if t <= now]:
            self._log.info("worker %r expired", worker)
            self._forget(worker, "expired")

    def _alive(self, worker: bytes, now: float) -> bool:
        return self.expiry.get(worker, 0.0) > now

    # -- message handling ---------------------------------------------------

    def _on_backend(self, frames: list[bytes], now: float) -> None:
        if len(frames) < 2:
            self._log.warning("dropping malformed backend message (%d frames)", len(frames))
            return
        worker, rest = frames[0], frames[1:]
        if ppp.is_control(rest, ppp.READY):
            if worker in self.expiry:
                self._log.info("worker %r re-registered", worker)
            else:
                self._log.info("worker %r ready", worker)
            self._make_idle(worker, now, "ready")
        elif ppp.is_control(rest, ppp.HEARTBEAT):
            if worker in self.expiry:
                self.expiry[worker] = now + self.expiry_s
            else:
                self._log.debug("heartbeat from unknown worker %r ignored", worker)
        elif len(rest) == 1:
            self._log.warning("dropping unknown control frame %r from %r", rest[0][:16], worker)
        elif ppp.split_envelope(rest) is None:
            self._log.warning("dropping malformed reply from %r (%d frames)", worker, len(rest))
        else:
            self._frontend.send_multipart(rest)
            self._make_idle(worker, now, "reply")

    def _dispatch(self, frames: list[bytes], now: float) -> None:
        if ppp.split_envelope(frames) is None or len(frames) < 3:
            self._log.warning("dropping malformed request (%d frames)", len(frames))
            return

        def alive(worker: bytes) -> bool:
            if self._alive(worker, now):
                return True
            self._log.info("worker %r expired before dispatch", worker)
            self._forget(worker, "expired")
            return False

        if not self._send_to_idle_worker(frames, usable=alive):
            self._log.warning("no live worker; request dropped, the client will retry")

    def _send_heartbeats(self) -> None:
        for worker in list(self.expiry):
            try:
                self._backend.send_multipart([worker, ppp.HEARTBEAT], zmq.NOBLOCK)
            except zmq.ZMQError as exc:
                # Not fatal: a worker that stays unreachable simply expires.
                self._log.debug("heartbeat to %r not sent: %s", worker, exc)

    # -- loop ---------------------------------------------------------------

    def poll_once(self) -> None:
        """One turn: poll until the next heartbeat is due, handle input, heartbeat and purge."""
        now = self._clock()
        self.purge(now)
        timeout_ms = min(max(int((self._heartbeat_at - now) * 1000), 0), MAX_POLL_MS)
        events = self._poll(timeout_ms)
        if self._backend in events:
            self._on_backend(self._backend.recv_multipart(), self._clock())
        if self._frontend in events and self.idle:
            now = self._clock()
            self.purge(now)
            if self.idle:
                self._dispatch(self._frontend.recv_multipart(), now)
        now = self._clock()
        if now >= self._heartbeat_at:
            self._send_heartbeats()
            self.purge(now)
            self._heartbeat_at = now + self.interval_s


def main(
    queue_class: type[ParanoidPirateQueue] = ParanoidPirateQueue,
    description: str = "Paranoid Pirate queue (RFC 6/PPP): LRU dispatch to heartbeating "
                       "workers, expiry of silent ones.",
) -> int:
    """The queue CLI; the negative control (tests/negative) runs it with its broken class."""
    p = role.parser(description)
    role.add_bind(p, "frontend", "backend")
    p.add_argument("--heartbeat-ms", type=int, default=ppp.HEARTBEAT_INTERVAL_MS,
                   help="heartbeat interval (ms); must match the workers'")
    p.add_argument("--liveness", type=int, default=ppp.HEARTBEAT_LIVENESS,
                   help="heartbeats a worker may miss before it is expired")
    return run_queue_cli(p, "paranoid pirate queue",
                         lambda frontend, backend, args, log:
                         queue_class(frontend, backend, heartbeat_ms=args.heartbeat_ms,
                                     liveness=args.liveness, log=log))


if __name__ == "__main__":
    role.run_role(main)
