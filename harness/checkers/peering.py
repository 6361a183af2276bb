"""Contracts of inter-broker routing (peering): local first, stale peers, lost requests.

A peering broker serves a request locally while it has an idle worker and
passes it to a peer (the cloud) only when it has none; a peer's capacity
reaches it over the state flow, so when a peer dies, freezes or its state
stops arriving, the broker's picture goes stale and it may keep sending
work there. Three contracts, all judged from the brokers' ``route`` events
(replayed per broker process exactly as for ``lru_dispatch``, see
:mod:`harness.checkers.loadbalance`) and the harness's own events:

- ``local_first``: a request goes to the cloud only when the broker had no
  idle local worker at that moment, and a request that came from a peer is
  never passed on to another one (no routing loops);
- ``stale_peer_routes(within)``: once a peer is dead, paused, or cut off
  from the router's state subscription, the router stops sending it
  requests within ``within`` seconds;
- ``no_loss_in_dead_peer``: a request sent to a peer that died before
  answering it was lost there; it is a violation unless the client's retry
  got it answered anyway (the Guide's design has no retry of its own).

Brokers are known to each other by name: a ``route`` event's ``peer`` is the
name the peer announced, which is its node's ``name`` option, else its node
name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import CheckContext, CheckResult, Event
from harness.checkers.routing import Decision, replay_brokers
from harness.checkers.rules import paused_spans
from harness.checkers.timeline import (
    NETWORK_FAULTS,
    Interval,
    alive_intervals,
    fault_windows,
    killed_by_nemesis,
    run_end,
)
from harness.checkers.verdicts import MAX_VIOLATIONS, decide, seconds, violation
from harness.history import operations

DEFAULT_STALE_WITHIN = 1.0  # s


def _cloud(decision: Decision) -> bool:
    return decision.event.get("to") == "cloud"


def _came_from_cloud(decision: Decision) -> bool:
    return decision.event.get("from") == "cloud"


def broker_names(ctx: CheckContext, brokers: Sequence[str]) -> dict[str, str]:
    """Announced name -> node: a node's ``name`` option, else its node name.

    Covers every node of the scenario (a peer that never routed anything is
    still a peer) and the brokers seen in the history.
    """
    names: dict[str, str] = {node: node for node in brokers}
    names.update({node: node for node in ctx.nodes})
    for node, facts in ctx.nodes.items():
        name = facts.options.get("name")
        if name:
            names[str(name)] = node
    return names


def local_first(
    history: list[Event], ctx: CheckContext, *, min_cloud: int = 0
) -> CheckResult:
    """A request goes to the cloud only when its broker had no idle local worker.

    Each broker's ``route`` events are judged against its idle FIFO as its own
    ``idle``/``route``/``forget`` events left it at that moment:

    - a ``route`` with ``to: cloud`` while a local worker was idle is flagged,
      naming the idle workers;
    - a ``route`` with ``to: cloud`` of a request that came from a peer
      (``from: cloud``) is flagged: requests never travel on to a third broker.

    ``min_cloud``: how many requests must have gone to the cloud for the run
    to have tested anything (a scenario about overflow sets it; fewer gives
    ``unknown``). Figures per broker: ``local``, ``cloud``, ``from_cloud``.
    Unknown when no broker traced a decision.
    """
    name = "local_first"
    end = run_end(history, ctx)
    replay = replay_brokers(history, end)
    violations: list[dict[str, Any]] = []
    per_broker: dict[str, dict[str, int]] = {}
    for decision in replay.decisions:
        row = per_broker.setdefault(decision.broker, {"local": 0, "cloud": 0, "from_cloud": 0})
        row["from_cloud" if _came_from_cloud(decision) else
            "cloud" if _cloud(decision) else "local"] += 1
        if not _cloud(decision) or len(violations) >= MAX_VIOLATIONS:
            continue
        peer = decision.event.get("peer")
        if _came_from_cloud(decision):
            violations.append(violation(
                f"{decision.broker} passed {decision.op!r}, which came from a peer, on to peer "
                f"{peer}: a routing loop", decision.event, broker=decision.broker))
        elif decision.idle:
            idle = [w for w, _ in decision.idle]
            head, since = decision.idle[0]
            violations.append(violation(
                f"{decision.broker} sent {decision.op!r} to peer {peer} while local worker "
                f"{head} had been idle since {since:.3f} ({len(idle)} idle)", decision.event,
                broker=decision.broker, idle=idle))
    cloud = sum(row["cloud"] for row in per_broker.values())
    figures: dict[str, Any] = {"brokers": per_broker, "cloud_routes": cloud,
                               "min_cloud": min_cloud, "ignored": replay.ignored}
    if not violations and replay.decisions and cloud < min_cloud:
        return CheckResult(name, "unknown", [], f"only {cloud} request(s) went to the cloud, "
                           f"fewer than min_cloud={min_cloud}: the overflow was not tested",
                           figures)
    return decide(
        name,
        violations,
        decided=bool(replay.decisions),
        figures=figures,
        ok_message=f"{cloud} request(s) went to the cloud, each while its broker had no idle "
                   "worker; none was passed on twice",
        unknown_message="no broker traced a routing decision",
    )


# -- when a router cannot hear a peer ----------------------------------------------------------


@dataclass(frozen=True)
class Episode:
    """A stretch of time during which ``router`` could not know ``peer``'s real capacity."""

    router: str
    peer: str  # node name
    cause: str  # "dead", "paused", "state cut"
    start: float
    end: float


