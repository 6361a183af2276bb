"""Regressions: bytes in flight keep their order when a link changes hands.

Two moments hand a stream from one path to another while bytes are in
flight: the upstream connect completing (bytes read while it was pending
wait in front of the toxic chain and must pass it, first, once the link
starts), and the toxic chain being rebuilt (what a toxic holds mid-chunk
must leave before anything newer). The live tests use a
slicer with a long pause between pieces so that pieces are certainly in
flight when the change lands; the unit tests drive a :class:`Link` directly
so that the connect window is hit every time, on both event loops.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from tpx_support import Record, recorder, recv_until_eof, wait_until

from harness.toxiproxy.channel import EOF
from harness.toxiproxy.link import Counters, Link
from harness.toxiproxy.spec import ToxicSpec

SLOW_SLICER = {"average_size": 100, "size_variation": 0, "delay": 4000}  # 100 B per 4 ms


# ---------------------------------------------------------------- a Link on its own
class FakeTransport:
    """Records what is written; refuses data after the end of stream, like asyncio."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.eof = False
        self.writes = 0

    def write(self, data: bytes) -> None:
        assert not self.eof, "write after write_eof"
        self.out += data
        self.writes += 1

    def is_closing(self) -> bool:
        return False

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class FakeSide:
    def __init__(self, transport: FakeTransport | None) -> None:
        self.transport = transport


class FakeConnection:
    """The owner of a link under test: a half-close is fine, any closing fails the test."""

    def link_ended(self, link: Link, how: str) -> None:
        if how != "fin":
            self.close(how)

    def close(self, mode: str) -> None:
        raise AssertionError(f"connection closed ({mode})")


class RecordingConnection(FakeConnection):
    def __init__(self) -> None:
        self.closed: list[str] = []

    def close(self, mode: str) -> None:
        self.closed.append(mode)


def _loop_factories() -> list[Any]:
    factories: list[Any] = [pytest.param(asyncio.new_event_loop, id="asyncio")]
    try:
        import uvloop
    except ImportError:
        return factories
    return [*factories, pytest.param(uvloop.new_event_loop, id="uvloop")]


def run_on(
    factory: Callable[[], asyncio.AbstractEventLoop], coro: Coroutine[Any, Any, None]
) -> None:
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(asyncio.wait_for(coro, 20))


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    """Bounded wait on a condition, inside the loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.001)


def pending_link(*toxics: tuple[str, dict[str, int]]) -> tuple[Link, FakeSide]:
    """An upstream link whose destination is still connecting (not started), with ``toxics``."""
    link = Link("upstream", Counters(), FakeConnection().link_ended)
    link.src = FakeSide(FakeTransport())  # type: ignore[assignment]
    dst = FakeSide(None)
    link.dst = dst  # type: ignore[assignment]
    for i, (type_, attrs) in enumerate(toxics):
        link.roll(ToxicSpec(f"t{i}", type_, "upstream", 1.0, dict(attrs)))
    return link, dst


@pytest.mark.parametrize("loop_factory", _loop_factories())
def test_bytes_read_before_start_go_through_the_toxics(loop_factory):
    """Bytes and FIN read during the connect wait in front of the chain, then pass it in order."""
    payload = os.urandom(2000)

    async def scenario() -> None:
        link, dst = pending_link(("slicer", {**SLOW_SLICER, "delay": 500}))
        link.feed(payload[:1200])
        link.feed(payload[1200:])
        link.feed_end(EOF)
        assert link.toxics["t0"] is not None and not link.toxics["t0"].held  # nothing entered
        transport = FakeTransport()
        dst.transport = transport  # the upstream connect completed
        link.start()
        await until(lambda: transport.eof)
        assert bytes(transport.out) == payload
        assert transport.writes >= 20  # sliced: the toxic applied to the parked bytes

    run_on(loop_factory, scenario())


@pytest.mark.parametrize("loop_factory", _loop_factories())
def test_limit_data_on_parked_bytes_writes_them_before_closing(loop_factory):
    """The race of issue 10: limit_data must not close before its bytes reached upstream."""

    async def scenario() -> None:
        conn = RecordingConnection()
        link = Link("upstream", Counters(), conn.link_ended)
        link.src = FakeSide(FakeTransport())  # type: ignore[assignment]
        dst = FakeSide(None)
        link.dst = dst  # type: ignore[assignment]
        link.roll(ToxicSpec("lim", "limit_data", "upstream", 1.0, {"bytes": 1000}))
        link.feed(os.urandom(5000))
        await asyncio.sleep(0.01)
        assert conn.closed == []  # nothing decided before the connection is up
        transport = FakeTransport()
        dst.transport = transport
        link.start()
        await until(lambda: conn.closed != [])
        assert len(transport.out) == 1000 and conn.closed == ["graceful"]

    run_on(loop_factory, scenario())


@pytest.mark.parametrize("loop_factory", _loop_factories())
def test_toxics_changed_while_parked_apply_at_start(loop_factory):
    """A toxic added and one removed while bytes are parked: the chain at start() applies."""
    payload = os.urandom(3000)

    async def scenario() -> None:
        link, dst = pending_link(("limit_data", {"bytes": 10}))
        link.feed(payload)
        link.forget("t0")
        await link.rebuild()  # not started: nothing to rebuild yet
        link.roll(ToxicSpec("sl", "slicer", "upstream", 1.0, SLOW_SLICER))
        await link.rebuild()
        transport = FakeTransport()
        dst.transport = transport
        link.start()
        link.feed_end(EOF)
        await until(lambda: transport.eof)
        assert bytes(transport.out) == payload and transport.writes >= 30

    run_on(loop_factory, scenario())


# ---------------------------------------------------------------- through the server
def test_first_bytes_before_upstream_connect_keep_order(api, echo):
    """Bytes sent right after connecting, through an upstream slicer, come back in order.

    On uvloop the client's first bytes can be read before the upstream
    connect completes; they must not be overtaken by pieces written while
    the connect finishes.
    """
    host, port = api.create_proxy("early", echo.address)
    api.add_toxic("early", "slicer", "upstream", average_size=73, size_variation=55, delay=54)
    bad = []
    for i in range(25):
        payload = os.urandom(350)
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            if recv_until_eof(sock, timeout=10) != payload:
                bad.append(i)
    assert bad == []


@pytest.fixture
def record_upstream(upstream_factory) -> tuple[Record, str]:
    record = Record()
    return record, upstream_factory(recorder(record)).address


def _send_with_changes(
    api, record: Record, host: str, port: int, payload: bytes, changes: list[Callable[[], None]]
) -> None:
    """Send ``payload`` at once, then apply ``changes`` one by one while pieces are in flight."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(payload)
        for i, change in enumerate(changes):
            seen = len(record.data)
            # a piece got through since the last change, and more are still held
            assert wait_until(lambda s=seen: len(record.data) > s, timeout=5), f"stalled at {i}"
            assert len(record.data) < len(payload), "the stream ended before the change"
            change()
        sock.shutdown(socket.SHUT_WR)
        assert record.eof.wait(15)
    assert record.data == payload


