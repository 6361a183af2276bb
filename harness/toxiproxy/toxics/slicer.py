"""``slicer``: cuts each chunk into pieces of about ``average_size`` bytes.

Piece sizes vary by up to ``size_variation`` bytes and each piece is followed
by a pause of ``delay`` microseconds: the reader sees the same bytes in many
small reads, as over a real network.
"""

from __future__ import annotations

import asyncio
import itertools
import random

from harness.toxiproxy.channel import Channel, Chunk, End, Sink
from harness.toxiproxy.toxics.base import Toxic


def slice_points(size: int, average: int, variation: int) -> list[int]:
    """Cut offsets for a chunk of ``size`` bytes: halve until pieces are small enough."""
    average = max(1, average)
    variation = max(0, min(variation, average - 1))
    points = [0]
    stack = [(0, size)]
    while stack:
        start, end = stack.pop()
        if end - start - average <= variation:
            points.append(end)
            continue
        mid = start + (end - start) // 2
        if variation:
            mid += random.randint(-variation, variation)
        mid = min(max(mid, start + 1), end - 1)
        stack.append((mid, end))
        stack.append((start, mid))
    return points


class SlicerToxic(Toxic):
    type_name = "slicer"
    fields = ("average_size", "size_variation", "delay")

    async def pipe(self, inp: Channel, out: Sink) -> None:
        await self._send_held(out)
        while True:
            item = await inp.get()
            if isinstance(item, End):
                self.held = [item]
                await self.put_held(out)
                return
            cuts = slice_points(
                len(item.data), self.attrs["average_size"], self.attrs["size_variation"]
            )
            data = item.data
            self.held = [Chunk(data[a:b], item.stamp) for a, b in itertools.pairwise(cuts)]
            await self._send_held(out)

    async def _send_held(self, out: Sink) -> None:
        while self.held:
            await out.put(self.held[0])
            del self.held[0]
            delay_us = self.attrs["delay"]
            if delay_us > 0:
                await asyncio.sleep(delay_us / 1_000_000)
