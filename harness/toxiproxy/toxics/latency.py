"""``latency``: every chunk arrives ``latency`` ms (± ``jitter``) after it was read.

The delay counts from when the proxy read the chunk, so a steady stream keeps
its throughput; only its timing shifts (as in Toxiproxy).
"""

from __future__ import annotations

import asyncio
import time

from harness.toxiproxy.channel import Channel, Chunk, End, Item, Sink
from harness.toxiproxy.toxics.base import Toxic


class LatencyToxic(Toxic):
    type_name = "latency"
    fields = ("latency", "jitter")

    def delay_s(self) -> float:
        delay = self.attrs["latency"]
        jitter = self.attrs["jitter"]
        if jitter > 0:
            delay += self.rng.randint(-jitter, jitter)
        return delay / 1000.0

    async def pipe(self, inp: Channel, out: Sink) -> None:
        while True:
            item = await inp.get()
            self.held = [item]  # keeps its read stamp: if re-queued, the delay is not doubled
            passed: Item = item
            if isinstance(item, Chunk):
                due = item.stamp + self.delay_s()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                    passed = Chunk(item.data, due)  # a later latency toxic adds its own delay
            await out.put(passed)
            self.held = []
            if isinstance(item, End):
                return
