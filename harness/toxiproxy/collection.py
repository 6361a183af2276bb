"""Every proxy of a server, by name, and the operations that span them.

API handlers run concurrently; each mutation takes ``lock`` so that toxic
changes and proxy restarts never interleave on the same connections.
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.toxiproxy import errors
from harness.toxiproxy.proxy import Proxy
from harness.toxiproxy.spec import ProxyFields, parse_proxy


class ProxyCollection:
    """The proxies of one server."""

    def __init__(self) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise errors.PROXY_NOT_FOUND
        return proxy

    async def add(self, fields: ProxyFields) -> Proxy:
        if fields.name in self.proxies:
            raise errors.PROXY_EXISTS
        proxy = Proxy(fields.name, fields.listen, fields.upstream)
        if fields.enabled:
            await proxy.start()
        self.proxies[fields.name] = proxy
        return proxy

    async def add_or_replace(self, fields: ProxyFields) -> Proxy:
        existing = self.proxies.get(fields.name)
        if existing is not None:
            if existing.listen == fields.listen and existing.upstream == fields.upstream:
                return existing
            self.remove(fields.name)
        return await self.add(fields)

    def remove(self, name: str) -> None:
        proxy = self.get(name)
        proxy.stop()
        del self.proxies[name]

    async def populate(self, body: Any) -> tuple[list[Proxy], errors.ApiError | None]:
        """Create or replace a list of proxies; stops at the first failure."""
        if not isinstance(body, list):
            raise errors.BAD_REQUEST_BODY.with_detail("expected a JSON array of proxies")
        wanted = [parse_proxy(item, f" at proxy {i + 1}") for i, item in enumerate(body)]
        done: list[Proxy] = []
        for fields in wanted:
            try:
                done.append(await self.add_or_replace(fields))
            except errors.ApiError as exc:
                return done, exc
        return done, None

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        for proxy in list(self.proxies.values()):
            await proxy.start()
            await proxy.reset_toxics()

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()
