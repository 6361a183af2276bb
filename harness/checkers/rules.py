"""Rules several contracts share: budgets, deadlines, excuses, decidability.

Contracts stay independent of each other (none imports another's module);
whatever two of them must judge the same way is defined here, once, on top
of the facts in :mod:`timeline`:

- **Give-up budget** of a client: what its role declares
  (``harness.roles.Role.give_up``: sends, wait per attempt, pause between
  attempts, from the node's options and connect count). The bound within
  which it must have answered or given up is ``total x (1 + slack) + 0.2 s``.
  A client whose role declares no budget never gives up by design and is
  given :data:`DEFAULT_GRACE`.
- **Deadline** of an operation (:func:`due_time`): ``bound`` after its start,
  pushed back to ``bound`` after the end of every fault window that began
  before the deadline it had then. A fault that began after an op was
  already due excuses nothing.
- **Orphan** (:func:`orphaning_kill`): an op whose own client the nemesis
  killed, stopped or restarted after the op started and before its deadline;
  nobody waits for that reply any more. A kill after the deadline excuses
  nothing: the op was already overdue.
- **Too short to decide** (:func:`too_short`): the run ended before the last
  fault window closed plus the bound, so whether the system recovered from
  it was never observed.
- **Answer windows** (:func:`served_replies`): the interval in which the
  server named by an ``ok`` must have answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.checkers.base import CheckContext, Event
from harness.checkers.timeline import FaultWindow, Interval, killed_by_nemesis, named_nodes
from harness.history import Operation, operations
from harness.roles import GiveUp, give_up_budget

DEFAULT_GRACE = 5.0  # s an op may stay unresolved when its client declares no budget
DEFAULT_SLACK = 0.5  # the give-up bound's proportional margin, unless a contract says
BOUND_MARGIN = 0.2  # s added to every give-up bound (process start, poll and log overheads)


# -- budgets ---------------------------------------------------------------------

def budget(ctx: CheckContext, node: str | None) -> GiveUp | None:
    """The give-up budget the node's role declares, or None."""
    facts = ctx.nodes.get(node or "")
    if facts is None:
        return None
    return give_up_budget(facts.role, facts.options, max(1, len(facts.connects)))


def give_up_bound(ctx: CheckContext, node: str | None,
                  slack: float = DEFAULT_SLACK) -> float | None:
    """Seconds after an op's invoke by which its client must have answered or
    given up: ``total x (1 + slack) + 0.2``; None when the client has no budget."""
    found = budget(ctx, node)
    if found is None:
        return None
    return found.total * (1.0 + max(0.0, slack)) + BOUND_MARGIN


def resolve_bound(ctx: CheckContext, node: str | None) -> float:
    """How long an op of this client may stay unresolved before it is overdue:
    its give-up bound, or :data:`DEFAULT_GRACE` for a client with no budget."""
    bound = give_up_bound(ctx, node)
    return DEFAULT_GRACE if bound is None else bound


# -- deadlines and decidability ----------------------------------------------------

def due_time(start: float, bound: float, windows: Sequence[FaultWindow]) -> float:
    """When an op started at ``start`` is due, given ``bound`` and the fault windows.

    ``bound`` after ``start``, and ``bound`` after the end of every fault that
    began before the deadline computed so far (windows in start order; a
    fault never reverted ends where it began: the system must cope from
    then on). Faults that began after the op was due do not move it.
    """
    due = start + bound
    for window in windows:
        if window.start >= due:
            break
        due = max(due, window.until(window.start) + bound)
    return due


def too_short(end: float, heal: float | None, bound: float) -> bool:
    """True when the run ended before ``bound`` had passed since the last heal."""
    return heal is not None and end < heal + bound


# -- orphans ---------------------------------------------------------------------

def orphaning_kill(node: str | None, since: float, due: float,
                   deaths: dict[str, list[float]]) -> float | None:
    """The first nemesis kill/stop/restart of ``node`` in ``[since, due)``, if any."""
    times = [t for t in deaths.get(str(node), ()) if since <= t < due]
    return min(times) if times else None


def nemesis_deaths(history: Iterable[Event]) -> dict[str, list[float]]:
    """node -> times the nemesis killed, stopped or restarted it."""
    return killed_by_nemesis(history)


def paused_spans(history: Sequence[Event]) -> dict[str, list[Interval]]:
    """node -> when the nemesis had it frozen (SIGSTOP): from a ``pause`` to its
    revert, a ``resume``, or a kill/stop/restart of it (open-ended if none)."""
    spans: dict[str, list[Interval]] = {}
    since: dict[str, float] = {}
    for event in history:
        if event.get("type") != "fault":
            continue
        name, apply = event.get("fault"), event.get("phase", "apply") == "apply"
        for node in named_nodes(event.get("target")):
            if name == "pause" and apply:
                since.setdefault(node, event["t"])
            elif node in since and ((name == "pause" and not apply) or name == "resume"
                                    or (apply and name in ("kill", "stop", "restart"))):
                spans.setdefault(node, []).append((since.pop(node), event["t"]))
    for node, t in since.items():
        spans.setdefault(node, []).append((t, float("inf")))
    return spans


def paused_extension(spans: dict[str, list[Interval]], node: str | None, start: float,
                     deadline: float) -> float:
    """``deadline`` pushed back by the time ``node`` itself was frozen in between
    (see :func:`paused_spans`): a paused client cannot give up, so that time is
    not held against it."""
    for begin, finish in sorted(spans.get(str(node), ())):
        if begin >= deadline:
            break
        if finish > start:
            deadline += finish - max(begin, start)
    return deadline


# -- answers seen from the clients' side ----------------------------------------------

@dataclass(frozen=True)
class ServedReply:
    """An accepted reply and the window in which its server must have answered."""

    start: float  # the answering attempt was sent no earlier than this
    end: float  # the ok
    server: str  # node that answered
    ok: Event


def served_replies(history: Sequence[Event], ctx: CheckContext) -> list[ServedReply]:
    """Every first ``ok`` whose ``server`` endpoint maps to a node, with its answer window.

    The server answered after the attempt that got the reply was sent: after
    the op's last ``retry`` before the ok, else its invoke; and before the
    ok. Nothing tighter is sure: on a loaded machine a client may log its ok
    long after its own timeout. Sorted by start.
    """
    served: list[ServedReply] = []
    for op in operations(history).values():
        if op.invoke is None or not op.oks:
            continue
        ok = op.oks[0]
        owner = ctx.endpoint_owner.get(str(ok.get("server")))
        if owner is None:
            continue
        start = op.invoke["t"]
        for retry in op.retries:
            if start <= retry["t"] <= ok["t"]:
                start = retry["t"]
        if start <= ok["t"]:
            served.append(ServedReply(start, ok["t"], owner, ok))
    served.sort(key=lambda s: s.start)
    return served


def unresolved_at(op: Operation, t: float) -> bool:
    """True when ``op`` was invoked by ``t`` and neither answered nor given up before it."""
    if op.invoke is None or op.invoke["t"] > t:
        return False
    resolved = [e["t"] for e in op.oks + op.gave_ups]
    return not resolved or min(resolved) > t
