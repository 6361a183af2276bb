"""The API through toxiproxy-python, the client DESIGN.md names: it must just work."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
import toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists
from tpx_support import recv_exactly


@pytest.fixture
def tp(server) -> Iterator[toxiproxy.Toxiproxy]:
    saved = (APIConsumer.host, APIConsumer.port)
    url = urlparse(server.url)
    client = toxiproxy.Toxiproxy()
    client.update_api_consumer(url.hostname, url.port)
    try:
        yield client
    finally:
        APIConsumer.host, APIConsumer.port = saved


def test_server_and_proxies(tp, echo, connect):
    assert tp.running()
    assert b"version" in tp.version()
    proxy = tp.create(upstream=echo.address, name="py")
    assert proxy.listen.startswith("127.0.0.1:") and not proxy.listen.endswith(":0")
    assert set(tp.proxies()) == {"py"}
    assert tp.get_proxy("py").upstream == echo.address
    with pytest.raises(ProxyExists):
        tp.create(upstream=echo.address, name="py")

    host, port = proxy.listen.rsplit(":", 1)
    sock = connect((host, int(port)))
    sock.sendall(b"abc")
    assert recv_exactly(sock, 3) == b"abc"

    proxy.disable()
    assert tp.get_proxy("py").enabled is False
    proxy.enable()
    assert tp.get_proxy("py").enabled is True
    with proxy.down():
        assert tp.get_proxy("py").enabled is False
    assert tp.destroy(proxy)
    assert tp.proxies() == {}


def test_toxics(tp, echo):
    proxy = tp.create(upstream=echo.address, name="tx")
    proxy.add_toxic(type="latency", attributes={"latency": 20})
    proxy.add_toxic(type="bandwidth", stream="upstream", name="bw", attributes={"rate": 100})
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream", "bw"}
    assert toxics["latency_downstream"].attributes == {"latency": 20, "jitter": 0}
    assert proxy.get_toxic("bw").stream == "upstream"
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="nosuch")
    with pytest.raises(ProxyExists):  # 409 for a duplicate toxic name as well
        proxy.add_toxic(type="latency")
    assert proxy.destroy_toxic("bw")
    with pytest.raises(NotFound):
        proxy.destroy_toxic("bw")
    assert tp.reset()
    assert proxy.toxics() == {}


def test_populate(tp, echo):
    created = tp.populate(
        [
            {"name": "one", "upstream": echo.address, "listen": "127.0.0.1:0"},
            {"name": "two", "upstream": echo.address, "listen": "127.0.0.1:0"},
        ]
    )
    assert sorted(p.name for p in created) == ["one", "two"]
    assert set(tp.proxies()) == {"one", "two"}
    tp.destroy_all()
    assert tp.proxies() == {}
