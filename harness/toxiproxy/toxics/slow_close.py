"""``slow_close``: the end of the stream is held back ``delay`` ms; data is not."""

from __future__ import annotations

import asyncio

from harness.toxiproxy.channel import Channel, End, Sink
from harness.toxiproxy.toxics.base import Toxic


class SlowCloseToxic(Toxic):
    type_name = "slow_close"
    fields = ("delay",)

    async def pipe(self, inp: Channel, out: Sink) -> None:
        while True:
            item = await inp.get()
            self.held = [item]
            if isinstance(item, End) and self.attrs["delay"] > 0:
                await asyncio.sleep(self.attrs["delay"] / 1000.0)
            await out.put(item)
            self.held = []
            if isinstance(item, End):
                return
