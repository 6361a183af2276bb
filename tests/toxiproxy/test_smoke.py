"""First light: bytes go through a proxy, both ways, with and without a toxic."""

from __future__ import annotations

from tpx_support import recv_exactly, recv_until_eof


def test_echo_through_proxy(api, echo, connect):
    addr = api.create_proxy("echo", echo.address)
    sock = connect(addr)
    sock.sendall(b"hello")
    assert recv_exactly(sock, 5) == b"hello"
    api.add_toxic("echo", "latency", latency=50)
    sock.sendall(b"world")
    assert recv_exactly(sock, 5) == b"world"
    api.remove_toxic("echo", "latency_downstream")
    sock.sendall(b"again")
    assert recv_exactly(sock, 5) == b"again"
    sock.shutdown(1)
    assert recv_until_eof(sock) == b""
