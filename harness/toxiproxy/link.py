"""One direction of a proxied connection: source socket -> toxics -> destination.

With no toxic on it a link is a straight copy done inside ``data_received``
(no task, no queue), which is what keeps the proxy's added latency low. With
toxics it becomes a pipeline of tasks joined by byte-bounded channels, in the
order the toxics were created, like Toxiproxy's chain of stubs.

Changing the toxics (add, update, remove) rebuilds the pipeline: every toxic's
task is cancelled, the items it held and the items waiting at its input are
collected, and each group is put back at the input of the first toxic that
still stands at or after its old place (or written out if none does). Nothing
is lost, duplicated or reordered, and a toxic that data already passed is not
applied to it a second time.

Parked bytes: Toxiproxy dials upstream as soon as it accepts a client and
only then starts reading from it, so every toxic sees the client's bytes with
the upstream connection up. Here the client's socket can deliver its first
bytes before the upstream connect completes (uvloop reads before
``pause_reading`` takes effect), so a link is not *started* until the
connection is up: whatever its source delivers before that (bytes, the end
of stream) waits in ``_parked``, in front of the whole chain, and enters it
when :meth:`start` runs. The toxics in place at that moment apply to it,
whichever were added or removed meanwhile. (Parking at the *output* instead
let ``limit_data`` pass its bytes into the parking area and close the
connection before the upstream connect finished: the upstream server then
saw no connection at all.)

Seeded decisions: a toxic's random choices (does it apply to this
connection, the jitter of each delay, the size of each slice) come from the
generator of its :class:`~harness.toxiproxy.spec.ToxicSpec`, seeded from the
``seed`` the client gave when creating it; each link draws its toxicity roll
and the seed of its own toxic instance from it, in connection order.

Ownership: a link knows nothing of the connection that holds it. It is given
its two sockets (anything with a ``transport``) and one callback, ``on_end``,
through which it reports how its stream ended (``fin``, ``reset``,
``graceful``, or ``abort`` when a toxic failed); the connection decides what
that means for the other direction and the sockets.

Backpressure: the source socket stops being read while the destination's
write buffer is over its high-water mark (straight copy) or while the
pipeline's input channel is full (toxics), so memory per connection stays
bounded however slow the reader is.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol

from harness.toxiproxy.channel import Channel, Chunk, End, Item
from harness.toxiproxy.toxics import REGISTRY, Toxic

if TYPE_CHECKING:
    from harness.toxiproxy.spec import ToxicSpec

#: How a link's stream ended, as reported to its owner: the source half-closed
#: (``fin``), reset or vanished, the link was told to close (``graceful``), or a
#: toxic task failed (``abort``).
EndHow = Literal["fin", "reset", "graceful", "abort"]

log = logging.getLogger(__name__)

#: Bytes a channel between two toxics may hold before its producer waits.
CHANNEL_LIMIT = 256 * 1024


class Socket(Protocol):
    """One end of a link: the transport it reads from or writes to (None until connected)."""

    transport: asyncio.Transport | None


class Counters:
    """Bytes through one direction of one proxy (exported by ``/metrics``)."""

    __slots__ = ("received", "sent")

    def __init__(self) -> None:
        self.received = 0
        self.sent = 0


class _Writer:
    """The end of the pipeline: writes to the destination socket."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def put(self, item: Item) -> None:
        link = self.link
        if isinstance(item, End):
            link.deliver_end(item)
            return
        # wait first, then write without awaiting: a cancelled put never wrote
        while link.dest_paused and not link.finished:
            fut = asyncio.get_running_loop().create_future()
            link.resume_waiter = fut
            try:
                await fut
            finally:
                link.resume_waiter = None
        link.write(item.data)


class _Stage:
    """A toxic placed in this link's chain, with its creation order."""

    __slots__ = ("name", "seq", "toxic")

    def __init__(self, name: str, seq: int, toxic: Toxic) -> None:
        self.name = name
        self.seq = seq
        self.toxic = toxic


