"""Each toxic's effect, measured on real sockets through the proxy.

Timing bounds are loose on the slow side (the machine is shared) and tight on
the fast side (a toxic must never deliver early).
"""

from __future__ import annotations

import socket
import time

import pytest
from tpx_support import Record, recorder, recv_exactly, recv_until_eof, source, wait_until


def _rtt(sock: socket.socket, payload: bytes = b"ping") -> float:
    t0 = time.monotonic()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - t0


def test_latency_delays_each_direction(api, echo, connect):
    sock = connect(api.create_proxy("lat", echo.address))
    base = min(_rtt(sock) for _ in range(3))
    api.add_toxic("lat", "latency", "downstream", latency=100)
    api.add_toxic("lat", "latency", "upstream", latency=50)
    rtts = [_rtt(sock) for _ in range(3)]
    assert all(r >= 0.150 for r in rtts), rtts
    assert min(rtts) < 0.150 + base + 0.250, rtts


def test_latency_keeps_throughput(api, echo, connect):
    """Latency shifts data in time; a stream of messages is not serialised."""
    sock = connect(api.create_proxy("latq", echo.address))
    api.add_toxic("latq", "latency", "downstream", latency=100)
    t0 = time.monotonic()
    for i in range(20):
        sock.sendall(b"%03d" % i)
        time.sleep(0.005)
    assert recv_exactly(sock, 60) == b"".join(b"%03d" % i for i in range(20))
    assert time.monotonic() - t0 < 0.100 + 20 * 0.005 + 0.4  # not 20 x 100 ms


def test_jitter_stays_in_bounds(api, echo, connect):
    sock = connect(api.create_proxy("jit", echo.address))
    api.add_toxic("jit", "latency", "downstream", latency=80, jitter=40)
    rtts = [_rtt(sock) for _ in range(8)]
    assert all(r >= 0.040 for r in rtts), rtts
    assert min(rtts) < 0.120 + 0.25, rtts


def test_bandwidth_rate_within_20_percent(api, upstream_factory, connect):
    payload = bytes(range(256)) * 1000  # 256 000 bytes
    up = upstream_factory(source(payload))
    api.create_proxy("bw", up.address)
    api.add_toxic("bw", "bandwidth", "downstream", rate=500)  # 500 KB/s -> 0.512 s
    sock = connect(("127.0.0.1", int(api.get("/proxies/bw").json()["listen"].rsplit(":")[1])))
    t0 = time.monotonic()
    data = recv_until_eof(sock, timeout=10)
    elapsed = time.monotonic() - t0
    assert data == payload
    expected = len(payload) / 500_000
    assert expected * 0.8 <= elapsed <= expected * 1.2, elapsed


def test_timeout_zero_black_holes_and_holds(api, echo, connect):
    sock = connect(api.create_proxy("bh", echo.address))
    sock.sendall(b"a")
    assert recv_exactly(sock, 1) == b"a"
    api.add_toxic("bh", "timeout", "upstream", timeout=0)
    sock.sendall(b"lost")
    sock.settimeout(0.4)
    with pytest.raises(TimeoutError):  # no byte, and no EOF: the connection is held
        sock.recv(10)
    # removing the toxic closes the connection it held (as Toxiproxy's cleanup does)
    api.remove_toxic("bh", "timeout_upstream")
    try:
        assert recv_until_eof(sock, timeout=5) == b""
    except ConnectionResetError:
        pass
    sock2 = connect(api.create_proxy("bh2", echo.address))
    sock2.sendall(b"fine")
    assert recv_exactly(sock2, 4) == b"fine"


def test_timeout_closes_after_silence(api, echo, connect):
    sock = connect(api.create_proxy("to", echo.address))
    api.add_toxic("to", "timeout", "downstream", timeout=200)
    t0 = time.monotonic()
    sock.sendall(b"dropped")
    assert recv_until_eof(sock, timeout=5) == b""
    assert 0.18 <= time.monotonic() - t0 < 2.0


def test_reset_peer_gives_econnreset(api, echo, connect):
    sock = connect(api.create_proxy("rst", echo.address))
    api.add_toxic("rst", "reset_peer", "downstream", timeout=100)
    t0 = time.monotonic()
    sock.sendall(b"boom")
    with pytest.raises(ConnectionResetError):
        sock.settimeout(5)
        while sock.recv(100):
            pass
    assert time.monotonic() - t0 >= 0.09


def test_limit_data_closes_at_exactly_n_bytes(api, echo, connect):
    sock = connect(api.create_proxy("lim", echo.address))
    api.add_toxic("lim", "limit_data", "downstream", bytes=1000)
    sock.sendall(b"x" * 5000)
    data = recv_until_eof(sock)
    assert len(data) == 1000


def test_limit_data_upstream_counts_across_writes(api, upstream_factory, connect):
    record = Record()
    up = upstream_factory(recorder(record))
    sock = connect(api.create_proxy("limu", up.address))
    api.add_toxic("limu", "limit_data", "upstream", bytes=250)
    for i in range(10):
        try:
            sock.sendall(bytes([i]) * 100)
        except OSError:  # the proxy closed the connection at the limit
            break
        time.sleep(0.01)
    assert record.eof.wait(5)
    assert record.data == bytes([0]) * 100 + bytes([1]) * 100 + bytes([2]) * 50


def test_slicer_splits_writes(api, upstream_factory, connect):
    record = Record()
    up = upstream_factory(recorder(record))
    sock = connect(api.create_proxy("sl", up.address))
    api.add_toxic("sl", "slicer", "upstream", average_size=100, size_variation=20, delay=2000)
    payload = bytes(range(256)) * 8  # 2048 bytes in one write
    sock.sendall(payload)
    assert wait_until(lambda: len(record.data) == len(payload), timeout=5)
    assert record.data == payload
    assert len(record.reads) >= 8, [len(r) for r in record.reads]
    assert max(len(r) for r in record.reads) < 1000


def test_slow_close_delays_the_close(api, echo, connect):
    sock = connect(api.create_proxy("sc", echo.address))
    api.add_toxic("sc", "slow_close", "downstream", delay=300)
    sock.sendall(b"bye")
    t0 = time.monotonic()
    sock.shutdown(socket.SHUT_WR)  # echo shuts down back -> delayed by the toxic
    assert recv_until_eof(sock) == b"bye"
    assert time.monotonic() - t0 >= 0.28


def test_toxicity_zero_never_applies(api, echo, connect):
    sock = connect(api.create_proxy("tz", echo.address))
    resp = api.post(
        "/proxies/tz/toxics",
        json={"type": "latency", "toxicity": 0.0, "attributes": {"latency": 1000}},
    )
    assert resp.status_code == 200
    assert _rtt(sock) < 0.5


def test_toxicity_rolls_per_connection(api, echo, connect):
    addr = api.create_proxy("tp", echo.address)
    api.post(
        "/proxies/tp/toxics",
        json={"type": "latency", "toxicity": 0.5, "attributes": {"latency": 150}},
    )
    slow = sum(_rtt(connect(addr)) >= 0.15 for _ in range(14))
    assert 1 <= slow <= 13  # P(fail) = 2 * 0.5**14


def test_update_changes_live_connections(api, echo, connect):
    sock = connect(api.create_proxy("up", echo.address))
    api.add_toxic("up", "latency", "downstream", latency=300)
    assert _rtt(sock) >= 0.3
    resp = api.post("/proxies/up/toxics/latency_downstream", json={"attributes": {"latency": 0}})
    assert resp.status_code == 200 and resp.json()["attributes"] == {"latency": 0, "jitter": 0}
    assert _rtt(sock) < 0.25
