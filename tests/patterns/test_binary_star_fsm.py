"""The Binary Star state machine, row by row and under random event sequences."""

from __future__ import annotations

import heapq

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patterns.binary_star.fsm import (
    BinaryStarFSM,
    Event,
    FatalTransition,
    State,
    parse_state_message,
)

S, E = State, Event
FATAL = "fatal"


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# (state, configured primary?, event, peer expired?) -> (next state, serve) or FATAL.
# Written out from PROTOCOLS.md §9 independently of the implementation.
def expected(state: State, primary: bool, event: Event, expired: bool):
    same_role = (primary and event is E.PEER_PRIMARY) or (not primary and event is E.PEER_BACKUP)
    if same_role:
        return FATAL
    table = {
        (S.PRIMARY, E.PEER_BACKUP): (S.ACTIVE, False),
        (S.PRIMARY, E.PEER_ACTIVE): (S.PASSIVE, False),
        (S.PRIMARY, E.PEER_PASSIVE): (S.PRIMARY, False),
        (S.PRIMARY, E.CLIENT_REQUEST): (S.ACTIVE, True) if expired else (S.PRIMARY, False),
        (S.BACKUP, E.PEER_PRIMARY): (S.BACKUP, False),
        (S.BACKUP, E.PEER_ACTIVE): (S.PASSIVE, False),
        (S.BACKUP, E.PEER_PASSIVE): (S.BACKUP, False),
        (S.BACKUP, E.CLIENT_REQUEST): (S.BACKUP, False),
        (S.ACTIVE, E.PEER_PRIMARY): (S.ACTIVE, False),
        (S.ACTIVE, E.PEER_BACKUP): (S.ACTIVE, False),
        (S.ACTIVE, E.PEER_ACTIVE): FATAL,
        (S.ACTIVE, E.PEER_PASSIVE): (S.ACTIVE, False),
        (S.ACTIVE, E.CLIENT_REQUEST): (S.ACTIVE, True),
        (S.PASSIVE, E.PEER_PRIMARY): (S.ACTIVE, False),
        (S.PASSIVE, E.PEER_BACKUP): (S.ACTIVE, False),
        (S.PASSIVE, E.PEER_ACTIVE): (S.PASSIVE, False),
        (S.PASSIVE, E.PEER_PASSIVE): FATAL,
        (S.PASSIVE, E.CLIENT_REQUEST): (S.ACTIVE, True) if expired else (S.PASSIVE, False),
    }
    return table[(state, event)]


CASES = [
    (state, primary, event, expired)
    for state in State
    for primary in (True, False)
    for event in Event
    for expired in (False, True)
    # PRIMARY implies a configured primary, BACKUP a configured backup
    if not (state is S.PRIMARY and not primary) and not (state is S.BACKUP and primary)
]


@pytest.mark.parametrize(("state", "primary", "event", "expired"), CASES)
def test_transition_table(state: State, primary: bool, event: Event, expired: bool) -> None:
    clock = FakeClock()
    fsm = BinaryStarFSM(primary, heartbeat=1.0, clock=clock)
    fsm.state = state
    clock.t += 2.0 if expired else 1.999
    want = expected(state, primary, event, expired)
    if want == FATAL:
        with pytest.raises(FatalTransition):
            fsm.handle(event)
        assert fsm.fatal
        with pytest.raises(FatalTransition):  # a failed machine refuses everything
            fsm.handle(E.PEER_PASSIVE)
        return
    outcome = fsm.handle(event)
    assert (fsm.state, outcome.serve) == want
    assert (outcome.changed_from is not None) == (fsm.state is not state)


def test_initial_states_and_expiry() -> None:
    clock = FakeClock(5.0)
    primary = BinaryStarFSM(True, heartbeat=0.1, clock=clock)
    backup = BinaryStarFSM(False, heartbeat=0.1, clock=clock)
    assert primary.state is S.PRIMARY and backup.state is S.BACKUP
    assert primary.peer_expiry == pytest.approx(5.2)
    assert not primary.peer_expired()
    clock.t = 5.2
    assert primary.peer_expired()


def test_peer_state_refreshes_expiry_before_the_vote() -> None:
    clock = FakeClock()
    fsm = BinaryStarFSM(False, heartbeat=1.0, clock=clock)
    fsm.on_peer_state(E.PEER_ACTIVE)
    assert fsm.state is S.PASSIVE
    clock.t += 1.9
    fsm.on_peer_state(E.PEER_ACTIVE)  # still alive: expiry moves to now + 2
    clock.t += 1.9
    assert not fsm.on_client_request().serve
    assert fsm.state is S.PASSIVE
    clock.t += 0.1
    outcome = fsm.on_client_request()
    assert outcome.serve and fsm.state is S.ACTIVE and outcome.changed_from is S.PASSIVE


def test_silence_alone_never_fails_over() -> None:
    clock = FakeClock()
    fsm = BinaryStarFSM(False, heartbeat=1.0, clock=clock)
    fsm.on_peer_state(E.PEER_ACTIVE)
    clock.t += 60
    assert not fsm.on_tick().serve
    assert fsm.state is S.PASSIVE


def test_client_request_is_not_a_peer_state() -> None:
    fsm = BinaryStarFSM(True, heartbeat=1.0, clock=FakeClock())
    with pytest.raises(ValueError):
        fsm.on_peer_state(E.CLIENT_REQUEST)


