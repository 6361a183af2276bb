"""``reset_peer``: when data arrives, wait ``timeout`` ms, then reset both sockets.

The connection is closed with SO_LINGER 0, so each peer sees a TCP RST
(ECONNRESET). The data that triggered it is dropped. As in Toxiproxy, an idle
connection is left alone until something arrives on this stream.
"""

from __future__ import annotations

import asyncio
import time

from harness.toxiproxy.channel import RESET, Channel, Sink
from harness.toxiproxy.toxics.base import Toxic


class ResetPeerToxic(Toxic):
    type_name = "reset_peer"
    fields = ("timeout",)

    def __init__(self, attributes: dict[str, int]) -> None:
        super().__init__(attributes)
        self._reset_at: float | None = None  # set when data arrived: survives a rebuild

    async def pipe(self, inp: Channel, out: Sink) -> None:
        if not self.held:
            if self._reset_at is None:
                await inp.get()  # dropped
                self._reset_at = time.monotonic() + self.attrs["timeout"] / 1000.0
            wait = self._reset_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.held = [RESET]
        await self.put_held(out)
