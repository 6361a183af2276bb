"""lru_dispatch on hand-made histories and on runs of a reference LRU broker (Hypothesis).

The reference model is the Guide's load-balancing broker reduced to its
rule: requests wait (in arrival order) until a worker is idle, and each goes
at once to the worker idle longest. Its histories must never be flagged;
the same history with one decision broken (most recently used worker, a
busy worker, a request held while a worker idles) must be flagged, naming
the request; an empty history decides nothing.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from chk_events import by_time, context, ev, fault, handled, invoke, lifecycle, ok
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checkers.loadbalance import lru_dispatch
from harness.checkers.routing import replay_brokers

# Contracts whose reference-model properties this module checks.
PROPERTY_CONTRACTS = frozenset({'lru_dispatch'})

B = "broker"
CLIENTS = {f"c{i}": ("lazy_pirate.client", "client", {}) for i in range(20)}


def ctx(end: float = 10.0):
    c = context({**CLIENTS, B: ("lbbroker.broker", "server", {})}, end=end)
    # every client connects to the broker
    from dataclasses import replace
    nodes = {name: replace(f, connects=(B,)) if f.kind == "client" else f
             for name, f in c.nodes.items()}
    return replace(c, nodes=nodes)


def idle(t: float, worker: str, why: str = "ready", broker: str = B):
    return ev(t, broker, "idle", worker=worker, why=why)


def route(t: float, op: str, worker: str, broker: str = B, **extra):
    return ev(t, broker, "route", op=op, worker=worker, **extra)


def serving(t: float, broker: str = B):
    return ev(t, broker, "serving")


def check(*events, end: float = 10.0, **params):
    return lru_dispatch(by_time(*events), ctx(end), **params)


# -- hand-made -------------------------------------------------------------------------------


def test_lru_routing_passes_with_spread_figures() -> None:
    result = check(
        serving(0), idle(0.1, "w1"), idle(0.2, "w2"),
        invoke(1.0, "c1", 1), route(1.001, "c1:1", "w1"),
        invoke(1.0, "c2", 1), route(1.002, "c2:1", "w2"),
        handled(1.1, "w1", "c1:1"), idle(1.101, "w1", "reply"), ok(1.102, "c1", 1),
        handled(1.2, "w2", "c2:1"), idle(1.201, "w2", "reply"), ok(1.202, "c2", 1),
    )
    assert result.verdict == "ok", result.message
    assert result.figures["routes"] == {B: 2}
    assert result.figures["handled"]["per_worker"] == {"w1": 1, "w2": 1}


def test_most_recently_used_worker_is_flagged() -> None:
    result = check(serving(0), idle(0.1, "w1"), idle(0.2, "w2"),
                   invoke(1.0, "c1", 1), route(1.001, "c1:1", "w2"))
    assert result.verdict == "violated"
    assert "not to the least recently used idle worker w1" in result.message
    assert "'c1:1'" in result.message


def test_busy_worker_is_flagged_naming_the_idle_one() -> None:
    result = check(serving(0), idle(0.1, "w1"), idle(0.2, "w2"),
                   invoke(1.0, "c1", 1), route(1.001, "c1:1", "w1"),
                   invoke(1.0, "c2", 1), route(1.002, "c2:1", "w1"))
    assert result.verdict == "violated"
    assert "to w1, which was not idle, while w2 had been idle" in result.message


def test_route_with_no_idle_worker_is_flagged() -> None:
    result = check(serving(0), invoke(1.0, "c1", 1), route(1.001, "c1:1", "w1"))
    assert result.verdict == "violated"
    assert "no worker was" in result.message


def test_request_waiting_while_a_worker_idles_is_flagged() -> None:
    result = check(serving(0), idle(0.1, "w1"), invoke(1.0, "c1", 1),
                   route(2.5, "c1:1", "w1"))
    assert result.verdict == "violated"
    assert "'c1:1' waited 1.500 s before it was routed" in result.message


def test_short_waits_are_within_the_grace() -> None:
    assert check(serving(0), idle(0.1, "w1"), invoke(1.0, "c1", 1),
                 route(1.4, "c1:1", "w1")).verdict == "ok"
    assert check(serving(0), idle(0.1, "w1"), invoke(1.0, "c1", 1),
                 route(1.4, "c1:1", "w1"), wait_grace=0.1).verdict == "violated"


def test_request_never_routed_while_a_worker_idles_is_flagged() -> None:
    result = check(serving(0), idle(0.1, "w1"), invoke(1.0, "c1", 1), end=3.0)
    assert result.verdict == "violated"
    assert "was never routed" in result.message


def test_a_paused_client_is_not_judged_for_waiting() -> None:
    result = check(serving(0), idle(0.1, "w1"), invoke(1.0, "c1", 1),
                   fault(1.01, "partition", "c1 | broker"),
                   fault(2.0, "partition", "c1 | broker", phase="revert"),
                   route(2.1, "c1:1", "w1"))
    assert result.verdict == "ok", result.message


def test_a_restarted_broker_starts_with_an_empty_fifo() -> None:
    # w1 was idle in the first process; after the restart only w2 said READY.
    result = check(serving(0), idle(0.1, "w1"),
                   fault(1.0, "kill", B), idle(1.0001, "w9"),  # a dying process's last word
                   lifecycle(1.5, B, "start"), serving(1.6), idle(1.7, "w2"),
                   invoke(2.0, "c1", 1), route(2.001, "c1:1", "w2"))
    assert result.verdict == "ok", result.message
    assert result.figures["processes"] == {B: 2}
    assert result.figures["ignored"] == 1


def test_a_broker_without_serving_events_is_reset_by_lifecycle() -> None:
    result = check(idle(0.1, "w1"), fault(1.0, "kill", B), lifecycle(1.5, B, "start"),
                   idle(1.7, "w2"), invoke(2.0, "c1", 1), route(2.001, "c1:1", "w2"))
    assert result.verdict == "ok", result.message


def test_forgotten_workers_leave_the_fifo() -> None:
    result = check(serving(0), idle(0.1, "w1"), idle(0.2, "w2"),
                   ev(1.0, B, "forget", worker="w1", reason="unreachable"),
                   invoke(1.0, "c1", 1), route(1.001, "c1:1", "w2"))
    assert result.verdict == "ok", result.message


def test_nothing_traced_is_unknown() -> None:
    assert check().verdict == "unknown"
    assert check(invoke(0, "c1", 1), ok(0.1, "c1", 1)).verdict == "unknown"


def test_odd_broker_events_do_not_crash() -> None:
    events = [ev(0.1, B, "idle"), ev(0.2, B, "route"), ev(0.3, B, "forget", worker=3),
              ev(0.4, B, "route", op=None, worker=["x"]), ev(0.5, B, "serving", x=1)]
    assert lru_dispatch(events, ctx()).verdict in ("ok", "violated", "unknown")
    assert replay_brokers(events, 1.0).decisions


# -- the reference model -----------------------------------------------------------------------


@dataclass
class Run:
    events: list[dict]
    decisions: list[int]  # index into events of each route, in order
    idle_at_decision: list[list[str]]  # the FIFO (LRU first) just before each route


def simulate(ready_ms: list[int], arrivals_ms: list[int], works_ms: list[int]) -> Run:
    """The Guide's LB broker on integer milliseconds; one client per request."""
    events: list[dict] = [serving(0)]
    fifo: OrderedDict[str, None] = OrderedDict()
    waiting: deque[tuple[str, str]] = deque()  # (client, op)
    timeline: list[tuple[int, int, str, str]] = []  # (ms, order, kind, who)
    for i, ms in enumerate(ready_ms):
        timeline.append((ms, 0, "ready", f"w{i + 1}"))
    for i, ms in enumerate(arrivals_ms):
        timeline.append((ms, 1, "arrive", f"c{i}"))
    timeline.sort()
    busy: dict[str, tuple[str, str, int]] = {}
    decisions: list[int] = []
    idle_at: list[list[str]] = []
    work = dict(zip([f"c{i}" for i in range(len(arrivals_ms))], works_ms, strict=True))
    pending = list(timeline)
    while pending:
        ms, _, kind, who = pending.pop(0)
        t = ms / 1000.0
        if kind in ("ready", "reply"):
            if kind == "reply":
                client, op, _ = busy.pop(who)
                events.append(handled(t - 0.0005, who, op))
                events.append(ok(t + 0.0005, client, 1))
            fifo[who] = None
            events.append(idle(t, who, kind))
        else:
            events.append(invoke(t - 0.001, who, 1))
            waiting.append((who, f"{who}:1"))
        while fifo and waiting:
            worker, _ = fifo.popitem(last=False)
            client, op = waiting.popleft()
            idle_at.append([worker, *fifo])
            decisions.append(len(events))
            events.append(route(t + 0.0001, op, worker))
            done = ms + work[client]
            busy[worker] = (client, op, done)
            pending.append((done, 0, "reply", worker))
            pending.sort()
    routes = [events[i] for i in decisions]
    ordered = sorted(events, key=lambda e: e["t"])
    where = {id(e): i for i, e in enumerate(ordered)}
    return Run(ordered, [where[id(e)] for e in routes], idle_at)


