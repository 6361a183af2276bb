"""One seed, one sequence of toxic decisions: toxicity rolls, jitter, slice sizes.

The harness creates every toxic with a ``seed`` attribute derived from the
scenario's seed (harness/seeds.py); the embedded server seeds that toxic's
generator with it. Two runs with the same seed and the same order of
connections must decide exactly the same things; another seed decides
differently.
"""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
from tpx_support import Api

from harness.toxiproxy.link import Counters, Link
from harness.toxiproxy.server import BackgroundServer
from harness.toxiproxy.spec import ToxicSpec

CONNECTIONS = 24


class SizesTransport:
    """A destination socket that records the size of every write."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def write(self, data: bytes) -> None:
        self.sizes.append(len(data))

    def is_closing(self) -> bool:
        return False

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Side:
    def __init__(self, transport: SizesTransport) -> None:
        self.transport = transport


class Conn:
    def link_ended(self, link: Link, how: str) -> None:
        pass


def _slices(seed: int | None, payload: bytes) -> list[list[int]]:
    """Write sizes of a slicer on three links (connections) sharing one toxic spec."""
    attrs = {"average_size": 64, "size_variation": 48, "delay": 0}
    spec = ToxicSpec("sl", "slicer", "upstream", 1.0, attrs, seed=seed)

    async def run() -> list[list[int]]:
        out = []
        for _ in range(3):
            link = Link("upstream", Counters(), Conn().link_ended)
            transport = SizesTransport()
            link.src = Side(SizesTransport())  # type: ignore[assignment]
            link.dst = Side(transport)  # type: ignore[assignment]
            link.roll(spec)
            link.start()
            link.feed(payload)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while sum(transport.sizes) < len(payload):
                assert loop.time() < deadline
                await asyncio.sleep(0.001)
            out.append(transport.sizes)
        return out

    return asyncio.run(run())


def test_same_seed_same_slices_other_seed_other_slices() -> None:
    payload = os.urandom(4000)
    first, again, other = _slices(7, payload), _slices(7, payload), _slices(8, payload)
    assert first == again
    assert first != other
    assert len({tuple(sizes) for sizes in first}) == 3  # each connection draws its own


def test_same_seed_same_jitter() -> None:
    def delays(seed: int) -> list[float]:
        spec = ToxicSpec("lat", "latency", "downstream", 1.0, {"latency": 100, "jitter": 50},
                         seed=seed)
        link = Link("downstream", Counters(), Conn().link_ended)
        link.roll(spec)
        toxic = link.toxics["lat"]
        assert toxic is not None
        return [toxic.delay_s() for _ in range(50)]  # type: ignore[attr-defined]

    assert delays(3) == delays(3)
    assert delays(3) != delays(4)


def _cut_pattern(seed: int, loop: str) -> list[bool]:
    """Through a real server: which of CONNECTIONS connections a 50% limit_data cut."""
    echo_server = socket.create_server(("127.0.0.1", 0))
    echo_server.settimeout(10)
    address = f"127.0.0.1:{echo_server.getsockname()[1]}"
    pattern: list[bool] = []
    with BackgroundServer(loop=loop) as srv:
        api = Api(srv.url)
        host, port = api.create_proxy("p", address)
        body = {"type": "limit_data", "stream": "downstream", "toxicity": 0.5,
                "attributes": {"bytes": 4, "seed": seed}}
        assert api.post("/proxies/p/toxics", json=body).status_code == 200
        for _ in range(CONNECTIONS):
            with socket.create_connection((host, port), timeout=10) as client:
                upstream, _ = echo_server.accept()
                with upstream:
                    upstream.sendall(b"0123456789")
                    client.settimeout(10)
                    got = b""
                    while len(got) < 10:
                        chunk = client.recv(100)
                        if not chunk:
                            break
                        got += chunk
                    pattern.append(len(got) == 4)  # cut after 4 bytes
        api.session.close()
    echo_server.close()
    return pattern


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_same_seed_same_toxicity_rolls_through_the_server(loop: str) -> None:
    if loop == "uvloop":
        pytest.importorskip("uvloop")
    first = _cut_pattern(11, loop)
    again = _cut_pattern(11, loop)
    other = _cut_pattern(12, loop)
    assert first == again
    assert 0 < sum(first) < CONNECTIONS  # both outcomes occur at 50 %
    assert first != other  # equal by chance with probability 2**-24
