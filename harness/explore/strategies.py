"""Hypothesis strategies for fault schedules, built from a :class:`Vocabulary`.

A drawn fault is a scenario :class:`Fault` (what a ``faults:`` entry resolves
to); a drawn schedule is one to ``max_faults`` of them, in time order, made
valid by :meth:`ScheduleBuilder.repair` (a fault that collides with an
earlier one is dropped, exactly where the scenario loader would refuse it).
Every kind of fault the vocabulary allows is drawn as often as any other,
and times, lengths and parameters evenly over their ranges (:func:`uniform`).
An example is a schedule and the run's seed (``ZCHAOS_SEED`` of every node),
so a saved example replays with the same seed. A batch is ``-j`` examples
run side by side.

Hypothesis never shrinks these (see docs/explore.md): real runs are not
deterministic, so :mod:`harness.explore.shrink` does its own,
confirmation-based shrinking. Hypothesis does the generating, the
targeting (``hypothesis.target``) and the example database.
"""

from __future__ import annotations

from hypothesis import strategies as st

from harness.explore.schedules import Schedule, ScheduleBuilder
from harness.explore.vocabulary import STEP, Vocabulary
from harness.scenario import Fault

SEEDS = st.integers(min_value=0, max_value=2**31 - 1)
Example = tuple[Schedule, int]


GRID_POINTS = 64  # a wide integer range is drawn from this many evenly spaced values


def uniform(low: int, high: int) -> st.SearchStrategy[int]:
    """An integer in [low, high], about evenly likely (``st.integers`` draws its lower
    bound about a third of the time, which starves long faults and late times)."""
    if high <= low:
        return st.just(low)
    if high - low < GRID_POINTS:
        return st.sampled_from(range(low, high + 1))
    step = (high - low) / (GRID_POINTS - 1)
    return st.sampled_from(sorted({round(low + i * step) for i in range(GRID_POINTS)}))


def _ticks(value: float) -> int:
    return round(value / STEP)


def _seconds(ticks: int) -> float:
    return round(ticks * STEP, 6)


@st.composite
def _timing(draw: st.DrawFn, vocab: Vocabulary, *, instant: bool,
            may_be_permanent: bool) -> tuple[float, float | None]:
    """How long a fault lasts, then when it starts, on the 100 ms grid inside the window.

    The length comes first and evenly: drawn the other way round (a start,
    then a length that still fits) long outages would be rare, and they are
    what many recovery bugs need.
    """
    start, end = _ticks(vocab.window[0]), _ticks(vocab.window[1])
    low, high = _ticks(vocab.length[0]), _ticks(vocab.length[1])
    if instant or (may_be_permanent and draw(st.sampled_from([False, False, False, True]))):
        return _seconds(draw(uniform(start, max(start, end - 1)))), None
    length = draw(uniform(low, max(low, min(high, end - start))))
    at = draw(uniform(start, max(start, end - length)))
    return _seconds(at), _seconds(length)


@st.composite
def process_faults(draw: st.DrawFn, vocab: Vocabulary, kind: str) -> Fault:
    targets = draw(st.sampled_from(vocab.process[kind]))
    instant = kind in ("restart", "start")
    at, length = draw(_timing(vocab, instant=instant,
                              may_be_permanent=vocab.permanent and kind in ("kill", "stop")))
    return Fault(at=at, action=kind, targets=list(targets), duration=length)


@st.composite
def partitions(draw: st.DrawFn, vocab: Vocabulary) -> Fault | None:
    if vocab.cuts is not None:
        sides = [list(side) for side in draw(st.sampled_from(vocab.cuts))]
        links = vocab.cut_links(set(sides[0]))
    else:
        nodes = list(vocab.nodes)
        side = set(draw(st.lists(st.sampled_from(nodes), min_size=1,
                                 max_size=len(nodes) - 1, unique=True)))
        if not vocab.partition_allowed(side):
            return None
        sides = [[n for n in nodes if n in side], [n for n in nodes if n not in side]]
        links = vocab.cut_links(side)
    at, length = draw(_timing(vocab, instant=False, may_be_permanent=False))
    return Fault(at=at, action="partition", sides=sides, links=links, duration=length)


@st.composite
def link_faults(draw: st.DrawFn, vocab: Vocabulary, kind: str) -> Fault:
    links = list(draw(st.sampled_from(vocab.link_options)))
    at, length = draw(_timing(vocab, instant=False, may_be_permanent=False))
    if kind == "disconnect":
        return Fault(at=at, action="disconnect", links=links, duration=length)
    if kind == "cut":
        stream = draw(st.sampled_from(["up", "down"]))
        return Fault(at=at, action="timeout", links=links, stream=stream,
                     attributes={"timeout": 0}, duration=length)
    spec = vocab.toxics[kind]
    attributes = {name: draw(uniform(lo, hi)) for name, (lo, hi) in spec.attributes.items()}
    if kind == "slicer" and "size_variation" in attributes and "average_size" in attributes:
        attributes["size_variation"] = min(attributes["size_variation"],
                                           attributes["average_size"])
    stream = draw(st.sampled_from(list(spec.streams)))
    low, high = spec.toxicity
    toxicity = low if low == high else round(draw(st.floats(low, high)), 2)
    return Fault(at=at, action=kind, links=links, stream=stream, attributes=attributes,
                 toxicity=toxicity, duration=length)


@st.composite
def faults(draw: st.DrawFn, vocab: Vocabulary) -> Fault | None:
    """One fault; every kind the vocabulary allows is as likely as any other."""
    kind = draw(st.sampled_from(vocab.kinds()))
    if kind in vocab.process:
        return draw(process_faults(vocab, kind))
    if kind == "partition":
        return draw(partitions(vocab))
    return draw(link_faults(vocab, kind))


def schedules(vocab: Vocabulary, builder: ScheduleBuilder) -> st.SearchStrategy[Schedule]:
    """One to ``max_faults`` faults, repaired into a valid schedule (may come out empty)."""
    drawn = st.lists(faults(vocab), min_size=1, max_size=vocab.max_faults)
    return drawn.map(lambda items: builder.repair(f for f in items if f is not None))


def examples(vocab: Vocabulary, builder: ScheduleBuilder) -> st.SearchStrategy[Example]:
    return st.tuples(schedules(vocab, builder), SEEDS)


def batches(vocab: Vocabulary, builder: ScheduleBuilder,
            size: int) -> st.SearchStrategy[list[Example]]:
    """``size`` independent examples, run side by side (``-j``)."""
    return st.lists(examples(vocab, builder), min_size=size, max_size=size)