def runs(min_workers: int = 1, together: bool = False) -> st.SearchStrategy[Run]:
    @st.composite
    def build(draw: st.DrawFn) -> Run:
        workers = draw(st.integers(min_workers, 4))
        count = draw(st.integers(2 if together else 1, 12))
        ready = draw(st.lists(st.integers(0, 100), min_size=workers, max_size=workers))
        arrivals = sorted(draw(st.lists(st.integers(200, 2000), min_size=count,
                                        max_size=count)))
        if together:
            arrivals[1] = arrivals[0]
        works = draw(st.lists(st.integers(50 if together else 1, 400), min_size=count,
                              max_size=count))
        return simulate(ready, arrivals, works)

    return build()


@settings(max_examples=150, deadline=None)
@given(runs())
def test_the_reference_broker_is_never_flagged(run: Run) -> None:
    result = lru_dispatch(run.events, ctx(end=5.0))
    assert result.verdict == "ok", result.message


@settings(max_examples=100, deadline=None)
@given(runs(min_workers=2))
def test_most_recently_used_choice_is_always_flagged(run: Run) -> None:
    # the first decision finds every worker idle: take the last one instead of the head
    index = run.decisions[0]
    idle_then = run.idle_at_decision[0]
    events = [dict(e) for e in run.events]
    events[index]["worker"] = idle_then[-1]
    result = lru_dispatch(events, ctx(end=5.0))
    assert result.verdict == "violated"
    assert repr(events[index]["op"]) in result.violations[0]["why"]


