"""Frame-level tests of the Majordomo broker (PROTOCOLS.md §5, §6).

The broker runs in a thread of this process; the tests drive it with raw
ROUTER/DEALER/REQ sockets and compare whole messages frame for frame, so any
MDP 0.1 peer built from the RFC would see the same bytes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patterns.majordomo import mdp
from tests.patterns.mdp_helpers import HB_MS, WAIT_S, BrokerThread, connect, recv, register

# Raw test workers do not heartbeat unless a test makes them: the default broker
# tolerates 1 s of silence so they stay registered on a loaded machine; the
# expiry tests use a broker with liveness 3 (150 ms).
LIVENESS = 20
SHORT_LIVENESS = 3
EXPIRY_S = HB_MS * SHORT_LIVENESS / 1000


@pytest.fixture
def broker() -> Iterator[BrokerThread]:
    with BrokerThread(liveness=LIVENESS) as b:
        yield b


@pytest.fixture
def short_broker() -> Iterator[BrokerThread]:
    """A broker that expires a worker after 150 ms of silence."""
    with BrokerThread(liveness=SHORT_LIVENESS) as b:
        yield b


@pytest.fixture
def peers() -> Iterator[zmq.Context]:
    """A context for the test's raw sockets; every socket closed with linger 0."""
    ctx = zmq.Context()
    try:
        yield ctx
    finally:
        ctx.destroy(linger=0)


def dealer(ctx: zmq.Context, endpoint: str) -> zmq.Socket:
    return connect(ctx, zmq.DEALER, endpoint)


def req(ctx: zmq.Context, endpoint: str) -> zmq.Socket:
    return connect(ctx, zmq.REQ, endpoint)


def recv_skipping_heartbeats(sock: zmq.Socket, timeout: float = WAIT_S) -> list[bytes] | None:
    """The next message that is not a broker HEARTBEAT, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        msg = recv(sock, left)
        if msg is None:
            return None
        if msg != mdp.worker_heartbeat():
            return msg
    return None


def mmi(ctx: zmq.Context, endpoint: str, service: bytes, name: bytes) -> list[bytes] | None:
    c = req(ctx, endpoint)
    try:
        c.send_multipart([mdp.C_CLIENT, service, name])
        return recv(c)
    finally:
        c.close(linger=0)


def wait_for_mmi(ctx: zmq.Context, endpoint: str, name: bytes, code: bytes) -> bool:
    """Poll mmi.service until it answers ``code`` (True) or WAIT_S passes (False)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if mmi(ctx, endpoint, mdp.MMI_SERVICE, name) == [mdp.C_CLIENT, mdp.MMI_SERVICE, code]:
            return True
        time.sleep(HB_MS / 1000 / 2)
    return False


# --- client REQUEST / worker REQUEST / worker REPLY / client REPLY ---


def test_request_and_reply_frames_end_to_end(broker: BrokerThread, peers: zmq.Context) -> None:
    worker = register(peers, broker.endpoint)
    assert wait_for_mmi(peers, broker.endpoint, b"echo", mdp.MMI_FOUND)
    client = req(peers, broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, b"echo", b"hello", b"second frame"])

    request = recv_skipping_heartbeats(worker)
    assert request is not None
    assert request[:3] == [b"", mdp.W_WORKER, mdp.W_REQUEST]
    client_address = request[3]
    assert request[4:] == [b"", b"hello", b"second frame"]

    worker.send_multipart(mdp.worker_reply(client_address, [b"world", b"2"]))
    assert recv(client) == [mdp.C_CLIENT, b"echo", b"world", b"2"]


def test_dealer_client_sees_the_empty_delimiter(broker: BrokerThread, peers: zmq.Context) -> None:
    worker = register(peers, broker.endpoint)
    client = dealer(peers, broker.endpoint)
    client.send_multipart(mdp.client_request(b"echo", [b"x"]))
    request = recv_skipping_heartbeats(worker)
    assert request is not None
    worker.send_multipart(mdp.worker_reply(request[3], [b"x"]))
    assert recv(client) == [b"", mdp.C_CLIENT, b"echo", b"x"]


