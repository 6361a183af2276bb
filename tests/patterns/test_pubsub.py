"""Pub-sub: the envelope, the publisher and subscriber classes, and the role CLIs as processes."""

from __future__ import annotations

import signal
import time

import pytest
import zmq

from patterns.common.streams import SocketLimits
from patterns.pubsub import envelope
from patterns.pubsub.publisher import Publisher
from patterns.pubsub.subscriber import CONTROL, DELIVERED, ENDED, UNTRACKED, Subscriber
from tests.patterns.procs import Procs, free_endpoint, help_text, stop, wait_for, wait_until

# -- the wire format ----------------------------------------------------------------


def test_envelope_round_trip() -> None:
    frames = envelope.encode(b"10001", b"pub", 3, 17, b"10001 20 30")
    assert frames == [b"10001", b"pub", b"3:17", b"10001 20 30"]
    assert envelope.decode(frames) == envelope.Stamp(b"10001", b"pub", 3, 17)


@pytest.mark.parametrize("frames", [
    [b"10001 20 30"],  # the Guide's wuserver
    [b"Rhubarb"],  # the Guide's syncpub
    [b"a", b"b", b"c"],
    [b"t", b"p", b"x:1", b"d"],
    [b"t", b"p", b"1-2", b"d"],
    [b"t", b"p", b"1:", b"d"],
    [b"t", b"p", b"1:2", b"d", b"extra"],
])
def test_foreign_frames_do_not_decode(frames: list[bytes]) -> None:
    assert envelope.decode(frames) is None


def test_weather_and_topics() -> None:
    assert envelope.weather(10001, -5, 40) == b"10001 -5 40"
    assert envelope.weather(7, 1, 2, size=12) == b"00007 1 2   "
    assert envelope.parse_topics("10001, 10002,,") == [b"10001", b"10002"]
    assert envelope.parse_topics("") == [b""]
    assert envelope.matches("10001", ["1"]) and not envelope.matches("20001", ["1", "3"])


# -- classes in one process -----------------------------------------------------------


@pytest.fixture
def ctx():
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def _drain(sub: Subscriber, want: int, timeout: float = 5.0) -> list[str]:
    outcomes: list[str] = []
    deadline = time.monotonic() + timeout
    while len([o for o in outcomes if o == DELIVERED]) < want and time.monotonic() < deadline:
        outcome = sub.receive(50)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def test_publisher_numbers_each_topic_and_subscriber_filters(ctx, tmp_path, monkeypatch) -> None:
    trace = tmp_path / "t.jsonl"
    monkeypatch.setenv("ZCHAOS_TRACE", str(trace))
    monkeypatch.setenv("ZCHAOS_NODE", "n")
    endpoint = free_endpoint()
    pub = Publisher([endpoint], topics=[b"10001", b"10002"], publisher_id=b"p", epoch=4,
                    context=ctx)
    sub = Subscriber([endpoint], topics=[b"10002"], context=ctx)
    try:
        # publish until the subscription has arrived (the slow joiner), then some more
        assert wait_until(lambda: (pub.publish_next(), sub.receive(5))[1] == DELIVERED, 5.0)
        for _ in range(10):
            pub.publish_next()
        assert _drain(sub, 5) == [DELIVERED] * 5
        assert pub.seqs[b"10001"] == pub.seqs[b"10002"] or abs(
            pub.seqs[b"10001"] - pub.seqs[b"10002"]) == 1
    finally:
        sub.close()
        pub.close()
    delivered = [line for line in trace.read_text().splitlines() if '"deliver"' in line]
    assert delivered and all('"topic":"10002"' in line and '"epoch":4' in line
                             for line in delivered)


def test_subscriber_counts_foreign_messages_and_stops_at_end(ctx) -> None:
    sub = Subscriber([free_endpoint()], topics=[b""], context=ctx)
    try:
        assert sub.handle([b"10001 20 30"]) == UNTRACKED
        assert sub.handle([b"x", b"y", b"z"]) == UNTRACKED
        assert sub.handle([envelope.HELLO]) == CONTROL
        assert sub.handle(envelope.encode(b"t", b"p", 0, 1, b"d")) == DELIVERED
        assert sub.handle([envelope.END]) == ENDED
        assert (sub.delivered, sub.untracked) == (1, 2)
    finally:
        sub.close()


