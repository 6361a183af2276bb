"""Fixtures for the embedded Toxiproxy: a server, upstream TCP servers, clients.

The server runs in-process on its own loop thread (``BackgroundServer``); the
upstreams are small threaded socket servers; tests talk to both with plain
blocking sockets and ``requests``. Everything started here is stopped in the
fixture's teardown.
"""

from __future__ import annotations

import socket
import socketserver
from collections.abc import Callable, Iterator

import pytest
from tpx_support import Api, Echo, Upstream

from harness.toxiproxy.server import BackgroundServer


def _loops() -> list[str]:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return ["asyncio"]
    return ["asyncio", "uvloop"]


@pytest.fixture(params=_loops())
def server(request: pytest.FixtureRequest) -> Iterator[BackgroundServer]:
    """The server on each event loop it may run on (uvloop only where installed)."""
    srv = BackgroundServer(loop=request.param).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def api(server: BackgroundServer) -> Iterator[Api]:
    client = Api(server.url)
    try:
        yield client
    finally:
        client.session.close()


@pytest.fixture
def upstream_factory() -> Iterator[Callable[[type[socketserver.BaseRequestHandler]], Upstream]]:
    started: list[Upstream] = []

    def make(handler: type[socketserver.BaseRequestHandler]) -> Upstream:
        up = Upstream(handler)
        started.append(up)
        return up

    try:
        yield make
    finally:
        for up in started:
            up.close()


@pytest.fixture
def echo(upstream_factory: Callable[[type[socketserver.BaseRequestHandler]], Upstream]) -> Upstream:
    return upstream_factory(Echo)


@pytest.fixture
def connect() -> Iterator[Callable[[tuple[str, int]], socket.socket]]:
    """Open client sockets (closed at teardown)."""
    socks: list[socket.socket] = []

    def make(addr: tuple[str, int], timeout: float = 5.0) -> socket.socket:
        sock = socket.create_connection(addr, timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(sock)
        return sock

    try:
        yield make
    finally:
        for sock in socks:
            sock.close()