def test_replies_reach_only_their_own_clients(broker: BrokerThread, peers: zmq.Context) -> None:
    worker_a = register(peers, broker.endpoint)
    worker_b = register(peers, broker.endpoint)
    clients = [req(peers, broker.endpoint) for _ in range(2)]
    for i, c in enumerate(clients):
        c.send_multipart([mdp.C_CLIENT, b"echo", b"op-%d" % i])
    got = [recv_skipping_heartbeats(w) for w in (worker_a, worker_b)]
    assert all(g is not None for g in got)
    # answer in reverse order of arrival; each reply must still find its own client
    for w, g in reversed(list(zip((worker_a, worker_b), got, strict=True))):
        assert g is not None
        w.send_multipart(mdp.worker_reply(g[3], [g[5]]))
    for i, c in enumerate(clients):
        assert recv(c) == [mdp.C_CLIENT, b"echo", b"op-%d" % i]


def test_request_waits_for_a_worker_then_is_dispatched(
    broker: BrokerThread, peers: zmq.Context
) -> None:
    client = req(peers, broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, b"late", b"queued"])
    time.sleep(2 * HB_MS / 1000)  # not synchronisation: just let the request sit queued
    worker = register(peers, broker.endpoint, b"late")
    request = recv_skipping_heartbeats(worker)
    assert request is not None and request[-1] == b"queued"


def test_lru_worker_gets_the_next_request(broker: BrokerThread, peers: zmq.Context) -> None:
    first = register(peers, broker.endpoint)
    assert wait_for_mmi(peers, broker.endpoint, b"echo", mdp.MMI_FOUND)
    second = register(peers, broker.endpoint)
    # make sure the broker has seen `second` before the request arrives
    second.send_multipart(mdp.worker_heartbeat())
    time.sleep(HB_MS / 1000)
    client = req(peers, broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, b"echo", b"r1"])
    assert recv_skipping_heartbeats(first) is not None
    assert recv_skipping_heartbeats(second, timeout=3 * HB_MS / 1000) is None


# --- heartbeats ---


def test_broker_heartbeats_idle_and_busy_workers(broker: BrokerThread, peers: zmq.Context) -> None:
    worker = register(peers, broker.endpoint)
    assert recv(worker) == [b"", mdp.W_WORKER, mdp.W_HEARTBEAT]
    client = req(peers, broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, b"echo", b"busy"])
    assert recv_skipping_heartbeats(worker) is not None
    # now busy: heartbeats keep coming
    assert recv(worker) == [b"", mdp.W_WORKER, mdp.W_HEARTBEAT]


# --- DISCONNECT rules (§5.5) ---


def test_second_ready_is_answered_with_disconnect(broker: BrokerThread, peers: zmq.Context) -> None:
    worker = register(peers, broker.endpoint)
    worker.send_multipart(mdp.worker_ready(b"echo"))
    assert recv_skipping_heartbeats(worker) == [b"", mdp.W_WORKER, mdp.W_DISCONNECT]
    # and the worker is forgotten: no work and no heartbeats any more
    client = req(peers, broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, b"echo", b"nope"])
    assert recv(worker, timeout=4 * HB_MS / 1000) is None
    assert wait_for_mmi(peers, broker.endpoint, b"echo", mdp.MMI_NOT_FOUND)


@pytest.mark.parametrize("service", [b"mmi.service", b"mmi.anything", b"mmi."])
def test_ready_for_mmi_namespace_is_refused(
    broker: BrokerThread, peers: zmq.Context, service: bytes
) -> None:
    worker = register(peers, broker.endpoint, service)
    assert recv(worker) == [b"", mdp.W_WORKER, mdp.W_DISCONNECT]
    assert recv(worker, timeout=3 * HB_MS / 1000) is None  # not registered: no heartbeats


