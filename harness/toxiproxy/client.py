"""The harness's handle on a Toxiproxy: the embedded one, or a real one via TOXIPROXY_URL.

Every call goes through ``toxiproxy-python`` (the project's rule: speak to
Toxiproxy through its HTTP API with that library), except the three things
the library lacks, ``GET /version``, ``GET /metrics`` (byte counters per
proxy, for fault coverage) and updating a toxic in place, which use
``requests`` directly. The library keeps the server's address in a class
attribute shared by the whole process, so calls pass a gate (``_AddressGate``):
calls to one server run side by side, and two handles in one process (tests
do that) never talk to the wrong server.

With ``TOXIPROXY_URL`` the handle shares a server it does not own, so it only
ever touches the proxies it created itself: ``reset()`` and ``close()`` are
scoped to those.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from toxiproxy import exceptions as tp_errors
from toxiproxy.api import APIConsumer
from toxiproxy.proxy import Proxy
from toxiproxy.server import Toxiproxy

#: Seconds allowed for a call that bypasses the library.
API_TIMEOUT_S = 10.0
#: Seconds allowed for the embedded server to announce its port.
START_TIMEOUT_S = 20.0
READY_PREFIX = "toxiproxy-server listening on "

class _AddressGate:
    """toxiproxy-python's ``APIConsumer.host/port`` are process-global: a gate around them.

    Calls to the server the library points at now go in together (threads
    of one process talking to one server, the usual case, never wait for
    each other); a call for another server waits until the calls in flight
    are done, then points the library there. This replaced one process-wide
    lock that serialized every API call, so a slow answer for one scenario
    held up the faults of every other.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._address: tuple[str, int] | None = None
        self._users = 0
        self._owners: dict[int, int] = {}  # thread id -> nesting depth (re-entrant per thread)

    @contextlib.contextmanager
    def use(self, host: str, port: int) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._owners.get(me):  # nested call in this thread: already pointed here
                self._owners[me] += 1
            else:
                while self._users and self._address != (host, port):
                    self._cond.wait()
                if not self._users:  # first in: (re)point the library, whatever it held
                    APIConsumer.host, APIConsumer.port = host, port
                    self._address = (host, port)
                self._users += 1
                self._owners[me] = 1
        try:
            yield
        finally:
            with self._cond:
                self._owners[me] -= 1
                if not self._owners[me]:
                    del self._owners[me]
                    self._users -= 1
                    if not self._users:
                        self._cond.notify_all()


_GATE = _AddressGate()


