"""Pure pieces: the slicer's cut points, request validation, the bounded channel."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.toxiproxy import errors
from harness.toxiproxy.channel import EOF, Channel, Chunk
from harness.toxiproxy.spec import parse_proxy, parse_toxic, parse_toxic_update
from harness.toxiproxy.toxics.slicer import slice_points


@settings(deadline=None)
@given(
    size=st.integers(0, 20_000),
    average=st.integers(-5, 5000),
    variation=st.integers(-5, 5000),
)
def test_slice_points_cover_the_chunk_without_empty_pieces(size, average, variation):
    points = slice_points(size, average, variation)
    assert points[0] == 0 and points[-1] == size
    pieces = [b - a for a, b in itertools.pairwise(points)]
    assert all(p > 0 for p in pieces) or size == 0
    avg = max(1, average)
    var = max(0, min(variation, avg - 1))
    assert all(p <= avg + var for p in pieces)


def test_parse_toxic_defaults_and_errors():
    spec = parse_toxic({"type": "latency"}, lambda _: False)
    assert (spec.name, spec.stream, spec.toxicity) == ("latency_downstream", "downstream", 1.0)
    assert spec.attributes == {"latency": 0, "jitter": 0}
    spec = parse_toxic(
        {"type": "slicer", "stream": "UPSTREAM", "attributes": {"delay": 5, "junk": "x"}},
        lambda _: False,
    )
    assert spec.stream == "upstream" and spec.attributes["delay"] == 5
    with pytest.raises(errors.ApiError) as err:
        parse_toxic({"type": "latency", "attributes": {"latency": True}}, lambda _: False)
    assert err.value.status == 400
    with pytest.raises(errors.ApiError) as err:  # duplicate name wins over bad attributes
        parse_toxic({"type": "latency", "attributes": {"latency": "x"}}, lambda _: True)
    assert err.value.status == 409
    attrs, toxicity = parse_toxic_update({"attributes": {"jitter": 2}}, spec_latency())
    assert attrs == {"latency": 7, "jitter": 2} and toxicity == 1.0


def spec_latency():
    return parse_toxic({"type": "latency", "attributes": {"latency": 7}}, lambda _: False)


def test_parse_proxy():
    fields = parse_proxy({"name": "a", "upstream": "h:1"})
    assert (fields.listen, fields.enabled) == ("127.0.0.1:0", True)
    for bad in ([], {"name": "a"}, {"upstream": "h:1"}, {"name": "a", "upstream": 3}):
        with pytest.raises(errors.ApiError) as err:
            parse_proxy(bad)
        assert err.value.status == 400


def test_channel_bounds_producer_and_keeps_order():
    async def scenario() -> list[object]:
        ch = Channel(limit=10)
        await ch.put(Chunk(b"x" * 8))
        await ch.put(Chunk(b"y" * 8))  # below the limit before the put: accepted
        blocked = asyncio.create_task(ch.put(EOF))
        await asyncio.sleep(0.01)
        assert not blocked.done() and ch.size == 16
        first = await ch.get()
        second = await ch.get()
        await asyncio.wait_for(blocked, 1)
        return [first.data, second.data, await ch.get()]

    assert asyncio.run(scenario()) == [b"x" * 8, b"y" * 8, EOF]