@pytest.mark.parametrize(
    "message",
    [
        mdp.worker_heartbeat(),
        mdp.worker_reply(b"\x00abcd", [b"stray"]),
    ],
    ids=["heartbeat", "reply"],
)
def test_unknown_worker_gets_disconnect(
    broker: BrokerThread, peers: zmq.Context, message: list[bytes]
) -> None:
    stranger = dealer(peers, broker.endpoint)
    stranger.send_multipart(message)
    assert recv(stranger) == [b"", mdp.W_WORKER, mdp.W_DISCONNECT]


def test_disconnect_from_worker_is_silent_and_final(
    broker: BrokerThread, peers: zmq.Context
) -> None:
    worker = register(peers, broker.endpoint)
    assert wait_for_mmi(peers, broker.endpoint, b"echo", mdp.MMI_FOUND)
    worker.send_multipart(mdp.worker_disconnect())
    assert wait_for_mmi(peers, broker.endpoint, b"echo", mdp.MMI_NOT_FOUND)
    client = req(peers, broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, b"echo", b"x"])
    # drain anything sent before the DISCONNECT was processed, then expect silence
    deadline = time.monotonic() + 4 * HB_MS / 1000
    while (msg := recv(worker, timeout=max(0.0, deadline - time.monotonic()))) is not None:
        assert msg == mdp.worker_heartbeat()


def test_disconnect_from_busy_worker_does_not_break_the_broker(
    broker: BrokerThread, peers: zmq.Context
) -> None:
    worker = register(peers, broker.endpoint)
    client = req(peers, broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, b"echo", b"1"])
    assert recv_skipping_heartbeats(worker) is not None
    worker.send_multipart(mdp.worker_disconnect())  # the Guide's broker crashed here
    other = register(peers, broker.endpoint)
    client2 = req(peers, broker.endpoint)
    client2.send_multipart([mdp.C_CLIENT, b"echo", b"2"])
    request = recv_skipping_heartbeats(other)
    assert request is not None and request[-1] == b"2"


def test_reply_for_a_request_the_worker_does_not_hold_is_refused(
    broker: BrokerThread, peers: zmq.Context
) -> None:
    worker = register(peers, broker.endpoint)
    client = req(peers, broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, b"echo", b"1"])
    request = recv_skipping_heartbeats(worker)
    assert request is not None
    worker.send_multipart(mdp.worker_reply(b"\x00fake", [b"1"]))  # wrong client address
    assert recv_skipping_heartbeats(worker) == [b"", mdp.W_WORKER, mdp.W_DISCONNECT]
    assert recv(client, timeout=3 * HB_MS / 1000) is None


# --- purge and expiry ---


def test_silent_worker_behind_a_live_one_is_purged_and_never_dispatched(
    short_broker: BrokerThread, peers: zmq.Context
) -> None:
    live = register(peers, short_broker.endpoint)
    assert wait_for_mmi(peers, short_broker.endpoint, b"echo", mdp.MMI_FOUND)
    silent = register(peers, short_broker.endpoint)
    deadline = time.monotonic() + 3 * EXPIRY_S
    silent_got: list[list[bytes]] = []
    while time.monotonic() < deadline:  # `live` answers heartbeats, `silent` stays silent
        msg = recv(live, timeout=HB_MS / 1000)
        if msg is not None:
            live.send_multipart(mdp.worker_heartbeat())
        while silent.poll(0):
            silent_got.append(silent.recv_multipart())
    assert [b"", mdp.W_WORKER, mdp.W_DISCONNECT] in silent_got, "expired worker not told"
    client = req(peers, short_broker.endpoint)
    for i in range(3):
        client.send_multipart([mdp.C_CLIENT, b"echo", b"%d" % i])
        request = recv_skipping_heartbeats(live)
        assert request is not None and request[-1] == b"%d" % i
        live.send_multipart(mdp.worker_reply(request[3], [request[-1]]))
        assert recv(client) == [mdp.C_CLIENT, b"echo", b"%d" % i]
    while silent.poll(0):
        assert silent.recv_multipart()[2] != mdp.W_REQUEST


