"""``bandwidth``: data passes at ``rate`` KB/s (1 KB = 1000 bytes); 0 = unlimited.

Large chunks are cut into pieces of 100 ms worth of data, so a low rate gives
a smooth trickle rather than one long pause and a burst (as in Toxiproxy).
"""

from __future__ import annotations

import asyncio
import time

from harness.toxiproxy.channel import Channel, Chunk, End, Sink
from harness.toxiproxy.toxics.base import Toxic

#: A gap longer than this between chunks restarts the schedule from now.
IDLE_RESET_S = 0.1


class BandwidthToxic(Toxic):
    type_name = "bandwidth"
    fields = ("rate",)

    def __init__(self, attributes: dict[str, int]) -> None:
        super().__init__(attributes)
        self._due = 0.0  # when the link is free to send again

    async def pipe(self, inp: Channel, out: Sink) -> None:
        await self._send_held(out)
        while True:
            item = await inp.get()
            self.held = [item]
            if isinstance(item, End):
                await out.put(item)
                self.held = []
                return
            rate = self.attrs["rate"]
            if rate > 0:
                step = rate * 100  # bytes in 100 ms
                data = item.data
                if len(data) > step:
                    self.held = [
                        Chunk(data[i : i + step], item.stamp) for i in range(0, len(data), step)
                    ]
            await self._send_held(out)

    async def _send_held(self, out: Sink) -> None:
        while self.held:
            item = self.held[0]
            rate = self.attrs["rate"]
            due = self._due
            if isinstance(item, Chunk) and rate > 0:
                now = time.monotonic()
                if now - due > IDLE_RESET_S:
                    due = now  # the link was idle: no credit for the gap
                # else: keep the schedule, so a late wake-up is caught up on
                due += len(item.data) / (rate * 1000.0)
                wait = due - now
                if wait > 0:
                    await asyncio.sleep(wait)
            await out.put(item)
            # committed once the piece is out: a piece re-queued by a rebuild
            # while it waited is not charged twice
            self._due = due
            del self.held[0]