class Link:
    """Moves bytes one way between two sockets; reports the end of its stream to ``on_end``."""

    def __init__(self, direction: str, counters: Counters,
                 on_end: Callable[[Link, EndHow], None]) -> None:
        self.direction = direction
        self.counters = counters
        self.on_end = on_end
        self.src: Socket | None = None
        self.dst: Socket | None = None
        self.finished = False  # the end of the stream was delivered, or the link was stopped
        self.dest_paused = False
        self.resume_waiter: asyncio.Future[None] | None = None
        # every toxic of this direction on this link: its instance, or None when
        # the toxicity roll said the toxic skips this connection
        self.toxics: dict[str, Toxic | None] = {}
        self._seqs: dict[str, int] = {}
        self._stages: list[_Stage] = []
        self._channels: list[Channel] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._input: Channel | None = None  # None: straight copy
        self._reading_paused = False
        self._lock = asyncio.Lock()
        self._writer = _Writer(self)
        self._parked: list[Item] = []  # read before the link started
        self._started = False  # start() installed the first pipeline

    # ------------------------------------------------------------------ data path
    def feed(self, data: bytes) -> None:
        """Bytes read from the source socket."""
        self.counters.received += len(data)
        if self.finished:
            return
        if not self._started:
            self._park(Chunk(data))
            return
        self._push(data)

    def _push(self, data: bytes) -> None:
        inp = self._input
        if inp is None:
            self.write(data)
        else:
            inp.put_nowait(Chunk(data))
            if inp.size >= inp.limit:
                self.update_reading()

    def feed_end(self, end: End) -> None:
        """The source half-closed (or vanished)."""
        if self.finished:
            return
        if not self._started:
            self._park(end)
        elif self._input is None:
            self.deliver_end(end)
        else:
            self._input.put_nowait(end)

    def _park(self, item: Item) -> None:
        """Hold what arrived before the link started; stop reading until it does."""
        self._parked.append(item)
        transport = self.src.transport if self.src is not None else None
        if transport is not None and not transport.is_closing() and not self._reading_paused:
            self._reading_paused = True
            transport.pause_reading()

    def write(self, data: bytes) -> None:
        transport = self.dst.transport if self.dst is not None else None
        if transport is None:
            # cannot happen once started (the destination is connected first);
            # dropping is the honest outcome if it ever does
            log.warning("%s link: no destination socket, %d bytes dropped", self.direction,
                        len(data))
            return
        if not transport.is_closing():
            transport.write(data)
            self.counters.sent += len(data)

    def deliver_end(self, end: End) -> None:
        if self.finished:
            return
        self.finished = True
        if end.mode == "fin":
            self._write_eof()
            self.on_end(self, "fin")
        else:
            self.on_end(self, "reset" if end.mode == "reset" else "graceful")

    def _write_eof(self) -> None:
        transport = self.dst.transport if self.dst is not None else None
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            transport.write_eof()

    def set_dest_paused(self, paused: bool) -> None:
        self.dest_paused = paused
        if not paused and self.resume_waiter is not None and not self.resume_waiter.done():
            self.resume_waiter.set_result(None)
        self.update_reading()

    def update_reading(self) -> None:
        """Pause or resume reading the source to keep buffers bounded."""
        inp = self._input
        want_pause = (self.dest_paused if inp is None else inp.full) and not self.finished
        if want_pause == self._reading_paused or self.src is None:
            return
        transport = self.src.transport
        if transport is None or transport.is_closing():
            return
        self._reading_paused = want_pause
        if want_pause:
            transport.pause_reading()
        else:
            transport.resume_reading()

    def stop(self) -> None:
        """Drop everything in flight; the connection is going away."""
        self.finished = True
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._tasks = []
        self._stages = []
        self._channels = []
        self._input = None
        if self.resume_waiter is not None and not self.resume_waiter.done():
            self.resume_waiter.set_result(None)

    # ------------------------------------------------------------------ toxics
    def roll(self, spec: ToxicSpec) -> None:
        """Place (or not, by toxicity) a new toxic on this link. Call :meth:`rebuild` after.

        Both draws come from the spec's generator, always in this order (the
        roll, then the instance's seed), so one seed gives one sequence of
        decisions for a given order of connections.
        """
        self._seqs[spec.name] = spec.seq
        active = spec.rng.random() < spec.toxicity
        instance_seed = spec.rng.getrandbits(64)
        self.toxics[spec.name] = self._instance(spec, instance_seed) if active else None

    @staticmethod
    def _instance(spec: ToxicSpec, seed: int) -> Toxic:
        toxic = REGISTRY[spec.type](spec.attributes)
        toxic.rng = random.Random(seed)
        return toxic

    def reconfigure(self, spec: ToxicSpec, toxicity_changed: bool) -> None:
        """An updated toxic: new attributes; a new roll if its toxicity changed."""
        current = self.toxics.get(spec.name)
        if current is not None:
            current.configure(spec.attributes)
        if toxicity_changed:
            active = spec.rng.random() < spec.toxicity
            instance_seed = spec.rng.getrandbits(64)
            if active and current is None:
                self.toxics[spec.name] = self._instance(spec, instance_seed)
            elif not active:
                self.toxics[spec.name] = None

    def forget(self, name: str) -> Toxic | None:
        """Take a toxic off this link; returns its instance if it was active."""
        self._seqs.pop(name, None)
        return self.toxics.pop(name, None)

    def _active_stages(self) -> list[_Stage]:
        stages = [
            _Stage(name, self._seqs[name], toxic)
            for name, toxic in self.toxics.items()
            if toxic is not None
        ]
        stages.sort(key=lambda s: s.seq)
        return stages

    def start(self) -> None:
        """Install the toxics rolled so far, then let in what was parked (the
        connection's both sockets are up)."""
        if self._started:
            return
        self._started = True
        parked, self._parked = self._parked, []
        if self.finished:
            return
        stages = self._active_stages()
        self._install(stages, [[] for _ in range(len(stages) + 1)])
        for item in parked:
            if isinstance(item, End):
                self.feed_end(item)
                break
            if self.finished:
                break
            self._push(item.data)
        self.update_reading()

    async def rebuild(self) -> None:
        """Rebuild the pipeline from ``self.toxics`` without losing a byte.

        Shielded: once begun, a rebuild completes even if the API request that
        asked for it is cancelled, so a link is never left with its old tasks
        cancelled and no new ones.
        """
        await asyncio.shield(self._rebuild())

    async def _rebuild(self) -> None:
        async with self._lock:
            if self.finished or not self._started:
                return  # not started yet: start() will install self.toxics
            old_stages, old_channels, old_tasks = self._stages, self._channels, self._tasks
            for task in old_tasks:
                task.cancel()
            if old_tasks:
                await asyncio.gather(*old_tasks, return_exceptions=True)
            if self.finished:
                return
            new_stages = self._active_stages()
            # carry each old stage's pending items to the first new stage at or after it
            buckets: list[list[Item]] = [[] for _ in range(len(new_stages) + 1)]
            for stage, channel in reversed(list(zip(old_stages, old_channels, strict=True))):
                pending = list(stage.toxic.held) + channel.drain()
                stage.toxic.held = []
                target = next(
                    (i for i, new in enumerate(new_stages) if new.seq >= stage.seq),
                    len(new_stages),
                )
                buckets[target].extend(pending)
            self._install(new_stages, buckets)

    def _install(self, stages: Sequence[_Stage], buckets: list[list[Item]]) -> None:
        for item in buckets[-1]:  # past every toxic: straight out, oldest first
            if isinstance(item, End):
                self.deliver_end(item)
                break
            self.write(item.data)
        if self.finished:
            return
        self._stages = list(stages)
        self._channels = [Channel(CHANNEL_LIMIT) for _ in stages]
        for channel, bucket in zip(self._channels, buckets, strict=False):
            channel.extend(bucket)
        if self._channels:
            self._channels[0].on_level = self.update_reading
            self._input = self._channels[0]
        else:
            self._input = None
        self._tasks = []
        for i, stage in enumerate(self._stages):
            out = self._channels[i + 1] if i + 1 < len(self._channels) else self._writer
            task = asyncio.get_running_loop().create_task(
                stage.toxic.pipe(self._channels[i], out), name=f"toxic:{stage.name}"
            )
            task.add_done_callback(self._stage_done)
            self._tasks.append(task)
        self.update_reading()

    def _stage_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("toxic %s failed on %s: %r", task.get_name(), self.direction, exc)
            self.on_end(self, "abort")
