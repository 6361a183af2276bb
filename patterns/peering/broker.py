"""Peering broker: local load balancing, a state flow and a cloud flow to named peers.

Sockets (binds in this order): ``frontend`` ROUTER for local REQ clients,
``backend`` ROUTER for local REQ workers, ``cloud`` ROUTER (identity = our
name) for peers' requests, ``state`` PUB for our capacity. Connects: a cloud
ROUTER (identity = our name) to every peer's ``cloud`` (``--connect``) and a
SUB to every peer's ``state`` (``--connect-state``). Peers are known by the
names they announce, in state messages and as ROUTER identities, so the
broker needs no list of names, only endpoints.

Trace events (docs/trace-events.md): ``idle``/``forget`` for local workers,
``route`` for every request sent on (``from``: ``local``/``cloud``, ``to``:
``local`` with ``worker``, or ``cloud`` with ``peer`` and the ``cloud``
capacities it believed), ``capacity`` when a peer's reported capacity
changes, expires or is found unreachable.
"""

from __future__ import annotations

import logging
import os
import random
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass

import zmq

from patterns.common import role, trace
from patterns.common.lru_queue import LruQueue
from patterns.lbbroker import READY_SIGNALS

HEARTBEAT_MS = 1000  # state published at least this often (the Guide's peering1 period)
LIVENESS = 3  # state periods a peer may miss before its capacity counts as 0
MAX_POLL_MS = 100  # cap on one poll so a stop request is noticed promptly
BATCH = 32  # messages handled per socket per turn at most
MAX_CAPACITY = 1_000_000  # a larger reported capacity is garbage


def seeded_rng(node: str) -> random.Random:
    """The broker's random peer choice, reproducible from the run's seed and the node name."""
    seed = int(os.environ.get("ZCHAOS_SEED", "0") or 0)
    return random.Random(seed ^ zlib.crc32(node.encode()))


def parse_state(frames: list[bytes]) -> tuple[bytes, int] | None:
    """``[NAME | count]`` -> (name, count); None for anything else."""
    if len(frames) != 2 or not frames[0]:
        return None
    text = frames[1]
    if not text.isdigit() or len(text) > 9:
        return None
    count = int(text)
    return (frames[0], count) if count <= MAX_CAPACITY else None


def unwrap_peer(frames: list[bytes]) -> tuple[bytes, list[bytes]] | None:
    """``[PEER | ("") | rest...]`` -> (PEER, rest): one ``""`` after the name is dropped if there.

    None when nothing is left to route. (CZMQ's ``zmsg_unwrap`` rule, so both
    the padded Python form and the unpadded C form read alike.)
    """
    if len(frames) < 2 or not frames[0]:
        return None
    rest = frames[1:]
    if rest[0] == b"" and len(rest) > 1:
        rest = rest[1:]
    return frames[0], rest


def is_client_envelope(frames: list[bytes]) -> bool:
    """``[C | "" | body...]``: what a REQ client's request or reply looks like at a ROUTER."""
    return len(frames) >= 3 and bool(frames[0]) and frames[1] == b""


@dataclass
class Peer:
    """What a broker believes about one peer.

    ``reported`` is the peer's last capacity report (0 once it expired or the
    peer proved unreachable). Each request sent to it is *reserved* against
    that report until the next report arrives, or for one state period at
    most: a peer that reports only when its capacity changes (the Guide's
    peering3) may not report again for a long time, and a reservation that
    never lapsed would then starve it of work.
    """

    reported: int = 0
    heard_at: float = 0.0  # clock time of its last state message (0 = never, or expired)
    reserved: int = 0
    reserved_at: float = 0.0

    @property
    def capacity(self) -> int:
        return max(0, self.reported - self.reserved)


