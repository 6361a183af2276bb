"""Helpers for the embedded Toxiproxy tests: API access, upstream servers, socket reads."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any

import requests


class Api:
    """Raw HTTP access to a Toxiproxy API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=10, **kwargs)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def create_proxy(self, name: str, upstream: str, **extra: Any) -> tuple[str, int]:
        resp = self.post("/proxies", json={"name": name, "upstream": upstream, **extra})
        assert resp.status_code == 201, resp.text
        host, port = resp.json()["listen"].rsplit(":", 1)
        return host, int(port)

    def add_toxic(self, proxy: str, type_: str, stream: str = "downstream", **attrs: Any) -> str:
        body = {"type": type_, "stream": stream, "attributes": attrs}
        resp = self.post(f"/proxies/{proxy}/toxics", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()["name"]

    def remove_toxic(self, proxy: str, name: str) -> None:
        resp = self.delete(f"/proxies/{proxy}/toxics/{name}")
        assert resp.status_code == 204, resp.text


class Echo(socketserver.BaseRequestHandler):
    """Echoes until the client half-closes, then half-closes back."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        try:
            while data := sock.recv(65536):
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class Upstream:
    """A threaded TCP server on 127.0.0.1 with a pluggable handler."""

    def __init__(self, handler: type[socketserver.BaseRequestHandler]) -> None:
        self.server = _Server(("127.0.0.1", 0), handler)
        host, port = self.server.server_address[:2]
        self.address = f"{host}:{port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def recv_exactly(sock: socket.socket, n: int, timeout: float = 5.0) -> bytes:
    """Read exactly n bytes (or fail on EOF/timeout)."""
    sock.settimeout(timeout)
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def recv_until_eof(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    buf = bytearray()
    while chunk := sock.recv(65536):
        buf += chunk
    return bytes(buf)


def wait_until(cond: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> bool:
    """Bounded wait on a condition (no fixed sleeps as synchronisation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


class Record:
    """What a recording upstream saw: each recv's bytes, and whether EOF came."""

    def __init__(self) -> None:
        self.reads: list[bytes] = []
        self.eof = threading.Event()
        self.lock = threading.Lock()

    @property
    def data(self) -> bytes:
        with self.lock:
            return b"".join(self.reads)


def recorder(record: Record) -> type[socketserver.BaseRequestHandler]:
    """A handler that reads and records everything, never answering."""

    class Recorder(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            try:
                while data := sock.recv(65536):
                    with record.lock:
                        record.reads.append(data)
            except OSError:
                pass
            record.eof.set()

    return Recorder


def source(payload: bytes) -> type[socketserver.BaseRequestHandler]:
    """A handler that sends ``payload`` on connect, then closes."""

    class Source(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            try:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(10)
                while sock.recv(65536):
                    pass
            except OSError:
                pass

    return Source


def holder(release: threading.Event) -> type[socketserver.BaseRequestHandler]:
    """A handler that accepts and never reads until ``release`` is set."""

    class Holder(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            release.wait(30)

    return Holder
