"""Items that flow through a link, and the bounded channel between toxics.

A link is a pipeline (reader -> toxic -> toxic -> writer), like Toxiproxy's
chain of stubs. Each stage pulls items from a :class:`Channel` and pushes them
to the next one. Channels are bounded in *bytes* so that a slow stage (or a
slow reader at the far end) stops the pipeline instead of letting the proxy
buffer without limit. Each channel has exactly one producer and one consumer,
which keeps the implementation to a couple of futures.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol


class Chunk:
    """Some bytes read from a socket, stamped with the time they were read."""

    __slots__ = ("data", "stamp")

    def __init__(self, data: bytes, stamp: float | None = None) -> None:
        self.data = data
        self.stamp = time.monotonic() if stamp is None else stamp

    def __repr__(self) -> str:
        return f"Chunk({len(self.data)} bytes)"


class End:
    """Marker that ends a stream; nothing follows it.

    ``mode`` says what the link's writer does with it: ``fin`` (the source
    half-closed: shut down writing towards the destination and keep the other
    direction flowing), ``close`` (a toxic ended the connection: close both
    sockets) or ``reset`` (close both sockets with RST, SO_LINGER 0). In
    Toxiproxy all three are "the stub's output channel was closed"; the
    marker travels through the rest of the chain the same way, so a
    ``slow_close`` after a ``limit_data`` delays that close too.
    """

    __slots__ = ("mode",)

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __repr__(self) -> str:
        return f"End({self.mode})"


EOF = End("fin")
CLOSE = End("close")
RESET = End("reset")
Item = Chunk | End


def item_size(item: Item) -> int:
    """Bytes an item accounts for in a channel's budget."""
    return len(item.data) if isinstance(item, Chunk) else 0


class Sink(Protocol):
    """Where a stage writes: the next channel or the link's writer."""

    async def put(self, item: Item) -> None: ...


class Channel:
    """A FIFO of items, bounded in bytes, one producer and one consumer.

    ``put`` waits while the channel holds ``limit`` bytes or more (a single
    item larger than the limit is still accepted into an empty channel, so no
    chunk is ever too large to pass). ``put_nowait`` never waits: the link's
    reader uses it and pauses the socket instead; ``on_level`` is called when
    a ``get`` brings the channel back under its limit, to resume reading.
    """

    def __init__(self, limit: int, on_level: Callable[[], None] | None = None) -> None:
        self.limit = limit
        self.size = 0
        self._items: deque[Item] = deque()
        self._getter: asyncio.Future[None] | None = None
        self._putter: asyncio.Future[None] | None = None
        self.on_level = on_level

    def __len__(self) -> int:
        return len(self._items)

    @property
    def full(self) -> bool:
        return self.size >= self.limit

    def put_nowait(self, item: Item) -> None:
        self._items.append(item)
        self.size += item_size(item)
        _wake(self._getter)

    async def put(self, item: Item) -> None:
        while self._items and self.size >= self.limit:
            self._putter = asyncio.get_running_loop().create_future()
            try:
                await self._putter
            finally:
                self._putter = None
        self.put_nowait(item)

    async def get(self) -> Item:
        while not self._items:
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        item = self._items.popleft()
        self.size -= item_size(item)
        if self.size < self.limit:
            _wake(self._putter)
            if self.on_level is not None:
                self.on_level()
        return item

    def drain(self) -> list[Item]:
        """Take every item out at once (used when the chain is rebuilt)."""
        items = list(self._items)
        self._items.clear()
        self.size = 0
        _wake(self._putter)
        return items

    def extend(self, items: Iterable[Item]) -> None:
        for item in items:
            self.put_nowait(item)


def _wake(fut: asyncio.Future[None] | None) -> None:
    if fut is not None and not fut.done():
        fut.set_result(None)