class ToxiproxyError(RuntimeError):
    """An API call failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def _int_attrs(attributes: dict[str, Any]) -> dict[str, Any]:
    # Toxiproxy's attributes are integers; 100.0 from a YAML file is sent as 100
    return {
        k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in attributes.items()
    }


_STATUS = {tp_errors.ProxyExists: 409, tp_errors.NotFound: 404, tp_errors.InvalidToxic: 400}

# Toxiproxy's Prometheus counters (2.6+, with --proxy-metrics; always on the embedded server)
_METRIC = re.compile(
    r"^toxiproxy_proxy_(received|sent)_bytes_total\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.eE+]+)\s*$"
)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

ByteCounters = dict[str, dict[str, dict[str, int]]]


def parse_byte_metrics(text: str) -> ByteCounters:
    """``/metrics`` text -> proxy -> direction -> {"received": n, "sent": n}."""
    counters: ByteCounters = {}
    for line in text.splitlines():
        match = _METRIC.match(line.strip())
        if match is None:
            continue
        labels = {k: v.replace('\\"', '"').replace("\\\\", "\\")
                  for k, v in _LABEL.findall(match["labels"])}
        proxy, direction = labels.get("proxy"), labels.get("direction")
        if not proxy or not direction:
            continue
        try:
            value = int(float(match["value"]))
        except ValueError:
            continue
        counters.setdefault(proxy, {}).setdefault(direction, {})[match.group(1)] = value
    return counters


class ToxiproxyHandle:
    """A running Toxiproxy the harness may use."""

    def __init__(
        self, url: str, process: subprocess.Popen[bytes] | None = None, log_file: Any = None
    ) -> None:
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 8474
        self._process = process
        self._log_file = log_file
        self._owned: set[str] = set()

    @property
    def pid(self) -> int | None:
        """PID of the embedded server we started (its process group id too); None if external."""
        return self._process.pid if self._process is not None else None

    @property
    def embedded(self) -> bool:
        return self._process is not None

    # ------------------------------------------------------------------ HTTP
    @contextlib.contextmanager
    def _api(self, what: str) -> Iterator[Toxiproxy]:
        """Point toxiproxy-python at this server for one call; map its errors to ours."""
        with _GATE.use(self._host, self._port):
            try:
                yield Toxiproxy()
            except tuple(_STATUS) as exc:
                raise ToxiproxyError(f"{what}: {exc}", _STATUS[type(exc)]) from exc
            except requests.RequestException as exc:
                raise ToxiproxyError(f"{what}: {exc}") from exc

    def _proxy(self, name: str) -> Proxy:
        return Proxy(name=name, upstream="", enabled=True, listen="")

    def version(self) -> str:
        try:
            resp = requests.get(self.url + "/version", timeout=API_TIMEOUT_S)
        except requests.RequestException as exc:
            raise ToxiproxyError(f"GET /version: {exc}") from exc
        if resp.status_code != 200:
            raise ToxiproxyError(f"GET /version: {resp.status_code}", resp.status_code)
        try:
            data = resp.json()
        except ValueError:
            return resp.text.strip()
        return str(data.get("version", "")) if isinstance(data, dict) else str(data)

    def byte_counters(self) -> ByteCounters | None:
        """Bytes received and sent per proxy and direction, or None when not measured.

        A real Toxiproxy serves these counters only when started with
        ``-proxy-metrics``; without them (404, or no such lines) the answer is
        None and reports say "not measured".
        """
        try:
            resp = requests.get(self.url + "/metrics", timeout=API_TIMEOUT_S)
        except requests.RequestException:
            return None
        if resp.status_code != 200:
            return None
        counters = parse_byte_metrics(resp.text)
        return counters or ({} if "toxiproxy_proxy_" in resp.text else None)

    # ------------------------------------------------------------------ proxies
    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0") -> str:
        """Create a proxy; returns the address it really listens on (``host:port``)."""
        with self._api(f"create proxy {name}") as server:
            proxy = server.create(upstream=upstream, name=name, listen=listen, enabled=True)
        self._owned.add(name)
        return str(proxy.listen)

    def delete_proxy(self, name: str) -> None:
        with self._api(f"delete proxy {name}"):
            self._proxy(name).destroy()
        self._owned.discard(name)

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Disabled: open connections dropped, new ones refused. Enabled: listening again."""
        with self._api(f"{'enable' if enabled else 'disable'} proxy {name}"):
            proxy = self._proxy(name)
            if enabled:
                proxy.enable()
            else:
                proxy.disable()

    def reset_connections(self, proxy: str) -> None:
        """Drop every open connection of ``proxy`` (disable, then enable on the same port)."""
        self.set_enabled(proxy, False)
        self.set_enabled(proxy, True)

    # ------------------------------------------------------------------ toxics
    def add_toxic(
        self,
        proxy: str,
        toxic_type: str,
        stream: str,
        attributes: dict[str, Any],
        toxicity: float = 1.0,
        name: str | None = None,
        seed: int | None = None,
    ) -> str:
        """Add a toxic; returns its name (``<type>_<stream>`` unless given).

        ``seed`` goes in as an extra ``seed`` attribute: the embedded server
        seeds the toxic's random choices with it (toxicity rolls, jitter,
        slice sizes); a real Toxiproxy ignores attributes it does not know.
        """
        name = name or f"{toxic_type}_{stream}"
        attrs = _int_attrs(attributes)
        if seed is not None:
            attrs["seed"] = seed
        with self._api(f"add toxic {name} to {proxy}"):
            self._proxy(proxy).add_toxic(
                type=toxic_type,
                stream=stream,
                name=name,
                toxicity=toxicity,
                attributes=attrs,
            )
        return name

    def update_toxic(
        self, proxy: str, name: str, attributes: dict[str, Any], toxicity: float | None = None
    ) -> None:
        """Change a toxic in place (toxiproxy-python cannot, so this is a direct POST)."""
        body: dict[str, Any] = {"attributes": _int_attrs(attributes)}
        if toxicity is not None:
            body["toxicity"] = toxicity
        path = f"/proxies/{proxy}/toxics/{name}"
        try:
            resp = requests.post(self.url + path, json=body, timeout=API_TIMEOUT_S)
        except requests.RequestException as exc:
            raise ToxiproxyError(f"POST {path}: {exc}") from exc
        if resp.status_code != 200:
            raise ToxiproxyError(f"POST {path}: {resp.status_code} {resp.text}", resp.status_code)

    def remove_toxic(self, proxy: str, name: str) -> None:
        with self._api(f"remove toxic {name} from {proxy}"):
            self._proxy(proxy).destroy_toxic(name)

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        with self._api(f"list toxics of {proxy}"):
            found = self._proxy(proxy).toxics()
        return [
            {
                "name": t.name,
                "type": t.type,
                "stream": t.stream,
                "toxicity": t.toxicity,
                "attributes": t.attributes,
            }
            for t in found.values()
        ]

    def reset(self) -> None:
        """Every proxy enabled, every toxic removed (only ours on a shared server)."""
        if self.embedded:
            with self._api("reset") as server:
                server.reset()
            return
        for proxy in sorted(self._owned):
            for toxic in self.toxics(proxy):
                self.remove_toxic(proxy, toxic["name"])
            self.set_enabled(proxy, True)

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Stop the embedded server (SIGTERM, then SIGKILL); on a shared one, delete our proxies."""
        try:
            if self._process is None:
                for name in sorted(self._owned):
                    with contextlib.suppress(ToxiproxyError):
                        self.delete_proxy(name)
            else:
                _terminate(self._process)
        finally:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def __enter__(self) -> ToxiproxyHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _terminate(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(grace_s)
    if process.stdout is not None:
        process.stdout.close()


def _read_ready_line(process: subprocess.Popen[bytes], timeout_s: float) -> str:
    """The server's first stdout line, within ``timeout_s``."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ToxiproxyError("embedded toxiproxy-server did not start in time")
            if not sel.select(left):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                raise ToxiproxyError(
                    f"embedded toxiproxy-server exited early (code {process.wait()})"
                )
            buf += chunk
    return buf.split(b"\n", 1)[0].decode()


def start_toxiproxy(log_path: Path | None = None, loop: str = "auto") -> ToxiproxyHandle:
    """A Toxiproxy for this run: ``TOXIPROXY_URL`` if set, else the embedded server.

    The embedded server is a child process in its own process group (``pid``),
    on a free port of 127.0.0.1; its stderr goes to ``log_path``. ``loop`` is
    its event loop (``auto``: uvloop when installed, else asyncio's).
    """
    url = os.environ.get("TOXIPROXY_URL")
    if url:
        handle = ToxiproxyHandle(url)
        try:
            handle.version()
        except ToxiproxyError as exc:
            handle.close()
            raise ToxiproxyError(f"TOXIPROXY_URL={url} does not answer: {exc}") from exc
        return handle
    log_file = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.toxiproxy.server",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--loop",
            loop,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log_file if log_file is not None else subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        line = _read_ready_line(process, START_TIMEOUT_S)
        if not line.startswith(READY_PREFIX):
            raise ToxiproxyError(f"unexpected first line from toxiproxy-server: {line!r}")
        address = line[len(READY_PREFIX) :].strip()
    except BaseException:
        _terminate(process)
        if log_file is not None:
            log_file.close()
        raise
    return ToxiproxyHandle(f"http://{address}", process, log_file)
