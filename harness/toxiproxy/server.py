"""The embedded Toxiproxy-compatible server: ``zchaos toxiproxy-server``.

Runs the HTTP API and every proxy on one asyncio loop. Three ways in:

* ``main()``: the CLI (also ``python -m harness.toxiproxy.server``). Prints
  ``toxiproxy-server listening on HOST:PORT`` once ready and exits 0 on
  SIGTERM/SIGINT.
* :class:`ToxiproxyServer`: start/stop it on a loop you already run.
* :class:`BackgroundServer`: the same on a private loop in a daemon thread,
  for tests and in-process use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from harness.toxiproxy.api import make_app
from harness.toxiproxy.collection import ProxyCollection

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8474


class ToxiproxyServer:
    """The API and its proxies on the running loop."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.host = host
        self.port = port
        self.collection = ProxyCollection()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> int:
        """Listen; returns the API's port (the real one when asked for 0)."""
        runner = web.AppRunner(make_app(self.collection), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        self.collection.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    stop: asyncio.Event | None = None,
    announce: bool = True,
) -> None:
    """Run until ``stop`` is set (or SIGTERM/SIGINT when ``stop`` is None)."""
    loop = asyncio.get_running_loop()
    if stop is None:
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    server = ToxiproxyServer(host, port)
    await server.start()
    if announce:
        print(f"toxiproxy-server listening on {host}:{server.port}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


class BackgroundServer:
    """A :class:`ToxiproxyServer` on its own loop in a daemon thread."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, loop: str = "asyncio") -> None:
        self.server = ToxiproxyServer(host, port)
        self.loop = new_loop(loop)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self.loop.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="zchaos toxiproxy-server",
        description="A Toxiproxy 2.x-compatible server (HTTP API and TCP proxies) "
        "embedded in zchaos.",
    )
    p.add_argument("--host", default=DEFAULT_HOST, help="API address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="API port; 0 picks a free one")
    p.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop: uvloop if installed (auto, the default), or the standard one",
    )
    p.add_argument("--verbose", "-v", action="store_true", help="log connections and API errors")
    return p


def new_loop(kind: str = "auto") -> asyncio.AbstractEventLoop:
    """An event loop: ``uvloop``, ``asyncio``, or ``auto`` (uvloop when installed)."""
    if kind != "asyncio":
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise SystemExit("toxiproxy-server: uvloop is not installed") from None
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _run(main_coro: Coroutine[Any, Any, None], kind: str) -> None:
    with asyncio.Runner(loop_factory=lambda: new_loop(kind)) as runner:
        runner.run(main_coro)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        try:
            _run(serve(args.host, args.port), args.loop)
        except OSError as exc:
            print(
                f"toxiproxy-server: cannot listen on {args.host}:{args.port}: {exc}",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