@pytest.mark.parametrize(
    ("frames", "event"),
    [
        ([b"1"], E.PEER_PRIMARY),
        ([b"4"], E.PEER_PASSIVE),
        ([b"5"], None),  # CLIENT_REQUEST never travels
        ([b"0"], None),
        ([b"x"], None),
        ([b"\xff"], None),
        ([b""], None),
        ([b"3", b"3"], None),
        ([], None),
    ],
)
def test_parse_state_message(frames: list[bytes], event: Event | None) -> None:
    assert parse_state_message(frames) == event


# -- properties of one machine under arbitrary inputs ---------------------------

steps = st.lists(
    st.tuples(st.sampled_from(list(Event)), st.floats(min_value=0, max_value=3)),
    max_size=60,
)

ALLOWED_EDGES = {
    (S.PRIMARY, S.ACTIVE), (S.PRIMARY, S.PASSIVE), (S.BACKUP, S.PASSIVE), (S.PASSIVE, S.ACTIVE),
}


@given(primary=st.booleans(), script=steps)
@settings(max_examples=300, deadline=None)
def test_random_sequences_keep_the_invariants(primary: bool, script) -> None:
    clock = FakeClock()
    fsm = BinaryStarFSM(primary, heartbeat=1.0, clock=clock)
    was_active = False
    for event, dt in script:
        clock.t += dt
        before = fsm.state
        expired_before = fsm.peer_expired()
        try:
            outcome = (fsm.on_client_request() if event is E.CLIENT_REQUEST
                       else fsm.on_peer_state(event))
        except FatalTransition:
            assert fsm.fatal is not None
            with pytest.raises(FatalTransition):
                fsm.on_client_request()
            return
        # serving only while ACTIVE, and a BACKUP never serves
        assert not outcome.serve or fsm.state is S.ACTIVE
        assert not (before is S.BACKUP and outcome.serve)
        # ACTIVE is never left (except by a fatal exit)
        if was_active:
            assert fsm.state is S.ACTIVE
        was_active = fsm.state is S.ACTIVE
        if fsm.state is not before:
            assert (before, fsm.state) in ALLOWED_EDGES
        # a vote makes a server active only once the peer has been silent long enough
        if event is E.CLIENT_REQUEST and before is not S.ACTIVE and fsm.state is S.ACTIVE:
            assert expired_before


# -- two machines exchanging state over a healthy link --------------------------


def simulate_pair(start_primary: float, start_backup: float, delays: list[float],
                  votes: list[tuple[float, int]], horizon: float = 30.0) -> list[State]:
    """Discrete-event run of a pair: each publishes every heartbeat (1.0), each message
    arrives after a delay below one heartbeat, clients vote at the given times.
    Returns the final states; asserts at most one ACTIVE after every event."""
    clock = FakeClock(0.0)
    starts = (start_primary, start_backup)
    fsms: list[BinaryStarFSM | None] = [None, None]
    queue: list[tuple[float, int, str, int, int]] = []
    counter = 0

    def push(t: float, kind: str, node: int, value: int = 0) -> None:
        nonlocal counter
        counter += 1
        heapq.heappush(queue, (t, counter, kind, node, value))

    for node, t in enumerate(starts):
        push(t, "start", node)
    for t, node in votes:
        push(t, "vote", node)
    delay_index = 0
    while queue:
        t, _, kind, node, value = heapq.heappop(queue)
        if t > horizon:
            break
        clock.t = t
        fsm = fsms[node]
        if kind == "start":
            fsms[node] = BinaryStarFSM(node == 0, heartbeat=1.0, clock=clock)
            push(t, "publish", node)
        elif fsm is None:
            continue  # not started yet: messages and votes are lost
        elif kind == "publish":
            delay = delays[delay_index % len(delays)] if delays else 0.0
            delay_index += 1
            push(t + delay, "deliver", 1 - node, int(fsm.state))
            push(t + 1.0, "publish", node)
        elif kind == "deliver":
            fsm.on_peer_state(Event(value))
        else:
            fsm.on_client_request()
        active = [f for f in fsms if f is not None and f.state is S.ACTIVE]
        assert len(active) <= 1, f"two ACTIVE at t={t}"
    return [f.state for f in fsms if f is not None]


@given(
    start_primary=st.floats(min_value=0, max_value=10),
    start_backup=st.floats(min_value=0, max_value=10),
    delays=st.lists(st.floats(min_value=0, max_value=0.95), min_size=1, max_size=20),
    votes=st.lists(st.tuples(st.floats(min_value=0, max_value=30), st.integers(0, 1)),
                   max_size=40),
)
@settings(max_examples=200, deadline=None)
def test_healthy_pair_never_has_two_active(start_primary, start_backup, delays, votes) -> None:
    final = simulate_pair(start_primary, start_backup, delays, votes)  # never raises fatal
    assert final.count(S.ACTIVE) <= 1


def test_simultaneous_start_ends_primary_active_backup_passive() -> None:
    final = simulate_pair(0.0, 0.0, [0.01], [])
    assert final == [S.ACTIVE, S.PASSIVE]


def test_restarted_primary_becomes_passive() -> None:
    clock = FakeClock()
    restarted = BinaryStarFSM(True, heartbeat=1.0, clock=clock)
    restarted.on_peer_state(E.PEER_ACTIVE)  # the backup took over meanwhile
    assert restarted.state is S.PASSIVE
    survivor = BinaryStarFSM(False, heartbeat=1.0, clock=clock)
    survivor.state = S.ACTIVE
    survivor.on_peer_state(E.PEER_PRIMARY)  # ignored by an ACTIVE backup
    assert survivor.state is S.ACTIVE