@settings(max_examples=100, deadline=None)
@given(runs(min_workers=2, together=True))
def test_sending_to_a_busy_worker_is_always_flagged(run: Run) -> None:
    # the second decision comes while the first worker is still busy
    first, second = run.decisions[0], run.decisions[1]
    events = [dict(e) for e in run.events]
    events[second]["worker"] = events[first]["worker"]
    result = lru_dispatch(events, ctx(end=5.0))
    assert result.verdict == "violated"
    assert any(repr(events[second]["op"]) in v["why"] and "not idle" in v["why"]
               for v in result.violations)


@settings(max_examples=100, deadline=None)
@given(runs())
def test_holding_a_request_while_a_worker_idles_is_always_flagged(run: Run) -> None:
    # the last decision is made 1.3 s late (more than twice the grace: arrival, then
    # reaction), its worker idle all that time
    index = run.decisions[-1]
    events = [dict(e) for e in run.events]
    op = events[index]["op"]
    for e in events:
        if e.get("op") == op and e["type"] != "invoke":
            e["t"] += 1.3
    result = lru_dispatch(sorted(events, key=lambda e: e["t"]), ctx(end=6.0))
    assert result.verdict == "violated"
    assert any(repr(op) in v["why"] and "waited" in v["why"] for v in result.violations)


def test_empty_history_is_unknown() -> None:
    assert lru_dispatch([], ctx()).verdict == "unknown"