def test_busy_worker_that_falls_silent_expires(
    short_broker: BrokerThread, peers: zmq.Context
) -> None:
    worker = register(peers, short_broker.endpoint)
    client = req(peers, short_broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, b"echo", b"stuck"])
    assert recv_skipping_heartbeats(worker) is not None
    assert wait_for_mmi(peers, short_broker.endpoint, b"echo", mdp.MMI_NOT_FOUND)


# --- MMI (§6) ---


def test_mmi_codes(broker: BrokerThread, peers: zmq.Context) -> None:
    ep = broker.endpoint
    assert mmi(peers, ep, mdp.MMI_SERVICE, b"echo") == [mdp.C_CLIENT, mdp.MMI_SERVICE, b"404"]
    worker = register(peers, ep)
    assert wait_for_mmi(peers, ep, b"echo", b"200")
    assert mmi(peers, ep, b"mmi.nosuch", b"echo") == [mdp.C_CLIENT, b"mmi.nosuch", b"501"]
    worker.close(linger=0)


def test_mmi_is_404_for_a_service_only_clients_asked_for(
    broker: BrokerThread, peers: zmq.Context
) -> None:
    client = req(peers, broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, b"nosuch", b"x"])  # creates a queue, no worker
    time.sleep(HB_MS / 1000)
    assert mmi(peers, broker.endpoint, mdp.MMI_SERVICE, b"nosuch")[-1] == b"404"  # type: ignore[index]


def test_mmi_goes_404_when_the_only_worker_expires(
    short_broker: BrokerThread, peers: zmq.Context
) -> None:
    worker = register(peers, short_broker.endpoint)  # never heartbeats
    assert wait_for_mmi(peers, short_broker.endpoint, b"echo", b"200")
    assert wait_for_mmi(peers, short_broker.endpoint, b"echo", b"404")
    worker.close(linger=0)


@pytest.mark.parametrize("service", [b"mmi", b"image", b"mmiservice", b"i.m"])
def test_names_that_only_look_like_mmi_are_ordinary_services(
    broker: BrokerThread, peers: zmq.Context, service: bytes
) -> None:
    worker = register(peers, broker.endpoint, service)
    assert recv(worker) == mdp.worker_heartbeat()  # registered, not refused
    client = req(peers, broker.endpoint)
    client.send_multipart([mdp.C_CLIENT, service, b"hi"])
    request = recv_skipping_heartbeats(worker)
    assert request is not None and request[-1] == b"hi"


# --- robustness ---

MALFORMED = [
    [b""],
    [b"garbage"],
    [b"", mdp.C_CLIENT],
    [b"", mdp.C_CLIENT, b"echo"],  # no body (crashed the Guide's broker)
    [b"", b"MDPC02", b"echo", b"x"],
    [b"", b"MDPW02", mdp.W_READY, b"echo"],
    [b"", mdp.W_WORKER],
    [b"", mdp.W_WORKER, b"\x09"],
    [b"", mdp.W_WORKER, mdp.W_REQUEST, b"c", b"", b"x"],
    [b"", mdp.W_WORKER, mdp.W_READY],
    [b"", mdp.W_WORKER, mdp.W_READY, b""],
    [b"", mdp.W_WORKER, mdp.W_REPLY, b"c"],
    [b"", mdp.W_WORKER, mdp.W_HEARTBEAT, b"extra"],
    [b"x", mdp.C_CLIENT, b"echo", b"x"],
]


def assert_still_serves(ctx: zmq.Context, endpoint: str, tag: bytes) -> None:
    worker = register(ctx, endpoint, b"check")
    client = req(ctx, endpoint)
    try:
        client.send_multipart([mdp.C_CLIENT, b"check", tag])
        request = recv_skipping_heartbeats(worker)
        assert request is not None and request[-1] == tag
        worker.send_multipart(mdp.worker_reply(request[3], [tag]))
        assert recv(client) == [mdp.C_CLIENT, b"check", tag]
    finally:
        worker.send_multipart(mdp.worker_disconnect())
        worker.close(linger=0)
        client.close(linger=0)


