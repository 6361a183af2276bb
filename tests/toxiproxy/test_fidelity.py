"""Black-box fidelity: what the real Toxiproxy 2.12 does on accept, the embedded one must do.

Toxiproxy dials upstream as soon as it accepts a client and only then starts
reading, so every toxic sees the client's bytes with the upstream connection
already up. The embedded server may read the client's first bytes before its
upstream connect completes (uvloop delivers them early); those bytes wait at
the *input* of the toxic chain until the connection is up. Before that fix a
``limit_data`` toxic could let its 1000 bytes through into a parking area and
close the connection before the upstream connect finished, so the upstream
server saw no connection at all about half the time.

Each check is repeated: one attempt hits the race only sometimes, twenty
attempts on both event loops hit it with near certainty on the old code.
"""

from __future__ import annotations

import os
import socket
import socketserver
import threading

from tpx_support import wait_until

ATTEMPTS = 20


class Tally:
    """Per accepted upstream connection: the bytes it received before EOF."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted = 0
        self.totals: list[int] = []

    def handler(self) -> type[socketserver.BaseRequestHandler]:
        tally = self

        class Counting(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with tally.lock:
                    tally.accepted += 1
                sock: socket.socket = self.request
                sock.settimeout(10)
                total = 0
                try:
                    while data := sock.recv(65536):
                        total += len(data)
                except OSError:
                    pass
                with tally.lock:
                    tally.totals.append(total)

        return Counting


def _client_sees_close(sock: socket.socket) -> bool:
    """True once the proxy closed the client's connection (EOF or reset)."""
    sock.settimeout(10)
    try:
        while sock.recv(65536):
            pass
    except OSError:
        return True
    return True


def test_limit_data_delivers_exactly_its_bytes_to_upstream(api, upstream_factory):
    """5000 bytes sent at once, right after connecting: upstream gets exactly the first 1000."""
    tally = Tally()
    up = upstream_factory(tally.handler())
    host, port = api.create_proxy("limit", up.address)
    api.add_toxic("limit", "limit_data", "upstream", bytes=1000)
    for attempt in range(ATTEMPTS):
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(os.urandom(5000))
            assert _client_sees_close(sock)
        assert wait_until(lambda n=attempt + 1: len(tally.totals) >= n, timeout=10), (
            f"attempt {attempt}: the upstream server never saw the connection "
            f"({tally.accepted} accepted in {attempt + 1} attempts)")
    assert tally.accepted == ATTEMPTS
    assert tally.totals == [1000] * ATTEMPTS


def test_reset_peer_on_early_bytes_still_reaches_upstream(api, upstream_factory):
    """reset_peer triggered by the first bytes: upstream was connected before the reset."""
    tally = Tally()
    up = upstream_factory(tally.handler())
    host, port = api.create_proxy("reset", up.address)
    api.add_toxic("reset", "reset_peer", "upstream", timeout=0)
    for attempt in range(ATTEMPTS):
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"x" * 100)
            assert _client_sees_close(sock)
        assert wait_until(lambda n=attempt + 1: tally.accepted >= n, timeout=10), (
            f"attempt {attempt}: the upstream server never saw the connection")


def test_timeout_toxic_swallows_early_bytes(api, upstream_factory):
    """A black hole on the upstream stream: early bytes never reach upstream, the dial does."""
    tally = Tally()
    up = upstream_factory(tally.handler())
    host, port = api.create_proxy("hole", up.address)
    api.add_toxic("hole", "timeout", "upstream", timeout=0)
    socks = []
    try:
        for _ in range(ATTEMPTS):
            sock = socket.create_connection((host, port), timeout=10)
            sock.sendall(b"y" * 2000)
            socks.append(sock)
        assert wait_until(lambda: tally.accepted >= ATTEMPTS, timeout=10), tally.accepted
    finally:
        for sock in socks:
            sock.close()
    assert wait_until(lambda: len(tally.totals) >= ATTEMPTS, timeout=10)
    assert tally.totals == [0] * ATTEMPTS


def test_toxic_added_and_removed_between_connections(api, upstream_factory):
    """A limit_data put on and taken off around each connection applies to its early bytes."""
    tally = Tally()
    up = upstream_factory(tally.handler())
    host, port = api.create_proxy("churn", up.address)
    for attempt in range(ATTEMPTS):
        name = api.add_toxic("churn", "limit_data", "upstream", bytes=10)
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"z" * 500)
            assert _client_sees_close(sock)
        api.remove_toxic("churn", name)
        assert wait_until(lambda n=attempt + 1: len(tally.totals) >= n, timeout=10), (
            f"attempt {attempt}: the upstream server never saw the connection")
    assert tally.totals == [10] * ATTEMPTS
