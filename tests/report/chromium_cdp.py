"""A small headless-Chromium driver over the DevTools protocol, for the report's browser test.

Why this and not a browser-automation package: Debian's ``chromium`` is the
browser CI installs (``.ci/browser-tier.sh``), and the DevTools protocol
over one websocket is all the test needs: open a ``file://`` page, collect
console errors and every request the page makes, evaluate JavaScript, take
a screenshot. aiohttp (already a dependency of zchaos) speaks websockets, so
nothing else is installed and no browser build is downloaded.

The browser runs in its own process group with a fresh profile directory;
:meth:`Chromium.close` ends that group (and only it) and removes the
profile.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
)
START_TIMEOUT = 30.0


def find_chromium() -> str | None:
    """The Chromium executable (``$ZCHAOS_CHROMIUM``, then Debian's names), or None."""
    for name in (os.environ.get("ZCHAOS_CHROMIUM"), "chromium", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    return None


class CdpError(RuntimeError):
    pass


class Chromium:
    """One headless browser with one page; use as a context manager."""

    def __init__(self, executable: str, width: int = 1400, height: int = 900) -> None:
        self.executable = executable
        self.width, self.height = width, height
        self.profile = Path(tempfile.mkdtemp(prefix="zchaos-chromium-"))
        self.loop = asyncio.new_event_loop()
        self.proc: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.reader: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> Chromium:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", f"--window-size={self.width},{self.height}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None:
                raise CdpError(f"chromium exited with {self.proc.returncode} before serving")
            if time.monotonic() > deadline:
                raise CdpError("chromium did not open its DevTools port in time")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        self.loop.run_until_complete(self._connect(port))

    async def _connect(self, port: int) -> None:
        self.session = aiohttp.ClientSession()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                async with self.session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                    targets = await resp.json(content_type=None)
                page = next(t for t in targets if t.get("type") == "page")
                break
            except (aiohttp.ClientError, StopIteration):
                if time.monotonic() > deadline:
                    raise CdpError("no page target in chromium") from None
                await asyncio.sleep(0.05)
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self.reader = asyncio.ensure_future(self._read())
        for domain in ("Page", "Runtime", "Log", "Network"):
            await self._send(f"{domain}.enable")
        await self._send("Emulation.setDeviceMetricsOverride", width=self.width,
                         height=self.height, deviceScaleFactor=1, mobile=False)

    def close(self) -> None:
        async def shutdown() -> None:
            if self.reader is not None:
                self.reader.cancel()
                with contextlib.suppress(BaseException):
                    await self.reader
            if self.ws is not None:
                await self.ws.close()
            if self.session is not None:
                await self.session.close()

        with contextlib.suppress(Exception):
            self.loop.run_until_complete(shutdown())
        self.loop.close()
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol ----------------------------------------------------------------------
    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            if "id" in data:
                future = self.pending.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(CdpError(str(data["error"])))
                    else:
                        future.set_result(data.get("result", {}))
            else:
                self.events.append(data)

    async def _send(self, method: str, **params: Any) -> Any:
        assert self.ws is not None
        self.next_id += 1
        future: asyncio.Future[Any] = self.loop.create_future()
        self.pending[self.next_id] = future
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method,
                                           "params": params}))
        return await asyncio.wait_for(future, timeout=60)

    def send(self, method: str, **params: Any) -> Any:
        return self.loop.run_until_complete(self._send(method, **params))

    # -- what the tests use --------------------------------------------------------------
    def evaluate(self, expression: str, await_promise: bool = False) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=await_promise)
        if "exceptionDetails" in result:
            raise CdpError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def open(self, url: str, ready: str = "document.body && document.body.dataset.ready",
             timeout: float = 30.0) -> float:
        """Navigate and wait until ``ready`` is truthy; returns seconds until then."""
        self.events.clear()
        started = time.monotonic()
        self.send("Page.navigate", url=url)
        deadline = started + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise CdpError(f"{url} did not load in {timeout} s")
            self.loop.run_until_complete(asyncio.sleep(0.02))
        while not self.evaluate(f"!!({ready})"):
            if time.monotonic() > deadline:
                raise CdpError(f"{url}: {ready} never became true")
            self.loop.run_until_complete(asyncio.sleep(0.02))
        return time.monotonic() - started

    def console_errors(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and failed loads since open()."""
        found = []
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {p.get('exceptionDetails', {}).get('text')} "
                             f"{p.get('exceptionDetails', {}).get('exception', {})}")
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning",
                                                                            "assert"):
                found.append(f"console.{p.get('type')}: {p.get('args')}")
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error",
                                                                                   "warning"):
                entry = p["entry"]
                found.append(f"log {entry.get('level')}: {entry.get('text')} {entry.get('url')}")
            elif method == "Network.loadingFailed":
                found.append(f"load failed: {p.get('errorText')} ({p.get('requestId')})")
        return found

    def requests(self) -> list[str]:
        """URLs of every request the page made since open()."""
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        clip = None
        if full_page:
            metrics = self.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            clip = {"x": 0, "y": 0, "width": max(self.width, size["width"]),
                    "height": min(size["height"], 16000), "scale": 1}
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if clip:
            params["clip"] = clip
        data = self.send("Page.captureScreenshot", **params)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
