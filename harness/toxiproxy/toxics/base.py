"""The shape every toxic shares: integer attributes and one async ``pipe``.

A toxic *type* (a subclass) names its attributes, all integers as in
Toxiproxy. One *instance* lives per link (one direction of one connection) for
as long as the toxic is on that link, so per-connection state such as
``limit_data``'s byte count survives the chain being rebuilt around it.

The pipeline contract (what lets toxics be added and removed live without
losing, duplicating or reordering a byte): whatever a toxic has taken from its
input but not yet handed to its output sits in ``self.held``, oldest first, at
every ``await``. When the link rebuilds its chain it cancels every toxic's
task and re-queues ``held`` in front of that toxic's input.
"""

from __future__ import annotations

import random
from typing import ClassVar

from harness.toxiproxy.channel import Channel, End, Item, Sink


class Toxic:
    """A pass-through toxic; subclasses override :meth:`pipe`."""

    type_name: ClassVar[str] = "noop"
    fields: ClassVar[tuple[str, ...]] = ()
    #: Removing this toxic closes the connections it was on (Toxiproxy's
    #: ``Cleanup`` hook, used by ``timeout``).
    closes_when_removed: ClassVar[bool] = False

    def __init__(self, attributes: dict[str, int]) -> None:
        self.attrs: dict[str, int] = dict(attributes)
        self.held: list[Item] = []
        # every random choice of this instance; the link seeds it from the
        # toxic's generator (see ToxicSpec), so one seed gives one run of choices
        self.rng = random.Random()

    def configure(self, attributes: dict[str, int]) -> None:
        """New attribute values (an API update); state is kept."""
        self.attrs = dict(attributes)

    async def pipe(self, inp: Channel, out: Sink) -> None:
        while True:
            item = await inp.get()
            self.held = [item]
            await out.put(item)
            self.held = []
            if isinstance(item, End):
                return

    async def put_held(self, out: Sink) -> None:
        """Hand every held item on, oldest first, keeping ``held`` exact."""
        while self.held:
            await out.put(self.held[0])
            del self.held[0]

    @classmethod
    def defaults(cls) -> dict[str, int]:
        return dict.fromkeys(cls.fields, 0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.attrs})"
