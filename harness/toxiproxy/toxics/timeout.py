"""``timeout``: a black hole. Data is dropped; the connection stays open.

With ``timeout`` > 0 the connection is closed once no data has arrived for
that many ms (Toxiproxy restarts its timer on every chunk it drops, and so do
we). With 0 it stays open until the toxic is removed. Removing the toxic
closes the connections it was on (Toxiproxy's cleanup does the same): the
bytes it swallowed are gone, so the stream could not resume intact anyway.
"""

from __future__ import annotations

import asyncio

from harness.toxiproxy.channel import CLOSE, Channel, End, Sink
from harness.toxiproxy.toxics.base import Toxic


class TimeoutToxic(Toxic):
    type_name = "timeout"
    fields = ("timeout",)
    closes_when_removed = True

    async def pipe(self, inp: Channel, out: Sink) -> None:
        await self.put_held(out)
        while True:
            timeout_ms = self.attrs["timeout"]
            if timeout_ms > 0:
                try:
                    async with asyncio.timeout(timeout_ms / 1000.0):
                        item = await inp.get()
                except TimeoutError:
                    self.held = [CLOSE]
                    await self.put_held(out)
                    return
            else:
                item = await inp.get()
            if isinstance(item, End):
                self.held = [item]
                await self.put_held(out)
                return
            # a chunk: dropped on the floor