class PeeringBroker(LruQueue):
    """One cluster's broker; see the module docstring for sockets and events."""

    def __init__(
        self,
        name: bytes,
        frontend: str,
        backend: str,
        cloud: str,
        state: str,
        *,
        peers_cloud: Sequence[str] = (),
        peers_state: Sequence[str] = (),
        heartbeat_ms: int = HEARTBEAT_MS,
        liveness: int = LIVENESS,
        rng: random.Random | None = None,
        context: zmq.Context | None = None,
        log: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not name:
            raise ValueError("a peering broker needs a name")
        super().__init__(frontend, backend, context=context, log=log)
        self.name = name
        self._clock = clock
        self._rng = rng or random.Random()
        self.interval_s = max(heartbeat_ms, 1) / 1000.0
        self.expiry_s = self.interval_s * max(liveness, 1)
        self._cloudfe = self._ctx.socket(zmq.ROUTER)
        self._cloudbe = self._ctx.socket(zmq.ROUTER)
        for sock in (self._cloudfe, self._cloudbe):
            sock.linger = 0
            sock.setsockopt(zmq.IDENTITY, name)
            sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self._statebe = self._ctx.socket(zmq.PUB)
        self._statefe = self._ctx.socket(zmq.SUB)
        for sock in (self._statebe, self._statefe):
            sock.linger = 0
        self._statefe.setsockopt(zmq.SUBSCRIBE, b"")
        self._cloudfe.bind(cloud)
        self._statebe.bind(state)
        self.cloud_endpoint: str = self._cloudfe.getsockopt_string(zmq.LAST_ENDPOINT)
        self.state_endpoint: str = self._statebe.getsockopt_string(zmq.LAST_ENDPOINT)
        for endpoint in peers_cloud:
            self.connect_peer(cloud=endpoint)
        for endpoint in peers_state:
            self.connect_peer(state=endpoint)
        self.peers: dict[bytes, Peer] = {}
        self.origins: set[bytes] = set()  # every peer name heard of: replies to them go to cloud
        # requests read while capacity existed that nobody could take after all: (frames, from)
        self.pending: deque[tuple[list[bytes], str]] = deque()
        self._published: int | None = None
        self._publish_at = self._clock()

    def connect_peer(self, cloud: str | None = None, state: str | None = None) -> None:
        """Reach one more peer: its cloud ROUTER and/or its state publisher."""
        if cloud:
            self._cloudbe.connect(cloud)
        if state:
            self._statefe.connect(state)

    # -- capacity ----------------------------------------------------------------

    def cloud_capacity(self) -> int:
        return sum(peer.capacity for peer in self.peers.values())

    def _set_capacity(self, name: bytes, capacity: int, reason: str) -> None:
        """A new report (or 0: expired, unreachable); it clears the reservations."""
        peer = self.peers.setdefault(name, Peer())
        # Traced when a peer becomes usable or unusable, and why (not every state message).
        if (peer.capacity > 0) != (capacity > 0) or (reason != "state"
                                                     and peer.capacity != capacity):
            trace.emit("capacity", peer=name, capacity=capacity, reason=reason)
        peer.reported = capacity
        peer.reserved = 0

    def expire(self, now: float) -> None:
        """Peers silent for ``heartbeat x liveness`` have capacity 0 until they speak again;
        reservations older than one state period lapse."""
        for name, peer in self.peers.items():
            if peer.reserved and now - peer.reserved_at > self.interval_s:
                peer.reserved = 0
            if peer.heard_at and now - peer.heard_at > self.expiry_s:
                self._log.info("peer %r silent for %.1f s: capacity expired", name,
                               now - peer.heard_at)
                peer.heard_at = 0.0
                self._set_capacity(name, 0, "expired")

    def _on_state(self, frames: list[bytes], now: float) -> None:
        parsed = parse_state(frames)
        if parsed is None:
            self._log.warning("dropping malformed state message (%d frames)", len(frames))
            return
        name, capacity = parsed
        if name == self.name:
            return  # our own state, through a misconfigured connect
        self.origins.add(name)
        self._set_capacity(name, capacity, "state")
        self.peers[name].heard_at = now

    def _publish(self, now: float) -> None:
        capacity = len(self.idle)
        if capacity != self._published or now >= self._publish_at:
            self._statebe.send_multipart([self.name, str(capacity).encode()])
            self._published = capacity
            self._publish_at = now + self.interval_s

    # -- replies -----------------------------------------------------------------

    def _on_backend(self, frames: list[bytes]) -> None:
        # [W | "" | READY] or [W | "" | X | "" | ...] where X is a client or a peer's name
        if len(frames) < 3 or frames[1] != b"":
            self._log.warning("dropping malformed backend message (%d frames)", len(frames))
            return
        worker, payload = frames[0], frames[2:]
        if len(payload) == 1:
            if payload[0] in READY_SIGNALS:
                self._log.info("worker %r ready", worker)
                self._mark_idle(worker, "ready")
            else:
                self._log.warning("dropping unknown control frame from %r", worker)
            return
        if not is_client_envelope(payload):
            self._log.warning("dropping malformed reply from %r (%d frames)", worker, len(frames))
            return
        if payload[0] in self.origins:
            try:  # [ORIGIN | "" | C | "" | body]: back to the peer it came from
                self._cloudfe.send_multipart(payload, zmq.NOBLOCK)
            except zmq.ZMQError as exc:
                self._log.warning("reply for peer %r dropped (%s)", payload[0], exc)
        else:
            self._frontend.send_multipart(payload)
        self._mark_idle(worker, "reply")

    def _on_cloud_reply(self, frames: list[bytes]) -> None:
        unwrapped = unwrap_peer(frames)
        if unwrapped is None or not is_client_envelope(unwrapped[1]):
            self._log.warning("dropping malformed reply from the cloud (%d frames)", len(frames))
            return
        self._frontend.send_multipart(unwrapped[1])

    # -- requests ----------------------------------------------------------------

    def _send_to_cloud(self, frames: list[bytes]) -> bool:
        """Send a local request to a random peer with capacity; False when none took it."""
        while True:
            able = [name for name, peer in self.peers.items() if peer.capacity > 0]
            if not able:
                return False
            name = self._rng.choice(sorted(able))
            believed = {trace.text(n): p.capacity for n, p in self.peers.items()}
            try:
                self._cloudbe.send_multipart([name, b"", *frames], zmq.NOBLOCK)
            except zmq.ZMQError as exc:
                self._log.warning("peer %r unreachable (%s)", name, exc)
                self._set_capacity(name, 0, "unreachable")
                continue
            peer = self.peers[name]
            peer.reserved += 1  # until its next report (or one state period) says otherwise
            peer.reserved_at = self._clock()
            if trace.enabled():
                trace.emit("route", op=frames[-1], peer=name, capacity=len(self.idle),
                           cloud=believed, to="cloud", **{"from": "local"})
            return True

    def _route(self, frames: list[bytes], source: str) -> None:
        """Local worker if one is idle; else (for a local request only) a peer; else wait."""
        if source == "cloud":
            origin, rest = frames[0], frames[1:]
            sent = self._send_to_idle_worker(rest, prefix=(b"", origin, b""), to="local",
                                             **{"from": "cloud", "origin": trace.text(origin)})
        else:
            sent = (self._send_to_idle_worker(frames, prefix=(b"",), to="local",
                                              **{"from": "local"})
                    or self._send_to_cloud(frames))
        if not sent:
            self.pending.appendleft((frames, source))

    def _read_request(self, sock: zmq.Socket, source: str) -> list[bytes] | None:
        """The next well-formed request on ``sock`` (garbage is dropped), or None."""
        while True:
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return None
            if source == "cloud":
                unwrapped = unwrap_peer(frames)
                if unwrapped is not None and is_client_envelope(unwrapped[1]):
                    self.origins.add(unwrapped[0])
                    return [unwrapped[0], *unwrapped[1]]
            elif is_client_envelope(frames):
                return frames
            self._log.warning("dropping malformed %s request (%d frames)", source, len(frames))

    def _next_request(self) -> tuple[list[bytes], str] | None:
        """What to route next: a waiting request, a peer's (only with a local worker idle),
        then a local client's (with local or cloud capacity)."""
        for index, (frames, source) in enumerate(self.pending):
            if self.idle or (source == "local" and self.cloud_capacity() > 0):
                del self.pending[index]
                return frames, source
        if self.pending:
            return None  # first come, first served: nothing newer jumps the queue
        if self.idle:
            frames = self._read_request(self._cloudfe, "cloud")
            if frames is not None:
                return frames, "cloud"
        if self.idle or self.cloud_capacity() > 0:
            frames = self._read_request(self._frontend, "local")
            if frames is not None:
                return frames, "local"
        return None

    # -- loop --------------------------------------------------------------------

    def _drain(self, sock: zmq.Socket, handle: Callable[[list[bytes]], None]) -> None:
        for _ in range(BATCH):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            handle(frames)

    def poll_once(self) -> None:
        """One turn: wait for input (bounded), handle replies and state, route, publish."""
        now = self._clock()
        self.expire(now)
        poller = zmq.Poller()
        for sock in (self._backend, self._cloudbe, self._statefe):
            poller.register(sock, zmq.POLLIN)
        if not self.pending:
            if self.idle:
                poller.register(self._cloudfe, zmq.POLLIN)
            if self.idle or self.cloud_capacity() > 0:
                poller.register(self._frontend, zmq.POLLIN)
        wait_ms = min(MAX_POLL_MS, max(0, int((self._publish_at - now) * 1000)))
        if self.pending and (self.idle or self.cloud_capacity() > 0):
            wait_ms = 0
        events = dict(poller.poll(wait_ms))
        if self._backend in events:
            self._drain(self._backend, self._on_backend)
        if self._cloudbe in events:
            self._drain(self._cloudbe, self._on_cloud_reply)
        if self._statefe in events:
            now = self._clock()
            self._drain(self._statefe, lambda frames: self._on_state(frames, now))
        for _ in range(BATCH):
            request = self._next_request()
            if request is None:
                break
            self._route(*request)
        self._publish(self._clock())

    def close(self) -> None:
        for sock in (self._cloudfe, self._cloudbe, self._statebe, self._statefe):
            sock.close(linger=0)
        super().close()


def main(broker_class: type[PeeringBroker] = PeeringBroker,
         description: str = "Peering broker (Guide ch. 3, prototype 3): local LRU routing, "
                            "capacity shared over PUB/SUB, overflow to a peer over "
                            "ROUTER-to-ROUTER.") -> int:
    """The broker CLI; the negative controls (tests/negative) run it with their broken class."""
    p = role.parser(description)
    role.add_bind(p, "frontend", "backend", "cloud", "state")
    role.add_connect(p, "peers' cloud ROUTERs")
    p.add_argument("--connect-state", action="append", default=None, metavar="ENDPOINT",
                   help="endpoint of a peer's state publisher (repeatable)")
    p.add_argument("--name", default=None,
                   help="this broker's name on the cloud and state flows (default: the node "
                        "name); must differ from every peer's")
    p.add_argument("--heartbeat-ms", type=int, default=HEARTBEAT_MS,
                   help="state published at least this often (ms)")
    p.add_argument("--liveness", type=int, default=LIVENESS,
                   help="state periods a peer may miss before its capacity counts as 0")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind or len(args.bind) != 4:
        p.error("give --bind four times: frontend, backend, cloud, state")
    name = args.name or trace.node_name("broker")
    broker = broker_class(
        name.encode(), *args.bind,
        peers_cloud=args.connect or [], peers_state=args.connect_state or [],
        heartbeat_ms=args.heartbeat_ms, liveness=args.liveness,
        rng=seeded_rng(trace.node_name(name)), log=log,
    )
    log.info("peering broker %s: frontend %s, backend %s, cloud %s, state %s; %d cloud peers, "
             "%d state peers", name, broker.frontend_endpoint, broker.backend_endpoint,
             broker.cloud_endpoint, broker.state_endpoint, len(args.connect or []),
             len(args.connect_state or []))
    with closing(broker):
        broker.run()
    return 0


if __name__ == "__main__":
    role.run_role(main)