def test_remove_slicer_while_pieces_in_flight(api, record_upstream):
    record, address = record_upstream
    host, port = api.create_proxy("rm", address)
    slicer = api.add_toxic("rm", "slicer", "upstream", **SLOW_SLICER)
    payload = os.urandom(8000)
    _send_with_changes(api, record, host, port, payload, [lambda: api.remove_toxic("rm", slicer)])


def test_toxics_churn_while_pieces_in_flight(api, record_upstream):
    """Add, update and remove around a slicer that holds most of a chunk."""
    record, address = record_upstream
    host, port = api.create_proxy("churn", address)
    api.add_toxic("churn", "latency", "upstream", latency=2)
    slicer = api.add_toxic("churn", "slicer", "upstream", **SLOW_SLICER)
    names: dict[str, str] = {}

    def add(type_: str, **attrs: int) -> Callable[[], None]:
        def do() -> None:
            name = f"{type_}{len(names)}"
            body = {"name": name, "type": type_, "stream": "upstream", "attributes": attrs}
            resp = api.post("/proxies/churn/toxics", json=body)
            assert resp.status_code == 200, resp.text
            names[type_] = name

        return do

    def update(name: Callable[[], str], **attrs: int) -> Callable[[], None]:
        def do() -> None:
            resp = api.post(f"/proxies/churn/toxics/{name()}", json={"attributes": attrs})
            assert resp.status_code == 200, resp.text

        return do

    # a slicer pacing at about 25 KB/s stays on throughout, so that the 40 KB
    # stream outlasts the changes even when API calls are slow
    changes = [
        add("limit_data", bytes=10**9),
        update(lambda: slicer, average_size=37, delay=2000),
        add("bandwidth", rate=1000),
        add("slicer", average_size=50, size_variation=20, delay=2000),
        lambda: api.remove_toxic("churn", "latency_upstream"),
        update(lambda: names["bandwidth"], rate=2000),
        lambda: api.remove_toxic("churn", slicer),
        lambda: api.remove_toxic("churn", names["bandwidth"]),
    ]
    payload = os.urandom(40_000)
    _send_with_changes(api, record, host, port, payload, changes)


