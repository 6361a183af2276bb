"""``slicer``: cuts each chunk into pieces of about ``average_size`` bytes.

Piece sizes vary by up to ``size_variation`` bytes and each piece is followed
by a pause of ``delay`` microseconds: the reader sees the same bytes in many
small reads, as over a real network.

Pauses are kept on a schedule rather than slept one by one: event-loop timers
have millisecond granularity (asyncio rounds a 30 µs sleep up to about 1 ms,
uvloop down to nothing), so pauses shorter than a millisecond only yield to the
loop, and the time they owe is slept once it adds up to a millisecond. Each
piece is still its own write; on average the pause per piece is ``delay``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time

from harness.toxiproxy.channel import Channel, Chunk, End, Sink
from harness.toxiproxy.toxics.base import Toxic

#: Pauses owed below this are not slept yet (timers are not finer than that).
MIN_SLEEP_S = 0.001
#: Running late by more than this restarts the schedule from now (no burst).
CATCH_UP_S = 0.01


def slice_points(size: int, average: int, variation: int,
                 rng: random.Random | None = None) -> list[int]:
    """Cut offsets for a chunk of ``size`` bytes: halve until pieces are small enough.

    ``rng`` draws the variation of each cut (the toxic's seeded generator).
    """
    rng = rng or random.Random()
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
            mid += rng.randint(-variation, variation)
        mid = min(max(mid, start + 1), end - 1)
        stack.append((mid, end))
        stack.append((start, mid))
    return points


class SlicerToxic(Toxic):
    type_name = "slicer"
    fields = ("average_size", "size_variation", "delay")

    def __init__(self, attributes: dict[str, int]) -> None:
        super().__init__(attributes)
        self._due = 0.0  # when the next piece may leave

    async def pipe(self, inp: Channel, out: Sink) -> None:
        await self._send_held(out)
        while True:
            item = await inp.get()
            if isinstance(item, End):
                self.held = [item]
                await self.put_held(out)
                return
            cuts = slice_points(
                len(item.data), self.attrs["average_size"], self.attrs["size_variation"],
                self.rng,
            )
            data = item.data
            self.held = [Chunk(data[a:b], item.stamp) for a, b in itertools.pairwise(cuts)]
            await self._send_held(out)

    async def _send_held(self, out: Sink) -> None:
        while self.held:
            await self._wait_turn()
            await out.put(self.held[0])
            del self.held[0]
            self._book_pause()

    def _book_pause(self) -> None:
        """The pause owed after a piece: the next one may leave ``delay`` µs later."""
        delay_us = self.attrs["delay"]
        if delay_us > 0:
            now = time.monotonic()
            start = self._due if now - self._due < CATCH_UP_S else now
            self._due = start + delay_us / 1_000_000

    async def _wait_turn(self) -> None:
        # before the piece, not after the last one: a pause cut short by a
        # rebuild is still owed when the restarted toxic sends its next piece
        wait = self._due - time.monotonic()
        if wait >= MIN_SLEEP_S:
            await asyncio.sleep(wait)
        elif wait > 0:
            await asyncio.sleep(0)  # not due yet, too little to sleep: just yield
