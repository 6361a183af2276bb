"""local_first, stale_peer_routes and no_loss_in_dead_peer: hand-made histories and a model.

The reference model is a peering broker reduced to its rules: a request
goes to the worker idle longest when there is one, else to a peer; a
request from a peer is served locally only; a router stops using a peer
once it has died (within the bound); a request in a peer when it died is
answered only if its client resends it. Its histories are never flagged;
one broken rule always is, named; a history with nothing to test is
``unknown``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from chk_events import by_time, context, ev, fault, invoke, lifecycle, ok
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checkers.peering import local_first, no_loss_in_dead_peer, stale_peer_routes

# Contracts whose reference-model properties this module checks.
PROPERTY_CONTRACTS = frozenset({'local_first', 'stale_peer_routes', 'no_loss_in_dead_peer'})

BROKERS = ("a", "b", "c")


def ctx(end: float = 10.0, names: dict[str, str] | None = None):
    nodes = {b: ("peering.broker", "server", {"name": (names or {}).get(b, b)} if names
                 and b in names else {}) for b in BROKERS}
    nodes.update({f"{b}c{i}": ("lazy_pirate.client", "client", {}) for b in BROKERS
                  for i in range(4)})
    c = context(nodes, end=end)
    facts = {n: replace(f, connects=(n[0],)) if f.kind == "client" else f
             for n, f in c.nodes.items()}
    return replace(c, nodes=facts)


def idle(t: float, broker: str, worker: str):
    return ev(t, broker, "idle", worker=worker, why="ready")


def local(t: float, broker: str, op: str, worker: str, source: str = "local"):
    return ev(t, broker, "route", op=op, worker=worker, to="local", **{"from": source})


def cloud(t: float, broker: str, op: str, peer: str, source: str = "local"):
    return ev(t, broker, "route", op=op, peer=peer, to="cloud", **{"from": source})


def serving(t: float, broker: str):
    return ev(t, broker, "serving")


# -- local_first -----------------------------------------------------------------------------


def test_cloud_route_with_no_idle_worker_is_fine() -> None:
    result = local_first(by_time(
        serving(0, "a"), idle(0.1, "a", "w1"), local(1.0, "a", "ac0:1", "w1"),
        cloud(1.1, "a", "ac1:1", "b"), local(1.2, "b", "ac1:1", "v1", source="cloud"),
    ), ctx())
    assert result.verdict == "ok", result.message
    assert result.figures["brokers"]["a"] == {"local": 1, "cloud": 1, "from_cloud": 0}
    assert result.figures["brokers"]["b"] == {"local": 0, "cloud": 0, "from_cloud": 1}


def test_cloud_route_while_a_worker_idles_is_flagged() -> None:
    result = local_first(by_time(serving(0, "a"), idle(0.1, "a", "w1"),
                                 cloud(1.0, "a", "ac0:1", "b")), ctx())
    assert result.verdict == "violated"
    assert "a sent 'ac0:1' to peer b while local worker w1 had been idle" in result.message


def test_passing_a_peer_request_on_is_a_routing_loop() -> None:
    result = local_first(by_time(serving(0, "b"),
                                 cloud(1.0, "b", "ac0:1", "c", source="cloud")), ctx())
    assert result.verdict == "violated"
    assert "routing loop" in result.message


def test_min_cloud_makes_an_untested_overflow_unknown() -> None:
    events = by_time(serving(0, "a"), idle(0.1, "a", "w1"), local(1.0, "a", "ac0:1", "w1"))
    assert local_first(events, ctx()).verdict == "ok"
    result = local_first(events, ctx(), min_cloud=1)
    assert result.verdict == "unknown"
    assert "fewer than min_cloud=1" in result.message


def test_local_first_unknown_without_decisions() -> None:
    assert local_first([], ctx()).verdict == "unknown"


# -- stale_peer_routes -----------------------------------------------------------------------


def test_routes_stopping_soon_after_a_peer_dies_pass_with_the_staleness() -> None:
    result = stale_peer_routes(by_time(
        lifecycle(0, "b", "start"), serving(0, "a"), cloud(1.0, "a", "ac0:1", "b"),
        fault(2.0, "kill", "b"), lifecycle(2.001, "b", "exit"),
        cloud(2.3, "a", "ac0:2", "b"),
        lifecycle(4.0, "b", "start"), cloud(4.5, "a", "ac0:3", "b"),
    ), ctx(), within=1.0)
    assert result.verdict == "ok", result.message
    (episode,) = result.figures["episodes"]
    assert episode["cause"] == "dead" and episode["routes"] == 1
    # the peer is dead from its logged exit (2.001), not from the kill's signal
    assert abs(episode["stale_s"] - (2.3 - 2.001)) < 1e-6


def test_routing_to_a_dead_peer_past_the_bound_is_flagged() -> None:
    result = stale_peer_routes(by_time(
        serving(0, "a"), cloud(1.0, "a", "ac0:1", "b"), fault(2.0, "kill", "b"),
        cloud(3.5, "a", "ac0:2", "b"),
    ), ctx(), within=1.0)
    assert result.verdict == "violated"
    assert "a kept sending requests to b 1.500 s after it was dead at 2.000" in result.message


def test_a_cut_state_link_is_an_episode_but_the_cloud_link_is_not() -> None:
    base = [serving(0, "a"), cloud(1.0, "a", "ac0:1", "b"), cloud(3.5, "a", "ac0:2", "b")]
    cut_state = by_time(*base, fault(2.0, "timeout", "a->b:state"),
                        fault(4.0, "timeout", "a->b:state", phase="revert"))
    cut_cloud = by_time(*base, fault(2.0, "timeout", "a->b:cloud"),
                        fault(4.0, "timeout", "a->b:cloud", phase="revert"))
    other_way = by_time(*base, fault(2.0, "timeout", "b->a:state"),
                        fault(4.0, "timeout", "b->a:state", phase="revert"))
    assert stale_peer_routes(cut_state, ctx()).verdict == "violated"
    assert stale_peer_routes(cut_cloud, ctx()).verdict == "unknown"
    assert stale_peer_routes(other_way, ctx()).verdict == "unknown"


def test_partitions_and_pauses_are_episodes() -> None:
    base = [serving(0, "a"), cloud(1.0, "a", "ac0:1", "b"), cloud(3.5, "a", "ac0:2", "b")]
    partition = by_time(*base, fault(2.0, "partition", "a | b,c"))
    paused = by_time(*base, fault(2.0, "pause", "b"))
    for history in (partition, paused):
        result = stale_peer_routes(history, ctx())
        assert result.verdict == "violated", result.message


def test_peers_are_mapped_by_their_name_option() -> None:
    history = by_time(serving(0, "a"), cloud(1.0, "a", "ac0:1", "east"),
                      fault(2.0, "kill", "b"), cloud(3.5, "a", "ac0:2", "east"))
    assert stale_peer_routes(history, ctx(names={"b": "east"})).verdict == "violated"
    unmapped = stale_peer_routes(history, ctx())
    assert unmapped.verdict == "unknown" and unmapped.figures["unmapped_peers"] == ["east"]


def test_an_episode_the_router_was_not_using_the_peer_for_is_untested() -> None:
    history = by_time(serving(0, "a"), cloud(0.2, "a", "ac0:1", "b"), fault(2.0, "kill", "b"))
    assert stale_peer_routes(history, ctx(), within=1.0).verdict == "unknown"


# -- no_loss_in_dead_peer ----------------------------------------------------------------------


def test_a_request_in_a_dead_peer_and_never_answered_is_lost() -> None:
    result = no_loss_in_dead_peer(by_time(
        lifecycle(0, "b", "start"), invoke(0.9, "ac0", 1), serving(0, "a"),
        cloud(1.0, "a", "ac0:1", "b"), fault(1.5, "kill", "b"), lifecycle(1.501, "b", "exit"),
    ), ctx(end=5.0))
    assert result.verdict == "violated"
    assert "'ac0:1' was sent by a to peer b at 1.000, which died at 1.501" in result.message
    assert result.figures["lost"] == 1


def test_a_retried_request_is_recovered_and_an_answered_one_was_not_in_there() -> None:
    result = no_loss_in_dead_peer(by_time(
        serving(0, "a"),
        invoke(0.8, "ac0", 1), cloud(0.9, "a", "ac0:1", "b"), ok(1.0, "ac0", 1),
        invoke(1.1, "ac1", 1), cloud(1.2, "a", "ac1:1", "b"),
        fault(1.5, "kill", "b"), ok(2.5, "ac1", 1),
    ), ctx(end=5.0))
    assert result.verdict == "ok", result.message
    assert result.figures["sent_into_dead"] == 1 and result.figures["recovered"] == 1


def test_sent_to_an_already_dead_peer() -> None:
    result = no_loss_in_dead_peer(by_time(
        serving(0, "a"), fault(1.0, "kill", "b"), invoke(1.1, "ac0", 1),
        cloud(1.2, "a", "ac0:1", "b")), ctx(end=5.0))
    assert result.verdict == "violated" and "already dead" in result.message


def test_no_request_in_a_dying_peer_is_unknown() -> None:
    assert no_loss_in_dead_peer([], ctx()).verdict == "unknown"
    history = by_time(serving(0, "a"), invoke(0.8, "ac0", 1), cloud(0.9, "a", "ac0:1", "b"),
                      ok(1.0, "ac0", 1))
    assert no_loss_in_dead_peer(history, ctx(end=5.0)).verdict == "unknown"


# -- the reference model -----------------------------------------------------------------------


@st.composite
def peering_runs(draw: st.DrawFn) -> list[dict]:
    """Broker a with 1-3 workers and two peers; requests arrive, workers finish, at random.

    Returns a history that follows every rule. Times are 10 ms steps.
    """
    workers = [f"w{i}" for i in range(draw(st.integers(1, 3)))]
    fifo: OrderedDict[str, None] = OrderedDict()
    busy: list[str] = list(workers)  # everyone starts by saying READY
    events: list[dict] = [serving(0, "a"), serving(0, "b"), serving(0, "c")]
    seq = 0
    for step in range(1, draw(st.integers(1, 40)) + 1):
        t = step * 0.01
        if busy and draw(st.booleans()):
            worker = busy.pop(draw(st.integers(0, len(busy) - 1)))
            fifo[worker] = None
            events.append(idle(t, "a", worker))
            continue
        seq += 1
        client = f"ac{seq % 4}"
        op = f"{client}:{seq}"
        events.append(invoke(t - 0.001, client, seq))
        if fifo:
            worker, _ = fifo.popitem(last=False)
            busy.append(worker)
            events.append(local(t, "a", op, worker))
        else:
            peer = draw(st.sampled_from(["b", "c"]))
            events.append(cloud(t, "a", op, peer))
            events.append(local(t + 0.002, peer, op, "v1", source="cloud"))
    return by_time(*events)


def _first(events: list[dict], predicate) -> int | None:
    return next((i for i, e in enumerate(events) if predicate(e)), None)


@settings(max_examples=150, deadline=None)
@given(peering_runs())
def test_reference_peering_is_never_flagged(events: list[dict]) -> None:
    routed = any(e["type"] == "route" for e in events)
    assert local_first(events, ctx()).verdict == ("ok" if routed else "unknown")


@settings(max_examples=150, deadline=None)
@given(peering_runs())
def test_a_cloud_route_with_a_worker_idle_is_always_flagged(events: list[dict]) -> None:
    # inject: right after the first time a worker is idle, a request goes to the cloud
    first_idle = _first(events, lambda e: e["type"] == "idle")
    if first_idle is None:  # no worker ever said READY: one does, at the end
        t = events[-1]["t"] + 0.01
        events = [*events, idle(t, "a", "w9")]
    else:
        t = events[first_idle]["t"]
    bad = by_time(*events, cloud(t + 0.0001, "a", "ac9:999", "b"))
    result = local_first(bad, ctx())
    assert result.verdict == "violated"
    assert "'ac9:999'" in result.violations[0]["why"]


@settings(max_examples=100, deadline=None)
@given(peering_runs())
def test_a_forwarded_peer_request_is_always_flagged(events: list[dict]) -> None:
    bad = by_time(*events, cloud(0.5, "b", "ac9:999", "c", source="cloud"))
    result = local_first(bad, ctx())
    assert result.verdict == "violated"
    assert any("'ac9:999'" in v["why"] and "loop" in v["why"] for v in result.violations)


@st.composite
def dying_peer_runs(draw: st.DrawFn) -> tuple[list[dict], list[str], float, float]:
    """Router a uses peer b until b dies; a stops within the bound; every op in b is retried.

    Returns (history, ops that were in b when it died, death time, bound).
    """
    within = draw(st.sampled_from([0.5, 1.0]))
    death = 2.0
    events: list[dict] = [serving(0, "a")]
    in_b: list[str] = []
    n = draw(st.integers(1, 8))
    for i in range(n):
        t = death - 0.4 + i * 0.05  # all routed within `within` before the death
        op = f"ac{i % 4}:{i}"
        events += [invoke(t - 0.01, f"ac{i % 4}", i), cloud(t, "a", op, "b")]
        if draw(st.booleans()):
            events.append(ok(t + 0.01, f"ac{i % 4}", i))  # answered before the death
        else:
            in_b.append(op)
            events.append(ok(death + 0.7, f"ac{i % 4}", i))  # retried elsewhere
    stale = draw(st.floats(0.0, within * 0.9))
    if stale > 0:
        events.append(cloud(death + stale, "a", "ac0:late", "b"))
        events.append(ok(death + stale + 0.8, "ac0", "late") | {"op": "ac0:late"})
        events.append(invoke(death + stale - 0.01, "ac0", 0) | {"op": "ac0:late"})
        in_b.append("ac0:late")
    events += [lifecycle(0, "b", "start"), fault(death, "kill", "b"),
               lifecycle(death + 0.001, "b", "exit"), lifecycle(4.0, "b", "start")]
    return by_time(*events), in_b, death, within


@settings(max_examples=150, deadline=None)
@given(dying_peer_runs())
def test_reference_dying_peer_is_never_flagged(run) -> None:
    events, in_b, _death, within = run
    stale = stale_peer_routes(events, ctx(end=6.0), within=within)
    assert stale.verdict == "ok", stale.message
    loss = no_loss_in_dead_peer(events, ctx(end=6.0))
    assert loss.verdict == ("ok" if in_b else "unknown"), loss.message
    assert loss.figures["recovered"] == len(in_b)


@settings(max_examples=150, deadline=None)
@given(dying_peer_runs())
def test_a_route_past_the_bound_is_always_flagged(run) -> None:
    events, _in_b, death, within = run
    bad = by_time(*events, cloud(death + within + 0.05, "a", "ac3:late2", "b"))
    result = stale_peer_routes(bad, ctx(end=6.0), within=within)
    assert result.verdict == "violated"
    assert "'ac3:late2'" in result.violations[0]["why"]


@settings(max_examples=150, deadline=None)
@given(dying_peer_runs())
def test_an_unrecovered_op_in_a_dead_peer_is_always_flagged(run) -> None:
    events, in_b, _death, _within = run
    if not in_b:
        bad = by_time(*events, invoke(1.79, "ac3", 77), cloud(1.8, "a", "ac3:77", "b"))
        lost = "ac3:77"
    else:
        lost = in_b[0]
        bad = [e for e in events if not (e["type"] == "ok" and e.get("op") == lost)]
    result = no_loss_in_dead_peer(bad, ctx(end=6.0))
    assert result.verdict == "violated"
    assert any(repr(lost) in v["why"] for v in result.violations)