def test_downstream_slicer_removed_mid_chunk_echo(api, echo):
    """Both streams sliced; each slicer removed while it holds pieces; the echo is intact."""
    host, port = api.create_proxy("both", echo.address)
    up = api.add_toxic("both", "slicer", "upstream", **SLOW_SLICER)
    down = api.add_toxic("both", "slicer", "downstream", **{**SLOW_SLICER, "average_size": 60})
    payload = os.urandom(6000)
    received: list[bytes] = []
    with socket.create_connection((host, port), timeout=10) as sock:
        reader = threading.Thread(target=lambda: received.append(recv_until_eof(sock, 20)))
        reader.start()
        sock.sendall(payload)
        api.remove_toxic("both", up)
        api.add_toxic("both", "latency", "downstream", latency=3)
        api.remove_toxic("both", down)
        sock.shutdown(socket.SHUT_WR)
        reader.join(30)
    assert not reader.is_alive()
    assert received == [payload]


@pytest.mark.parametrize("loop_factory", _loop_factories())
def test_reset_peer_countdown_survives_a_rebuild(loop_factory):
    """Data started reset_peer's countdown; a rebuild meanwhile must not forget it."""

    async def scenario() -> None:
        conn = RecordingConnection()
        link = Link("upstream", Counters(), conn.link_ended)
        link.src = FakeSide(FakeTransport())  # type: ignore[assignment]
        link.dst = FakeSide(FakeTransport())  # type: ignore[assignment]
        link.roll(ToxicSpec("reset", "reset_peer", "upstream", 1.0, {"timeout": 150}))
        link.start()
        loop = asyncio.get_running_loop()
        began = loop.time()
        link.feed(b"trigger")
        reset = link.toxics["reset"]
        assert reset is not None
        await until(lambda: not link._input)  # the countdown has begun
        link.roll(ToxicSpec("later", "slow_close", "upstream", 1.0, {"delay": 0}))
        await link.rebuild()
        await until(lambda: conn.closed != [], timeout=3)
        assert conn.closed == ["reset"]
        assert 0.14 <= loop.time() - began < 2.0

    run_on(loop_factory, scenario())


@pytest.mark.parametrize("loop_factory", _loop_factories())
def test_bandwidth_does_not_charge_a_requeued_piece_twice(loop_factory):
    """Rebuilds while bandwidth waits must not slow the stream below its rate."""
    payload = os.urandom(3000)  # 300 ms at 10 KB/s, in pieces of 100 ms

    async def scenario() -> None:
        link = Link("upstream", Counters(), FakeConnection().link_ended)
        link.src = FakeSide(FakeTransport())  # type: ignore[assignment]
        transport = FakeTransport()
        link.dst = FakeSide(transport)  # type: ignore[assignment]
        spec = ToxicSpec("bw", "bandwidth", "upstream", 1.0, {"rate": 10})
        link.roll(spec)
        link.start()
        loop = asyncio.get_running_loop()
        began = loop.time()
        link.feed(payload)
        for _ in range(8):  # a rebuild every ~25 ms, while pieces wait their turn
            target = loop.time() + 0.025
            await until(lambda t=target: loop.time() >= t)
            link.reconfigure(spec, toxicity_changed=False)
            await link.rebuild()
        await until(lambda: len(transport.out) == len(payload), timeout=5)
        assert bytes(transport.out) == payload
        # 0.3 s at the rate; each double charge would have added 0.1 s (1.1 s in all)
        assert loop.time() - began < 0.85

    run_on(loop_factory, scenario())


@pytest.mark.parametrize("loop_factory", _loop_factories())
def test_slicer_pauses_average_their_delay(loop_factory):
    """Sub-millisecond pauses are neither skipped (uvloop) nor rounded up to 1 ms (asyncio)."""
    payload = os.urandom(5000)  # 500 pieces of 10 bytes, 100 us after each: 50 ms

    async def scenario() -> None:
        link = Link("upstream", Counters(), FakeConnection().link_ended)
        link.src = FakeSide(FakeTransport())  # type: ignore[assignment]
        transport = FakeTransport()
        link.dst = FakeSide(transport)  # type: ignore[assignment]
        attrs = {"average_size": 10, "size_variation": 0, "delay": 100}
        link.roll(ToxicSpec("sl", "slicer", "upstream", 1.0, attrs))
        link.start()
        loop = asyncio.get_running_loop()
        began = loop.time()
        link.feed(payload)
        await until(lambda: len(transport.out) == len(payload), timeout=10)
        elapsed = loop.time() - began
        assert bytes(transport.out) == payload and transport.writes >= 500
        # one pause per piece honoured on average; 1 ms per pause would be 0.5 s
        # or more (0.68 s measured), skipping them about 0.005 s
        assert 0.045 <= elapsed < 0.45, elapsed

    run_on(loop_factory, scenario())
