"""The harness adapter: embedded server as a child process, or TOXIPROXY_URL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from tpx_support import recv_exactly, recv_until_eof, wait_until

from harness.toxiproxy.client import ToxiproxyError, start_toxiproxy


def _addr(listen: str) -> tuple[str, int]:
    host, port = listen.rsplit(":", 1)
    return host, int(port)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_embedded_server_lifecycle(tmp_path, echo, connect, monkeypatch):
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    log = tmp_path / "toxiproxy.log"
    handle = start_toxiproxy(log_path=log)
    try:
        assert handle.pid is not None and _alive(handle.pid)
        assert os.getpgid(handle.pid) == handle.pid  # its own process group
        assert handle.version().startswith("2.")
        listen = handle.create_proxy("e", echo.address)
        sock = connect(_addr(listen))
        sock.sendall(b"one")
        assert recv_exactly(sock, 3) == b"one"

        name = handle.add_toxic("e", "latency", "downstream", {"latency": 200.0})
        assert name == "latency_downstream"
        t0 = time.monotonic()
        sock.sendall(b"two")
        assert recv_exactly(sock, 3) == b"two"
        assert time.monotonic() - t0 >= 0.2
        handle.update_toxic("e", name, {"latency": 0})
        handle.remove_toxic("e", name)
        assert handle.toxics("e") == []

        handle.reset_connections("e")
        try:
            assert recv_until_eof(sock) == b""
        except ConnectionResetError:
            pass
        sock2 = connect(_addr(listen))  # same address after the reset
        sock2.sendall(b"three")
        assert recv_exactly(sock2, 5) == b"three"

        with pytest.raises(ToxiproxyError) as err:
            handle.create_proxy("e", echo.address)
        assert err.value.status == 409
        with pytest.raises(ToxiproxyError) as err:
            handle.add_toxic("e", "nosuch", "upstream", {})
        assert err.value.status == 400

        handle.set_enabled("e", False)
        handle.add_toxic("e", "timeout", "upstream", {"timeout": 0})
        handle.reset()
        assert handle.toxics("e") == []
        handle.delete_proxy("e")
    finally:
        pid = handle.pid
        handle.close()
    assert not _alive(pid) or wait_until(lambda: not _alive(pid), timeout=5)


def test_external_server_is_shared_carefully(server, echo, monkeypatch):
    monkeypatch.setenv("TOXIPROXY_URL", server.url)
    from tpx_support import Api

    other = Api(server.url)
    other.create_proxy("theirs", echo.address)
    other.add_toxic("theirs", "latency", latency=5)
    handle = start_toxiproxy()
    try:
        assert handle.pid is None
        handle.create_proxy("ours", echo.address)
        handle.add_toxic("ours", "latency", "upstream", {"latency": 5})
        handle.set_enabled("ours", False)
        handle.reset()  # only ours
        ours = other.get("/proxies/ours").json()
        assert ours["enabled"] is True and ours["toxics"] == []
        assert len(other.get("/proxies/theirs").json()["toxics"]) == 1
    finally:
        handle.close()
    assert set(other.get("/proxies").json()) == {"theirs"}  # ours deleted, theirs kept
    other.session.close()


def test_external_server_must_answer(monkeypatch):
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    monkeypatch.setenv("TOXIPROXY_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(ToxiproxyError):
        start_toxiproxy()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_announces_and_exits_zero(signum):
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.toxiproxy.server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("toxiproxy-server listening on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        assert port > 0
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        proc.send_signal(signum)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_cli_help_and_main_function():
    out = subprocess.run(
        [sys.executable, "-m", "harness.toxiproxy.server", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0
    assert "--host" in out.stdout and "--port" in out.stdout


def test_partition_and_heal_as_the_harness_does(tmp_path, echo, connect, monkeypatch):
    """Black-hole both streams, heal, reset: old connections end, new ones work."""
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    with start_toxiproxy(log_path=tmp_path / "tp.log") as handle:
        listen = handle.create_proxy("client->broker", echo.address)
        sock = connect(_addr(listen))
        sock.sendall(b"before")
        assert recv_exactly(sock, 6) == b"before"
        up = handle.add_toxic("client->broker", "timeout", "upstream", {"timeout": 0})
        down = handle.add_toxic("client->broker", "timeout", "downstream", {"timeout": 0})
        sock.sendall(b"during")
        cut = connect(_addr(listen))  # a connection opened during the partition
        cut.sendall(b"lost")
        cut.settimeout(0.3)
        with pytest.raises(TimeoutError):
            cut.recv(10)
        handle.remove_toxic("client->broker", up)
        handle.remove_toxic("client->broker", down)
        handle.reset_connections("client->broker")
        for old in (sock, cut):
            try:
                assert recv_until_eof(old) == b""
            except ConnectionResetError:
                pass
        fresh = connect(_addr(listen))
        fresh.sendall(b"after")
        assert recv_exactly(fresh, 5) == b"after"


def test_byte_counters_and_seeded_toxics(server, echo, connect):
    """Bytes per proxy and direction through /metrics; a seed travels as an attribute."""
    from harness.toxiproxy.client import ToxiproxyHandle, parse_byte_metrics

    handle = ToxiproxyHandle(server.url)
    listen = handle.create_proxy("a->b", echo.address)
    before = handle.byte_counters()
    assert before is not None and before["a->b"]["upstream"] == {"received": 0, "sent": 0}
    sock = connect(_addr(listen))
    sock.sendall(b"x" * 300)
    assert recv_exactly(sock, 300) == b"x" * 300
    after = handle.byte_counters()
    assert after is not None
    assert after["a->b"]["upstream"]["received"] == 300
    assert after["a->b"]["downstream"]["sent"] == 300
    handle.add_toxic("a->b", "latency", "downstream", {"latency": 1}, seed=42)
    listed = handle.toxics("a->b")[0]
    assert "seed" not in listed["attributes"]  # listed exactly as a real Toxiproxy would
    collection = server.server.collection
    assert collection.proxies["a->b"].toxics[0].seed == 42
    assert parse_byte_metrics("# HELP nothing\n") == {}


def test_byte_counters_not_measured_without_metrics():
    """A server without /metrics (a real Toxiproxy without -proxy-metrics): None."""
    from harness.toxiproxy.client import ToxiproxyHandle

    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    assert ToxiproxyHandle(f"http://127.0.0.1:{port}").byte_counters() is None
