"""``reset_peer``: when data arrives, wait ``timeout`` ms, then reset both sockets.

The connection is closed with SO_LINGER 0, so each peer sees a TCP RST
(ECONNRESET). The data that triggered it is dropped. As in Toxiproxy, an idle
connection is left alone until something arrives on this stream.

Once data has started the countdown the reset is owed, as in Toxiproxy
(whose wait cannot be interrupted): the pending RESET is held from that
moment, so a rebuild that removes the toxic carries it on and the connection
is reset at once rather than after the rest of the timeout. Without that, a
toxic removed mid-countdown left a connection open whose bytes it had
swallowed: a ZeroMQ peer whose greeting vanished waits for the handshake
timeout (30 s) and a long-lived socket looked dead for the rest of a run.
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
        if self._reset_at is None:
            await inp.get()  # dropped
            self._reset_at = time.monotonic() + self.attrs["timeout"] / 1000.0
        # Owed from now on: a rebuild carries it on even if this toxic is removed.
        self.held = [RESET]
        wait = self._reset_at - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        await self.put_held(out)
