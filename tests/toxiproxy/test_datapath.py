"""The data path: bytes intact both ways, half-close, many connections, backpressure."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from tpx_support import holder, recv_exactly, recv_until_eof

from harness.toxiproxy.link import CHANNEL_LIMIT
from harness.toxiproxy.proxy import WRITE_HIGH_WATER


def test_bytes_intact_both_ways(api, echo, connect):
    addr = api.create_proxy("p", echo.address)
    sock = connect(addr)
    payload = os.urandom(3_000_000)
    received = bytearray()

    def read() -> None:
        received.extend(recv_exactly(sock, len(payload), timeout=20))

    reader = threading.Thread(target=read)
    reader.start()
    sock.sendall(payload)
    reader.join(30)
    assert bytes(received) == payload


def test_half_close_keeps_other_direction(api, upstream_factory, connect):
    """Client FIN reaches the server; the server can still answer afterwards."""
    import socketserver

    class LateReply(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data = b""
            while chunk := self.request.recv(1024):  # until the client's FIN
                data += chunk
            self.request.sendall(b"got:" + data)
            self.request.shutdown(socket.SHUT_WR)

    up = upstream_factory(LateReply)
    sock = connect(api.create_proxy("hc", up.address))
    sock.sendall(b"question")
    sock.shutdown(socket.SHUT_WR)
    assert recv_until_eof(sock) == b"got:question"


def test_many_connections_many_proxies(api, echo, connect):
    addrs = [api.create_proxy(f"p{i}", echo.address) for i in range(5)]
    socks = [connect(addrs[i % 5]) for i in range(50)]
    for i, sock in enumerate(socks):
        sock.sendall(b"%05d" % i)
    for i, sock in enumerate(socks):
        assert recv_exactly(sock, 5) == b"%05d" % i


def test_disable_drops_and_refuses_enable_listens_again(api, echo, connect):
    addr = api.create_proxy("d", echo.address)
    sock = connect(addr)
    sock.sendall(b"x")
    assert recv_exactly(sock, 1) == b"x"
    resp = api.post("/proxies/d", json={"enabled": False})
    assert resp.status_code == 200 and resp.json()["enabled"] is False
    try:
        assert recv_until_eof(sock, timeout=5) == b""
    except ConnectionResetError:
        pass
    with pytest.raises(OSError):
        socket.create_connection(addr, timeout=2).close()
    resp = api.post("/proxies/d", json={"enabled": True})
    assert resp.json()["listen"] == f"{addr[0]}:{addr[1]}"  # same port again
    sock2 = connect(addr)
    sock2.sendall(b"y")
    assert recv_exactly(sock2, 1) == b"y"


def test_unreachable_upstream_closes_client(api, connect):
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there
    sock = connect(api.create_proxy("nowhere", f"127.0.0.1:{port}"))
    try:
        assert recv_until_eof(sock) == b""
    except ConnectionResetError:
        pass


def test_upstream_change_restarts_proxy(api, echo, upstream_factory, connect):
    addr = api.create_proxy("mv", "127.0.0.1:1")
    resp = api.post("/proxies/mv", json={"upstream": echo.address})
    assert resp.status_code == 200
    new = resp.json()["listen"].rsplit(":", 1)
    sock = connect((new[0], int(new[1])))
    sock.sendall(b"ok")
    assert recv_exactly(sock, 2) == b"ok"
    assert addr  # the old address was replaced by a fresh bind


def _proxy_buffered(server, name: str) -> int:
    """Bytes the proxy holds in user space for proxy ``name`` (read on its loop)."""
    import asyncio

    async def measure() -> int:
        proxy = server.server.collection.proxies[name]
        total = 0
        for conn in proxy.connections:
            for side in (conn.client, conn.server):
                if side.transport is not None:
                    total += side.transport.get_write_buffer_size()
            for link in (conn.up, conn.down):
                total += sum(ch.size for ch in link._channels)
                total += sum(
                    len(i.data) for s in link._stages for i in s.toxic.held if hasattr(i, "data")
                )
        return total

    return asyncio.run_coroutine_threadsafe(measure(), server.loop).result(5)


@pytest.mark.parametrize("with_toxic", [False, True])
def test_slow_reader_bounds_proxy_memory(server, api, upstream_factory, connect, with_toxic):
    """An upstream that never reads: the proxy stops reading the client."""
    release = threading.Event()
    up = upstream_factory(holder(release))
    try:
        sock = connect(api.create_proxy("bp", up.address))
        if with_toxic:
            api.add_toxic("bp", "latency", "upstream", latency=1)
        sock.setblocking(False)
        block = b"z" * 65536
        sent = 0
        stalled_since = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                sent += sock.send(block)
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 0.5:
                    break
                time.sleep(0.01)
        assert stalled_since is not None, "the client was never pushed back"
        buffered = _proxy_buffered(server, "bp")
        # each buffer may overshoot its mark by one read (up to 256 KiB):
        # transport, and with a toxic also its input channel and its held item
        read = 256 * 1024
        bound = WRITE_HIGH_WATER + read
        if with_toxic:
            bound += CHANNEL_LIMIT + 2 * read
        assert buffered <= bound + read, (buffered, sent)
        assert buffered < sent / 4, (buffered, sent)  # most of it waits in the kernel
    finally:
        release.set()