def _link_cuts_state(link: str, router: str, peer: str) -> bool:
    """True when ``link`` (``a->b`` or ``a->b:port``) carries ``peer``'s state to ``router``."""
    source, _, rest = link.partition("->")
    target, _, port = rest.partition(":")
    return (source.strip() == router and target.strip() == peer
            and port.strip() in ("", "state"))


def _cut_applies(event: Event, router: str, peer: str) -> bool:
    target = event.get("target")
    if not isinstance(target, str):
        return False
    if target.strip() == "all":
        return True
    if event.get("fault") == "partition" or "|" in target:
        sides = [{n.strip() for n in side.split(",")} for side in target.split("|")]
        side_of = {n: i for i, side in enumerate(sides) for n in side}
        return router in side_of and peer in side_of and side_of[router] != side_of[peer]
    return any(_link_cuts_state(link, router, peer) for link in target.split(","))


def state_cuts(history: Sequence[Event], ctx: CheckContext, router: str, peer: str,
               end: float) -> list[Interval]:
    """When a network fault kept ``peer``'s state messages from reaching ``router``.

    Every network fault counts (a latency toxic delays state as surely as a
    partition drops it); each fault's window comes from the shared
    :func:`timeline.fault_windows`, so two faults on one link are two windows.
    """
    return [(w.start, w.until(end)) for w in fault_windows(history, ctx)
            if w.name in NETWORK_FAULTS and _cut_applies(w.event, router, peer)]


def pauses(history: Sequence[Event], node: str, end: float) -> list[Interval]:
    """When ``node`` was frozen (see :func:`rules.paused_spans`), clipped to the run."""
    return [(s, min(e, max(end, s))) for s, e in paused_spans(history).get(node, [])]


def dead_spans(history: Sequence[Event], node: str, end: float) -> list[Interval]:
    """When ``node``'s process did not exist (between a death and the next start)."""
    spans: list[Interval] = []
    cursor = 0.0
    for start, stop in alive_intervals(history, node, end):
        if start > cursor:
            spans.append((cursor, start))
        cursor = max(cursor, stop)
    if cursor < end:
        spans.append((cursor, end))
    # before the first start is not a death: a node that never ran is not a peer
    first = alive_intervals(history, node, end)
    return [s for s in spans if first and s[0] >= first[0][0]]


def episodes(history: Sequence[Event], ctx: CheckContext, router: str, peer: str,
             end: float) -> list[Episode]:
    """Every stretch during which ``router`` could not hear ``peer``, by cause."""
    found = [Episode(router, peer, "dead", s, e) for s, e in dead_spans(history, peer, end)]
    found += [Episode(router, peer, "paused", s, e) for s, e in pauses(history, peer, end)]
    found += [Episode(router, peer, "state cut", s, e)
              for s, e in state_cuts(history, ctx, router, peer, end)]
    return sorted(found, key=lambda ep: ep.start)


