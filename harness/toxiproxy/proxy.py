"""A proxy: one listening socket, and per accepted client a connection upstream.

Each :class:`Connection` owns two sockets (:class:`Side`) and two
:class:`~harness.toxiproxy.link.Link` objects, ``upstream`` (client -> server)
and ``downstream`` (server -> client). The proxy keeps its toxics as specs;
every connection rolls each toxic's ``toxicity`` once per link to decide
whether the toxic applies to it.

How a connection ends:

* a socket sends FIN: that direction is half-closed towards the other peer
  (``shutdown(SHUT_WR)``) and the other direction keeps flowing; once both
  directions have ended, both sockets close;
* a socket goes away (reset, error): what was read from it still flows out,
  nothing more is written to it, then both sockets close;
* a toxic ends it (``limit_data``, ``timeout``): both sockets close, with RST
  for ``reset_peer``;
* the proxy is disabled or deleted: every connection is dropped at once.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Any, cast

from harness.toxiproxy import errors
from harness.toxiproxy.channel import EOF
from harness.toxiproxy.link import Counters, EndHow, Link
from harness.toxiproxy.spec import ToxicSpec

log = logging.getLogger(__name__)

#: Write-buffer high-water mark per socket: above it the other side stops being read.
WRITE_HIGH_WATER = 256 * 1024
#: How long a gracefully closed socket may take to flush before it is aborted.
CLOSE_GRACE_S = 10.0


def split_hostport(addr: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) -> (host, port); raises ValueError."""
    host, sep, port = addr.rpartition(":")
    if not sep:
        raise ValueError(f"missing port in address {addr!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def join_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Side(asyncio.Protocol):
    """One socket of a connection (the client's or the upstream server's)."""

    def __init__(self, conn: Connection, role: str) -> None:
        self.conn = conn
        self.role = role
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.reader_link: Link  # carries what this socket reads
        self.writer_link: Link  # writes into this socket

    def bind_links(self, reader_link: Link, writer_link: Link) -> None:
        self.reader_link = reader_link
        self.writer_link = writer_link
        # the hot path: asyncio calls protocol.data_received, which is the link's feed
        self.data_received = reader_link.feed  # type: ignore[method-assign]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's do not subclass asyncio.Transport)
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.conn.side_made(self)

    def data_received(self, data: bytes) -> None:  # replaced in bind_links
        self.reader_link.feed(data)

    def eof_received(self) -> bool:
        self.reader_link.feed_end(EOF)
        return True  # keep the socket open: the other direction may still flow

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.conn.side_lost(self)

    def pause_writing(self) -> None:
        self.writer_link.set_dest_paused(True)

    def resume_writing(self) -> None:
        self.writer_link.set_dest_paused(False)


class Connection:
    """A client connection and its upstream connection, joined by two links."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.closed = False
        self.client = Side(self, "client")
        self.server = Side(self, "upstream")
        self.up = Link("upstream", proxy.counters["upstream"], self.link_ended)
        self.down = Link("downstream", proxy.counters["downstream"], self.link_ended)
        self.up.src, self.up.dst = self.client, self.server
        self.down.src, self.down.dst = self.server, self.client
        self.client.bind_links(self.up, self.down)
        self.server.bind_links(self.down, self.up)
        self._connect_task: asyncio.Task[None] | None = None
        for spec in proxy.toxics:
            self.link(spec.stream).roll(spec)

    def link(self, stream: str) -> Link:
        return self.up if stream == "upstream" else self.down

    def side_made(self, side: Side) -> None:
        if side is self.client:
            assert side.transport is not None
            # As Toxiproxy: dial upstream first, read the client after. Bytes the
            # loop reads anyway wait in front of the links until they start.
            side.transport.pause_reading()
            self._connect_task = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port = split_hostport(self.proxy.upstream)
            await loop.create_connection(lambda: self.server, host, port)
        except (OSError, ValueError) as exc:
            log.info("proxy %s: upstream %s: %s", self.proxy.name, self.proxy.upstream, exc)
            self.close("graceful")
            return
        if self.closed:
            if self.server.transport is not None:
                self.server.transport.abort()
            return
        # Both sockets are up: install the toxics in place now and let in what
        # either side sent meanwhile, through them.
        self.up.start()
        self.down.start()
        if self.closed:
            return
        if self.client.transport is not None and not self.client.transport.is_closing():
            self.client.transport.resume_reading()
        self.up.update_reading()

    def side_lost(self, side: Side) -> None:
        if self.closed:
            return
        other = self.server if side is self.client else self.client
        side.writer_link.stop()
        side.reader_link.feed_end(EOF)
        if other.transport is None and side is self.client:
            self.close("abort")  # the upstream connect is still pending
            return
        self.link_finished(side.writer_link)

    def link_ended(self, link: Link, how: EndHow) -> None:
        """A link's stream ended: a FIN half-closes only that direction, anything else
        closes the connection (with RST for ``reset``)."""
        if how == "fin":
            self.link_finished(link)
        else:
            self.close(how)

    def link_finished(self, link: Link) -> None:
        if self.up.finished and self.down.finished:
            self.close("graceful")

    def close(self, mode: str = "graceful") -> None:
        """End the connection: ``graceful`` (flush, FIN), ``abort`` or ``reset`` (RST)."""
        if self.closed:
            return
        self.closed = True
        self.proxy.connections.pop(self, None)
        self.up.stop()
        self.down.stop()
        task = self._connect_task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        loop = asyncio.get_running_loop()
        for side in (self.client, self.server):
            transport = side.transport
            if transport is None or side.lost:
                continue
            if mode == "reset":
                _set_linger_zero(transport)
                transport.abort()
            elif mode == "abort":
                transport.abort()
            else:
                transport.close()
                loop.call_later(CLOSE_GRACE_S, _abort_if_open, side)


def _set_linger_zero(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass


def _abort_if_open(side: Side) -> None:
    if not side.lost and side.transport is not None:
        side.transport.abort()


class Proxy:
    """A named TCP proxy from ``listen`` to ``upstream`` with its toxics."""

    def __init__(self, name: str, listen: str, upstream: str) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: list[ToxicSpec] = []
        # insertion-ordered, so toxics added later roll for connections in accept order
        self.connections: dict[Connection, None] = {}
        self.counters = {"upstream": Counters(), "downstream": Counters()}
        self._server: asyncio.base_events.Server | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": self.toxics_json(),
        }

    def toxics_json(self) -> list[dict[str, Any]]:
        # Toxiproxy lists the upstream chain first, then the downstream one
        ordered = [t for t in self.toxics if t.stream == "upstream"]
        ordered += [t for t in self.toxics if t.stream == "downstream"]
        return [t.to_json() for t in ordered]

    # ------------------------------------------------------------------ listening
    async def start(self) -> None:
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            host, port = split_hostport(self.listen)
            infos = await loop.getaddrinfo(
                host or "0.0.0.0", port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
            family, _, _, _, sockaddr = infos[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(sockaddr)
            except OSError:
                sock.close()
                raise
            server = await loop.create_server(self._accept, sock=sock, backlog=1024)
        except (OSError, ValueError) as exc:
            raise errors.ApiError(f"listen tcp {self.listen}: {exc}", 500) from exc
        self._server = server
        bound = server.sockets[0].getsockname()
        self.listen = join_hostport(bound[0], bound[1])
        self.enabled = True

    def _accept(self) -> Side:
        conn = Connection(self)
        self.connections[conn] = None
        return conn.client

    def stop(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.connections):
            conn.close("abort")
        self.enabled = False

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        if listen != self.listen or upstream != self.upstream:
            self.stop()
            self.listen, self.upstream = listen, upstream
        if enabled != self.enabled:
            if enabled:
                await self.start()
            else:
                self.stop()

    # ------------------------------------------------------------------ toxics
    def find_toxic(self, name: str) -> ToxicSpec | None:
        return next((t for t in self.toxics if t.name == name), None)

    async def add_toxic(self, spec: ToxicSpec) -> None:
        self.toxics.append(spec)
        links = [conn.link(spec.stream) for conn in self.connections]
        for link in links:
            link.roll(spec)
        await asyncio.gather(*(link.rebuild() for link in links))

    async def update_toxic(self, spec: ToxicSpec, attrs: dict[str, int], toxicity: float) -> None:
        toxicity_changed = toxicity != spec.toxicity
        spec.attributes, spec.toxicity = attrs, toxicity
        links = [conn.link(spec.stream) for conn in self.connections]
        for link in links:
            link.reconfigure(spec, toxicity_changed)
        await asyncio.gather(*(link.rebuild() for link in links))

    async def remove_toxic(self, spec: ToxicSpec) -> None:
        self.toxics.remove(spec)
        rebuilds = []
        for conn in list(self.connections):
            link = conn.link(spec.stream)
            instance = link.forget(spec.name)
            if instance is not None and instance.closes_when_removed:
                conn.close("graceful")
            elif instance is not None:
                rebuilds.append(link.rebuild())
        await asyncio.gather(*rebuilds)

    async def reset_toxics(self) -> None:
        for spec in list(self.toxics):
            await self.remove_toxic(spec)
