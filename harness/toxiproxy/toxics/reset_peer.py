"""``reset_peer``: when data arrives, wait ``timeout`` ms, then reset both sockets.

The connection is closed with SO_LINGER 0, so each peer sees a TCP RST
(ECONNRESET). The data that triggered it is dropped. As in Toxiproxy, an idle
connection is left alone until something arrives on this stream.
"""

from __future__ import annotations

import asyncio

from harness.toxiproxy.channel import RESET, Channel, Sink
from harness.toxiproxy.toxics.base import Toxic


class ResetPeerToxic(Toxic):
    type_name = "reset_peer"
    fields = ("timeout",)

    async def pipe(self, inp: Channel, out: Sink) -> None:
        if not self.held:
            await inp.get()  # dropped
            timeout_ms = self.attrs["timeout"]
            if timeout_ms > 0:
                await asyncio.sleep(timeout_ms / 1000.0)
            self.held = [RESET]
        await self.put_held(out)