def stale_peer_routes(
    history: list[Event], ctx: CheckContext, *, within: float = DEFAULT_STALE_WITHIN
) -> CheckResult:
    """Once a peer is dead, frozen or its state cut off, brokers stop routing to it within a bound.

    For each broker (*router*) and each peer it sent requests to, an
    *episode* is a stretch during which the router could not learn the
    peer's real capacity: the peer's process was dead (from its end to its
    next start), paused, or a network fault cut the link from the router to
    the peer's state publisher (``router->peer:state``, ``router->peer``, a
    partition between them, or ``all``). A cloud ``route`` from the router to
    the peer more than ``within`` seconds into an episode is flagged; its
    *staleness* is measured either way.

    An episode counts as tested when the router was using the peer: it sent
    it a request in the ``within`` seconds before the episode began. Unknown
    when no episode was tested. Figures: ``episodes`` (router, peer, cause,
    start, ``stale_s`` = the last route into it after it began, ``routes``
    during it), ``max_stale_s``, ``within_s``.
    """
    name = "stale_peer_routes"
    end = run_end(history, ctx)
    replay = replay_brokers(history, end)
    names = broker_names(ctx, list(replay.idle_spans))
    cloud = [d for d in replay.decisions if _cloud(d)]
    violations: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    unmapped: set[str] = set()
    pairs: dict[tuple[str, str], list[Decision]] = {}
    for decision in cloud:
        peer_name = str(decision.event.get("peer"))
        peer = names.get(peer_name)
        if peer is None:
            unmapped.add(peer_name)
            continue
        pairs.setdefault((decision.broker, peer), []).append(decision)
    tested = 0
    for (router, peer), routes in sorted(pairs.items()):
        for episode in episodes(history, ctx, router, peer, end):
            before = [d for d in routes if episode.start - within <= d.event["t"] < episode.start]
            during = [d for d in routes if episode.start <= d.event["t"] <= episode.end]
            if not before and not during:
                continue
            tested += 1
            stale = max((d.event["t"] - episode.start for d in during), default=0.0)
            rows.append({"router": router, "peer": peer, "cause": episode.cause,
                         "start": round(episode.start, 6), "end": round(episode.end, 6),
                         "stale_s": round(stale, 6), "routes": len(during)})
            late = [d for d in during if d.event["t"] - episode.start > within]
            if late and len(violations) < MAX_VIOLATIONS:
                last = late[-1]
                violations.append(violation(
                    f"{router} kept sending requests to {peer} {seconds(stale)} after it was "
                    f"{episode.cause} at {episode.start:.3f} ({len(late)} after the bound "
                    f"{seconds(within)}; last {last.op!r})", late[0].event, last.event,
                    router=router, peer=peer, cause=episode.cause))
    figures: dict[str, Any] = {
        "episodes": rows,
        "max_stale_s": max((r["stale_s"] for r in rows), default=None),
        "within_s": within,
        "cloud_routes": len(cloud),
        "unmapped_peers": sorted(unmapped),
    }
    return decide(
        name,
        violations,
        decided=tested > 0,
        figures=figures,
        ok_message=f"{tested} episode(s) of a dead, frozen or unheard peer: routing to it "
                   f"stopped within {seconds(within)} (worst {seconds(figures['max_stale_s'])})",
        unknown_message="no peer a broker was sending work to died, froze or was cut off: "
                        "nothing was tested",
    )


def no_loss_in_dead_peer(history: list[Event], ctx: CheckContext) -> CheckResult:
    """A request sent to a peer that died before answering it is lost unless a retry saved it.

    For every cloud ``route`` of an op to a peer that was already dead, or
    whose process ended (kill, stop, restart or exit) after the route and
    before the op was answered: the op was *in a dead peer*. If its client
    never got an ``ok`` for it, it is *lost*, and flagged with the peer and
    the death; if it did (the client resent it and another way answered
    it), it is *recovered*. Ops whose own client the nemesis killed are not judged.
    Unknown when no request was ever in a peer when it died. Figures:
    ``sent_into_dead``, ``lost``, ``recovered``.
    """
    name = "no_loss_in_dead_peer"
    end = run_end(history, ctx)
    replay = replay_brokers(history, end)
    names = broker_names(ctx, list(replay.idle_spans))
    ops = operations(history)
    client_deaths = killed_by_nemesis(history)
    alive_cache: dict[str, list[Interval]] = {}
    violations: list[dict[str, Any]] = []
    counts = {"sent_into_dead": 0, "lost": 0, "recovered": 0, "orphaned": 0}
    judged: set[str] = set()
    for decision in replay.decisions:
        if not _cloud(decision) or decision.event["t"] > end:
            continue  # (after the run end the harness is stopping every node)
        peer = names.get(str(decision.event.get("peer")))
        if peer is None:
            continue
        if peer not in alive_cache:
            alive_cache[peer] = alive_intervals(history, peer, end)
        t = decision.event["t"]
        span = next(((s, e) for s, e in alive_cache[peer] if s <= t <= e), None)
        death = t if span is None else (span[1] if span[1] < end else None)
        if death is None or decision.op in judged:
            continue  # the peer outlived the run, or this op is already judged
        op = ops.get(decision.op)
        if op is not None and op.oks and op.oks[0]["t"] <= death:
            continue  # answered before the peer died: it was not in there any more
        judged.add(decision.op)
        counts["sent_into_dead"] += 1
        if op is not None and op.oks:
            counts["recovered"] += 1
            continue
        client = str(op.node) if op is not None else ""
        invoked = op.invoke["t"] if op is not None and op.invoke else t
        if any(d >= invoked for d in client_deaths.get(client, ())):
            counts["orphaned"] += 1
            continue
        counts["lost"] += 1
        if len(violations) < MAX_VIOLATIONS:
            where = "already dead" if span is None else f"which died at {death:.3f}"
            violations.append(violation(
                f"{decision.op!r} was sent by {decision.broker} to peer {peer} at {t:.3f}, "
                f"{where}, and was never answered", decision.event,
                op.invoke if op is not None else None, router=decision.broker, peer=peer))
    return decide(
        name,
        violations,
        decided=counts["sent_into_dead"] > 0,
        figures=dict(counts),
        ok_message=f"{counts['sent_into_dead']} request(s) were in a peer when it died; "
                   f"every one was answered after all ({counts['recovered']} recovered)",
        unknown_message="no request was in a peer when it died: nothing was tested",
    )