def test_malformed_messages_are_dropped(broker: BrokerThread, peers: zmq.Context) -> None:
    s = dealer(peers, broker.endpoint)
    for message in MALFORMED:
        s.send_multipart(message)
    assert_still_serves(peers, broker.endpoint, b"after-malformed")


def test_malformed_message_from_a_known_worker_disconnects_it(
    broker: BrokerThread, peers: zmq.Context
) -> None:
    worker = register(peers, broker.endpoint)
    worker.send_multipart([b"", mdp.W_WORKER, b"\x09"])
    assert recv_skipping_heartbeats(worker) == [b"", mdp.W_WORKER, mdp.W_DISCONNECT]


frames = st.lists(
    st.one_of(
        st.sampled_from(
            [b"", mdp.C_CLIENT, mdp.W_WORKER, b"echo", b"mmi.service", *mdp.COMMAND_NAMES]
        ),
        st.binary(max_size=12),
    ),
    min_size=1,
    max_size=7,
)


@pytest.fixture(scope="module")
def shared_broker() -> Iterator[BrokerThread]:
    with BrokerThread(liveness=LIVENESS) as b:
        yield b


def fuzz_router(ctx: zmq.Context, endpoint: str) -> zmq.Socket:
    """A ROUTER connected to the broker that names the broker ``b"BROKER"`` on its side."""
    r = ctx.socket(zmq.ROUTER)
    r.linger = 0
    r.setsockopt(zmq.ROUTER_MANDATORY, 1)
    r.setsockopt(zmq.CONNECT_ROUTING_ID, b"BROKER")
    r.connect(endpoint)
    return r


def send_when_connected(router: zmq.Socket, message: list[bytes]) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            router.send_multipart([b"BROKER", *message], zmq.NOBLOCK)
            return
        except zmq.ZMQError:  # EHOSTUNREACH until the connection is up
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(messages=st.lists(st.tuples(st.booleans(), frames), min_size=1, max_size=12))
def test_random_messages_never_break_the_broker(
    shared_broker: BrokerThread, messages: list[tuple[bool, list[bytes]]]
) -> None:
    ctx = zmq.Context()
    try:
        from_dealer = dealer(ctx, shared_broker.endpoint)
        from_router = fuzz_router(ctx, shared_broker.endpoint)
        for via_router, message in messages:
            if via_router:
                send_when_connected(from_router, message)
            else:
                from_dealer.send_multipart(message)
        assert_still_serves(ctx, shared_broker.endpoint, b"after-fuzz")
    finally:
        ctx.destroy(linger=0)


def test_after_a_broker_restart_a_heartbeat_is_answered_with_disconnect(
    peers: zmq.Context,
) -> None:
    first = BrokerThread(liveness=LIVENESS)
    endpoint = first.endpoint
    worker = register(peers, endpoint)
    try:
        assert recv(worker) == mdp.worker_heartbeat()  # registered with the first broker
    finally:
        first.stop()  # a crash: no farewell DISCONNECT
    second = BrokerThread(endpoint, liveness=LIVENESS)
    try:
        # the DEALER reconnects by itself; its heartbeats reach a broker that never saw READY
        deadline = time.monotonic() + WAIT_S
        answer = None
        while answer != mdp.worker_disconnect() and time.monotonic() < deadline:
            worker.send_multipart(mdp.worker_heartbeat())
            # skip heartbeats the first broker queued before it died
            answer = recv_skipping_heartbeats(worker, timeout=HB_MS / 1000)
        assert answer == [b"", mdp.W_WORKER, mdp.W_DISCONNECT]
        # a fresh connection that sends READY is registered again
        again = register(peers, endpoint)
        assert recv(again) == mdp.worker_heartbeat()
    finally:
        second.stop()
