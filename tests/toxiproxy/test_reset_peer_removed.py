"""reset_peer removed during its countdown still resets the connection it owes a reset.

Toxiproxy's reset_peer waits out its timeout uninterruptibly once data
arrived, so the connection is reset even if the toxic is removed meanwhile.
The embedded server used to forget the reset (the data was already
swallowed), which left a ZeroMQ connection silently dead: found by
``zchaos explore`` (a one-way cut and a reset_peer on one link, both
removed), see docs/explore.md.
"""

from __future__ import annotations

import asyncio

import pytest
from test_handover import (
    FakeSide,
    FakeTransport,
    RecordingConnection,
    _loop_factories,
    run_on,
    until,
)

from harness.toxiproxy.link import Counters, Link
from harness.toxiproxy.spec import ToxicSpec


@pytest.mark.parametrize("loop_factory", _loop_factories())
def test_a_removed_reset_peer_still_resets_the_connection(loop_factory):
    async def scenario() -> None:
        conn = RecordingConnection()
        link = Link("upstream", Counters(), conn.link_ended)
        link.src = FakeSide(FakeTransport())  # type: ignore[assignment]
        link.dst = FakeSide(FakeTransport())  # type: ignore[assignment]
        link.roll(ToxicSpec("reset", "reset_peer", "upstream", 1.0, {"timeout": 5000}))
        link.start()
        link.feed(b"greeting")  # swallowed: the countdown begins
        await until(lambda: not link._input)
        assert link.forget("reset") is not None
        await link.rebuild()
        await until(lambda: conn.closed != [], timeout=3)
        assert conn.closed == ["reset"]  # at once, not 5 s later, and not never

    run_on(loop_factory, scenario())


@pytest.mark.parametrize("loop_factory", _loop_factories())
def test_an_untouched_reset_peer_removed_resets_nothing(loop_factory):
    async def scenario() -> None:
        conn = RecordingConnection()
        link = Link("upstream", Counters(), conn.link_ended)
        link.src = FakeSide(FakeTransport())  # type: ignore[assignment]
        link.dst = FakeSide(FakeTransport())  # type: ignore[assignment]
        link.roll(ToxicSpec("reset", "reset_peer", "upstream", 1.0, {"timeout": 50}))
        link.start()
        assert link.forget("reset") is not None
        await link.rebuild()
        link.feed(b"after")
        await asyncio.sleep(0.2)
        assert conn.closed == []

    run_on(loop_factory, scenario())
