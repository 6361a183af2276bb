"""``limit_data``: the connection is closed once ``bytes`` bytes have passed.

Exactly ``bytes`` bytes reach the far side (the chunk that crosses the limit
is cut), then the connection closes. The count is per link and survives
updates of the toxic.
"""

from __future__ import annotations

from harness.toxiproxy.channel import CLOSE, Channel, Chunk, End, Sink
from harness.toxiproxy.toxics.base import Toxic


class LimitDataToxic(Toxic):
    type_name = "limit_data"
    fields = ("bytes",)

    def __init__(self, attributes: dict[str, int]) -> None:
        super().__init__(attributes)
        self.transmitted = 0

    async def pipe(self, inp: Channel, out: Sink) -> None:
        while True:
            if self.held:
                item = self.held[0]
            else:
                item = await inp.get()
                self.held = [item]
            if isinstance(item, End):
                await self.put_held(out)
                return
            remaining = max(0, self.attrs["bytes"] - self.transmitted)
            if remaining < len(item.data):
                item = Chunk(item.data[:remaining], item.stamp)
                self.held = [item]
            if item.data:
                await out.put(item)
                self.transmitted += len(item.data)
            self.held = []
            if self.attrs["bytes"] - self.transmitted <= 0:
                self.held = [CLOSE]
                await self.put_held(out)
                return
