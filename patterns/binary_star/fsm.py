"""The Binary Star finite-state machine, without sockets.

Keeping the table apart from the reactor means every row of it can be
unit-tested with a fake clock, and a broken variant (the negative control
that fails over without a client vote) differs from the real one in a single
overridable method.

The table is the reactor version of the Guide (PROTOCOLS.md §9):

- PRIMARY / BACKUP are start-up states, waiting to hear the peer;
- ACTIVE serves clients and is left only by process death;
- PASSIVE takes over when its peer restarts (peer says PRIMARY or BACKUP)
  or when a client request (the vote) arrives after the peer has been silent
  for the failover timeout (2 x heartbeat);
- dual active, dual passive, two primaries and two backups are fatal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum


class State(IntEnum):
    """Server states; the numbers are what goes on the wire."""

    PRIMARY = 1
    BACKUP = 2
    ACTIVE = 3
    PASSIVE = 4


class Event(IntEnum):
    """Peer events share the state numbers; CLIENT_REQUEST never goes on the wire."""

    PEER_PRIMARY = 1
    PEER_BACKUP = 2
    PEER_ACTIVE = 3
    PEER_PASSIVE = 4
    CLIENT_REQUEST = 5


class FatalTransition(Exception):
    """The pair is in an impossible configuration; the server must exit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """What the reactor must do after one event."""

    serve: bool  # answer the client request that caused the event
    changed_from: State | None = None  # previous state when the state changed


def parse_state_message(frames: list[bytes]) -> Event | None:
    """The peer event carried by one state message, or None when malformed.

    A state message is exactly one frame holding ``"1"``..``"4"`` in ASCII.
    """
    if len(frames) != 1:
        return None
    try:
        number = int(frames[0].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    if number not in (1, 2, 3, 4):
        return None
    return Event(number)


class BinaryStarFSM:
    """One server's view of the pair.

    ``clock`` returns seconds on a monotonic scale. The failover timeout is
    ``2 * heartbeat``; ``peer_expiry`` starts one failover timeout after
    construction (as the Guide's reactor does) and moves forward on every
    state message from the peer.
    """

    def __init__(
        self,
        primary: bool,
        heartbeat: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if heartbeat <= 0:
            raise ValueError("heartbeat must be positive")
        self.primary = primary
        self.heartbeat = heartbeat
        self.failover_timeout = 2 * heartbeat
        self._clock = clock
        self.state = State.PRIMARY if primary else State.BACKUP
        self.peer_expiry = clock() + self.failover_timeout
        self.fatal: str | None = None

    # -- inputs ---------------------------------------------------------------

    def on_peer_state(self, event: Event) -> Outcome:
        """A state message arrived from the peer: refresh expiry, then run the table."""
        if event is Event.CLIENT_REQUEST:
            raise ValueError("CLIENT_REQUEST is a local event, not a peer state")
        self.peer_expiry = self._clock() + self.failover_timeout
        return self.handle(event)

    def on_client_request(self) -> Outcome:
        """A client request arrived on the frontend (the client's vote)."""
        return self.handle(Event.CLIENT_REQUEST)

    def on_tick(self) -> Outcome:
        """The reactor woke up with nothing to read.

        The real machine changes state only on events, so this does nothing;
        it exists so a deliberately broken variant can fail over on silence
        alone (tests/negative/binary_star_no_vote_server.py).
        """
        return Outcome(serve=False)

    def peer_expired(self) -> bool:
        """True once the peer has been silent for the failover timeout."""
        return self._clock() >= self.peer_expiry

    # -- the table ------------------------------------------------------------

    def handle(self, event: Event) -> Outcome:
        """Apply one event; raise :class:`FatalTransition` on an impossible pair state."""
        if self.fatal is not None:
            raise FatalTransition(f"already failed: {self.fatal}")
        before = self.state
        try:
            serve = self._transition(event)
        except FatalTransition as exc:
            self.fatal = exc.reason
            raise
        changed = before if self.state is not before else None
        return Outcome(serve=serve, changed_from=changed)

    def _transition(self, event: Event) -> bool:
        self._check_same_role(event)
        state = self.state
        if state is State.PRIMARY:
            if event is Event.PEER_BACKUP:
                self.state = State.ACTIVE
            elif event is Event.PEER_ACTIVE:
                self.state = State.PASSIVE
            elif event is Event.CLIENT_REQUEST and self.may_take_over():
                self.state = State.ACTIVE  # no peer heard yet: the vote decides
                return True
            return False
        if state is State.BACKUP:
            if event is Event.PEER_ACTIVE:
                self.state = State.PASSIVE
            return False
        if state is State.ACTIVE:
            if event is Event.PEER_ACTIVE:
                raise FatalTransition("dual active: the peer is ACTIVE too")
            return event is Event.CLIENT_REQUEST
        # PASSIVE
        if event in (Event.PEER_PRIMARY, Event.PEER_BACKUP):
            self.state = State.ACTIVE  # the peer is restarting: take over
            return False
        if event is Event.PEER_PASSIVE:
            raise FatalTransition("dual passive: the peer is PASSIVE too")
        if event is Event.CLIENT_REQUEST and self.may_take_over():
            self.state = State.ACTIVE  # failover, decided by the client's vote
            return True
        return False

    def _check_same_role(self, event: Event) -> None:
        """Two primaries or two backups: a misconfiguration the Guide does not detect."""
        if self.primary and event is Event.PEER_PRIMARY:
            raise FatalTransition("two primaries: the peer is configured as primary too")
        if not self.primary and event is Event.PEER_BACKUP:
            raise FatalTransition("two backups: the peer is configured as backup too")

    def may_take_over(self) -> bool:
        """The voter rule's silence half: a request only counts once the peer expired.

        The negative control overrides this; nothing else should.
        """
        return self.peer_expired()