def test_hwm_reaches_every_socket(ctx) -> None:
    endpoint = free_endpoint()
    pub = Publisher([endpoint], topics=[b"t"], publisher_id=b"p",
                    limits=SocketLimits(hwm=7, buffer=65536), context=ctx)
    sub = Subscriber([endpoint], topics=[b"t"], limits=SocketLimits(hwm=9), context=ctx)
    try:
        assert pub.socket.getsockopt(zmq.SNDHWM) == 7 and pub.socket.getsockopt(zmq.RCVHWM) == 7
        assert pub.socket.getsockopt(zmq.SNDBUF) == 65536
        assert sub.socket.getsockopt(zmq.RCVHWM) == 9
        assert sub.socket.getsockopt(zmq.RCVBUF) in (-1, 0)  # the OS default
    finally:
        sub.close()
        pub.close()


# -- role processes -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["publisher", "subscriber", "proxy", "syncpub", "syncsub"])
def test_every_role_documents_its_options(role: str) -> None:
    text = help_text(f"patterns.pubsub.{role}")
    assert "--hwm" in text and "--buffer" in text and "--verbose" in text


@pytest.mark.slow
def test_publisher_proxy_subscriber_end_to_end(tmp_path) -> None:
    pub_ep, proxy_ep = free_endpoint(), free_endpoint()
    with Procs(tmp_path) as procs:
        procs.spawn("pub", ["-m", "patterns.pubsub.publisher", "--bind", pub_ep, "--rate", "500",
                            "--messages", "600", "--topics", "1,2,3"])
        procs.spawn("proxy", ["-m", "patterns.pubsub.proxy", "--bind", proxy_ep, "--connect",
                              pub_ep])
        some = procs.spawn("some", ["-m", "patterns.pubsub.subscriber", "--connect", proxy_ep,
                                    "--topics", "2"])
        every = procs.spawn("all", ["-m", "patterns.pubsub.subscriber", "--connect", pub_ep])
        wait_for(lambda: some.poll() is not None and every.poll() is not None, 20,
                 "both subscribers to exit on END")
        assert some.returncode == 0 and every.returncode == 0
        got = procs.events("some", "deliver")
        assert got and {e["topic"] for e in got} == {"2"}
        seqs = [e["seq"] for e in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert procs.events("all", "end") and procs.events("some", "end")
        assert "END received" in procs.log("all")


@pytest.mark.slow
def test_sync_publisher_waits_for_its_subscribers(tmp_path) -> None:
    pub_ep, sync_ep = free_endpoint(), free_endpoint()
    with Procs(tmp_path) as procs:
        pub = procs.spawn("pub", ["-m", "patterns.pubsub.syncpub", "--bind", pub_ep, "--bind",
                                  sync_ep, "--subscribers", "2", "--messages", "300",
                                  "--rate", "0"])
        def syncsub(name: str):
            return procs.spawn(name, ["-m", "patterns.pubsub.syncsub", "--connect", pub_ep,
                                      "--connect", sync_ep])

        subs = [syncsub("s1")]
        wait_for(lambda: procs.events("s1", "sync"), 10, "the first subscriber to sync")
        assert not procs.events(kind="publish")  # one subscriber is not enough
        subs.append(syncsub("s2"))
        wait_for(lambda: all(s.poll() is not None for s in subs), 20, "subscribers to finish")
        assert [s.returncode for s in subs] == [0, 0]
        for name in ("s1", "s2"):
            sync = procs.events(name, "sync")
            assert sync and sync[0]["hello"] is True
            got = procs.events(name, "deliver")
            assert len(got) == 300, name  # zero loss after the handshake, even unpaced
            assert sync[0]["t"] <= got[0]["t"]
        assert stop(pub) == 0


@pytest.mark.slow
def test_roles_exit_zero_on_sigterm_and_survive_garbage(tmp_path) -> None:
    pub_ep, proxy_ep = free_endpoint(), free_endpoint()
    with Procs(tmp_path) as procs:
        proxy = procs.spawn("proxy", ["-m", "patterns.pubsub.proxy", "--bind", proxy_ep,
                                      "--connect", pub_ep])
        sub = procs.spawn("sub", ["-m", "patterns.pubsub.subscriber", "--connect", pub_ep])
        wait_for(lambda: procs.events("sub", "subscribe"), 10, "the subscriber")
        ctx = zmq.Context()
        try:
            garbage = ctx.socket(zmq.PUB)
            garbage.linger = 0
            garbage.bind(pub_ep)
            wait_until(lambda: (garbage.send_multipart([b"x", b"\xff"]),
                                procs.events("sub", "deliver"))[1], 5.0)
            garbage.close()
        finally:
            ctx.destroy(linger=0)
        assert procs.events("sub", "deliver")[0]["untracked"] is True
        assert sub.poll() is None
        assert stop(sub, signal.SIGTERM) == 0
        assert stop(proxy, signal.SIGTERM) == 0

