"""Small reference models of each pattern, as Hypothesis strategies of histories.

Every contract's property tests draw their histories from here, so the same
notion of "a correct run" is shared by all of them. Each model plays a
pattern by its rules (clients invoking with their timeouts and retries,
servers answering only while they can, faults applying and reverting, nodes
dying, restarting and changing Binary Star state, with random but legal
timings and delivery delays) and writes the events the real nodes and the
harness would write. A model also keeps the ground truth a test needs to
inject exactly one violation of a contract and to know which event that
violation must name.

Times are drawn in whole milliseconds, so generated histories shrink to
readable numbers. ``PROPERTY`` is the settings every property test uses:
bounded in the normal suite, thousands of examples with
``HYPOTHESIS_PROFILE=deep`` (tests/checkers/conftest.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from chk_events import by_time, ev, fault, handled, lifecycle, mmi, state
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from harness.checkers.base import CheckContext, NodeFacts
from harness.history import Event

_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("checkers", max_examples=100, deadline=None,
                          suppress_health_check=_SLOW_IS_FINE)
settings.register_profile("deep", max_examples=3000, deadline=None,
                          suppress_health_check=_SLOW_IS_FINE)
PROPERTY = settings.get_profile(
    "deep" if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else "checkers")

Interval = tuple[float, float]


def sec(ms: int) -> float:
    return round(ms / 1000.0, 3)


def inside(spans: list[Interval], t: float) -> bool:
    return any(s <= t <= e for s, e in spans)


def hits(spans: list[Interval], start: float, stop: float) -> bool:
    return any(s <= stop and e >= start for s, e in spans)


def facts(nodes: dict[str, tuple[str, str, dict[str, Any]]],
          connects: dict[str, tuple[str, ...]] | None = None, *, end: float,
          owner: dict[str, str] | None = None) -> CheckContext:
    return CheckContext(
        nodes={name: NodeFacts(name=name, role=role, kind=kind,  # type: ignore[arg-type]
                               options=options, connects=(connects or {}).get(name, ()))
               for name, (role, kind, options) in nodes.items()},
        end=end, endpoint_owner=owner or {})


@dataclass
class Run:
    """A generated history with its context and what the model knows about it."""

    history: list[Event]
    ctx: CheckContext
    params: dict[str, Any] = field(default_factory=dict)


@st.composite
def cut_windows(draw: st.DrawFn, *, horizon_ms: int, most: int = 3) -> list[Interval]:
    """Up to ``most`` disjoint fault windows (seconds) inside [0.2 s, horizon]."""
    windows: list[Interval] = []
    for _ in range(draw(st.integers(0, most))):
        start = draw(st.integers(200, horizon_ms))
        length = draw(st.integers(20, 1500))
        span = (sec(start), sec(start + length))
        if not hits(windows, span[0] - 0.001, span[1] + 0.001):
            windows.append(span)
    return sorted(windows)


# -- request-reply: clients with a timeout and retries, one echo server -----------------

@dataclass
class RROp:
    """One request of the request-reply model and how it ended."""

    op: str
    client: str
    invoke: Event
    ok: Event | None = None
    gave_up: Event | None = None
    retries: list[Event] = field(default_factory=list)
    handled: list[Event] = field(default_factory=list)
    orphaned: bool = False  # its client was killed while it was open

    @property
    def resolved_at(self) -> float | None:
        end = self.ok or self.gave_up
        return None if end is None else end["t"]


@dataclass
class RRRun(Run):
    ops: list[RROp] = field(default_factory=list)
    timeout: float = 0.0  # s per attempt
    sends: int = 0  # attempts per request (0 = until answered)
    windows: list[Interval] = field(default_factory=list)  # server cut off from clients
    kills: dict[str, float] = field(default_factory=dict)  # client -> when killed

    @property
    def bound(self) -> float:
        """bounded_give_up's bound with the default slack."""
        return self.sends * self.timeout * 1.5 + 0.2


@st.composite
def request_reply(draw: st.DrawFn, *, patient: bool = False, kills: bool = True,
                  most_ops: int = 10) -> RRRun:
    """Lazy-Pirate-like clients against one echo server that a partition cuts off.

    An attempt is answered when neither the request nor the reply crosses a
    cut window, the reply arriving ``delay`` after the send, within the
    attempt's timeout; otherwise the client resends after the timeout, up to
    ``retries`` sends, then gives up (``gave_up``) at the end of its budget.
    A server that got a request whose reply was then cut executed it all the
    same (``handled``): at-least-once, at most once per send. A ``patient``
    client (no budget, role ``hello.client``) resends until answered. With
    ``kills``, the nemesis may kill one client while a request is open; it is
    started again under a new incarnation.
    """
    timeout_ms = draw(st.integers(50, 400))
    sends = 0 if patient else draw(st.integers(1, 4))
    role = "hello.client" if patient else "lazy_pirate.client"
    options = {"timeout": timeout_ms, "retries": max(1, sends)}
    clients = [f"c{i}" for i in range(draw(st.integers(1, 3)))]
    windows = draw(cut_windows(horizon_ms=4000))
    timeout = sec(timeout_ms)
    events: list[Event] = [lifecycle(0.0, "s", "start", incarnation=0)]
    for client in clients:
        events.append(lifecycle(0.0, client, "start", incarnation=0))
    for start, stop in windows:
        target = f"s | {','.join(clients)}"
        events += [fault(start, "partition", target), fault(stop, "partition", target, "revert")]
    ops: list[RROp] = []
    kill_client = draw(st.sampled_from(clients)) if kills and draw(st.booleans()) else None
    kill_at: dict[str, float] = {}
    for client in clients:
        t = sec(draw(st.integers(0, 300)))
        prefix, seq, incarnation = client, 0, 0
        kill_op = draw(st.integers(0, most_ops)) if client == kill_client else -1
        for index in range(draw(st.integers(1, most_ops))):
            seq += 1
            record = RROp(op=f"{prefix}:{seq}", client=client,
                          invoke=ev(t, client, "invoke", op=f"{prefix}:{seq}",
                                    body=f"{prefix}:{seq}"))
            ops.append(record)
            events.append(record.invoke)
            attempt, sent = 1, t
            killed_at: float | None = None
            if index == kill_op:  # the nemesis kills this client while the op is open
                killed_at = round(t + sec(draw(st.integers(1, max(1, timeout_ms - 1)))), 3)
            while True:
                delay = sec(draw(st.integers(1, max(1, int(timeout_ms * 0.8)))))
                if killed_at is not None and killed_at <= sent + delay:
                    break
                if not hits(windows, sent, sent + delay):
                    record.handled.append(handled(round(sent + delay / 2, 3), "s", record.op))
                    record.ok = ev(round(sent + delay, 3), client, "ok", op=record.op,
                                   reply=record.op)
                    break
                if not inside(windows, sent + delay / 2) and not inside(windows, sent):
                    # the request got through and ran; only its reply was cut
                    record.handled.append(handled(round(sent + delay / 2, 3), "s", record.op))
                if sends and attempt >= sends:
                    record.gave_up = ev(round(t + sends * timeout + sec(draw(st.integers(0, 50))),
                                              3), client, "gave_up", op=record.op,
                                        reason=f"no reply after {sends} sends")
                    break
                attempt += 1
                sent = round(sent + timeout, 3)
                if killed_at is not None and killed_at < sent:
                    break
                record.retries.append(ev(sent, client, "retry", op=record.op, attempt=attempt))
            if killed_at is not None and record.resolved_at is not None:
                if record.resolved_at < killed_at:
                    killed_at, kill_op = None, kill_op + 1  # it ended first: kill the next
                else:
                    record.ok = record.gave_up = None  # the client died first
            if killed_at is not None:
                record.orphaned = True
                record.handled = [h for h in record.handled if h["t"] <= killed_at]
            events += record.handled + record.retries
            if killed_at is not None:
                kill_at[client] = killed_at
                back = round(killed_at + sec(draw(st.integers(50, 500))), 3)
                events += [fault(killed_at, "kill", client),
                           lifecycle(round(killed_at + 0.001, 3), client, "exit", code=-9,
                                     incarnation=incarnation),
                           fault(back, "start", client)]
                incarnation += 1
                events.append(lifecycle(back, client, "start", incarnation=incarnation))
                prefix, seq, t = f"{client}.{incarnation}", 0, round(back + 0.01, 3)
                continue
            events += [e for e in (record.ok, record.gave_up) if e is not None]
            t = round((record.resolved_at or t) + sec(draw(st.integers(0, 300))), 3)
    history = by_time(*events)
    nodes: dict[str, tuple[str, str, dict[str, Any]]] = {
        "s": ("lazy_pirate.server", "server", {})}
    nodes.update({c: (role, "client", dict(options)) for c in clients})
    last = max(e["t"] for e in history)
    run = RRRun(history=history, ctx=facts(nodes, end=last), ops=ops, timeout=timeout,
                sends=sends, windows=windows, kills=kill_at)
    return run


def with_end(run: Run, end: float) -> Run:
    """The same run, the workload stopped at ``end``."""
    ctx = CheckContext(nodes=run.ctx.nodes, faults=run.ctx.faults, duration=run.ctx.duration,
                       end=round(end, 3), endpoint_owner=run.ctx.endpoint_owner)
    clone = type(run)(**{**run.__dict__, "ctx": ctx})
    return clone


def heal_of(history: list[Event]) -> float:
    """The last fault event's time (0 without faults): when the nemesis last acted."""
    return max((e["t"] for e in history if e.get("type") == "fault"), default=0.0)


# -- Binary Star: a primary/backup pair, failovers, clients voting -------------------------

@dataclass
class Era:
    server: str
    start: float
    end: float  # when its process was gone (or the run end)


@dataclass
class BStarRun(Run):
    eras: list[Era] = field(default_factory=list)
    alive: dict[str, list[Interval]] = field(default_factory=dict)
    paused: dict[str, list[Interval]] = field(default_factory=dict)
    deaths: list[tuple[Event, str]] = field(default_factory=list)  # (fault event, victim)
    takeovers: dict[int, list[Event]] = field(default_factory=dict)  # death index -> oks
    within: float = 0.0


OWNER = {"tcp://p": "p", "tcp://b": "b"}
ENDPOINT = {"p": "tcp://p", "b": "tcp://b"}


@st.composite
def binary_star(draw: st.DrawFn, *, most_faults: int = 3) -> BStarRun:
    """A Binary Star pair under kills, stops and short pauses of the active server.

    At most one server is ACTIVE at any moment: after the active one's
    process is gone (its lifecycle exit; a stop may take a while), the other
    becomes ACTIVE on a client's vote after a gap, and the victim is started
    again and turns PASSIVE. A pause of the active server is shorter than the
    failover timeout, so nobody takes over. Clients alternate servers on
    silence (timeout, then settle) and accept a reply only from the server
    that was ACTIVE when it answered; a reply may be delivered long after
    it was sent, up to the attempt's timeout.
    """
    timeout_ms = draw(st.integers(100, 1500))
    settle_ms = draw(st.integers(50, 500))
    gap_ms = draw(st.integers(50, 800))  # longest failover gap after an exit
    timeout, settle, gap = sec(timeout_ms), sec(settle_ms), sec(gap_ms)
    events: list[Event] = []
    alive: dict[str, list[list[float]]] = {"p": [[0.0, -1.0]], "b": [[0.0, -1.0]]}
    paused: dict[str, list[Interval]] = {"p": [], "b": []}
    incarnation = {"p": 0, "b": 0}
    for node, first in (("p", "PRIMARY"), ("b", "BACKUP")):
        events += [lifecycle(0.0, node, "start", incarnation=0), state(0.01, node, first)]
    t0 = sec(draw(st.integers(50, 300)))
    events += [state(t0, "p", "ACTIVE"), state(round(t0 + 0.005, 3), "b", "PASSIVE")]
    eras: list[Era] = []
    deaths: list[tuple[Event, str]] = []
    active, since = "p", t0
    t = t0
    # Clients reach a new ACTIVE server within three attempts (alternating, and an
    # op that gave up starts again on the server it last tried); the next fault
    # waits for that, so every failover can be seen within ``within``.
    reach = 3 * (timeout + settle) + timeout + 0.3
    for _ in range(draw(st.integers(0, most_faults))):
        t = round(t + sec(draw(st.integers(300, 2000))), 3)
        kind = draw(st.sampled_from(["kill", "stop", "pause"]))
        other = "b" if active == "p" else "p"
        if kind == "pause":
            length = sec(draw(st.integers(20, gap_ms)))
            events += [fault(t, "pause", active), fault(round(t + length, 3), "pause", active,
                                                          "revert")]
            paused[active].append((t, round(t + length, 3)))
            t = round(t + length + reach, 3)
            continue
        blow = fault(t, kind, active)
        deaths.append((blow, active))
        exit_at = round(t + (sec(draw(st.integers(1, 20))) if kind == "kill"
                             else sec(draw(st.integers(1, 1500)))), 3)
        events += [blow, lifecycle(exit_at, active, "exit", code=0 if kind == "stop" else -9,
                                   incarnation=incarnation[active])]
        alive[active][-1][1] = exit_at
        eras.append(Era(active, since, exit_at))
        takeover = round(exit_at + sec(draw(st.integers(1, gap_ms))), 3)
        events.append(state(takeover, other, "ACTIVE"))
        back = round(takeover + sec(draw(st.integers(20, 500))), 3)
        incarnation[active] += 1
        events += [fault(back, "start", active),
                   lifecycle(back, active, "start", incarnation=incarnation[active]),
                   state(round(back + 0.002, 3), active, "PRIMARY" if active == "p" else "BACKUP"),
                   state(round(back + 0.004, 3), active, "PASSIVE")]
        alive[active].append([back, -1.0])
        active, since, t = other, takeover, round(max(back, takeover + reach), 3)
    end = round(t + sec(draw(st.integers(200, 2000))), 3)
    eras.append(Era(active, since, end))
    lives = {n: [(s, end if e < 0 else e) for s, e in spans] for n, spans in alive.items()}

    def serving(server: str, at: float) -> bool:
        return (any(x.server == server and x.start < at < x.end for x in eras)
                and not inside(paused[server], at))

    clients = [f"c{i}" for i in range(draw(st.integers(1, 2)))]
    retries = draw(st.integers(2, 6))
    for client in clients:
        now, seq, target = sec(draw(st.integers(0, 200))), 0, "p"
        while now < end - 0.05:
            seq += 1
            op = f"{client}:{seq}"
            events.append(ev(now, client, "invoke", op=op, body=op))
            sent, attempt, done = now, 1, None
            while done is None:
                answer = round(sent + sec(draw(st.integers(1, max(1, timeout_ms // 2)))), 3)
                if serving(target, answer):
                    deliver = round(answer + sec(draw(st.integers(
                        0, max(0, timeout_ms - int((answer - sent) * 1000) - 1)))), 3)
                    events.append(handled(answer, target, op))
                    if deliver < end:
                        events.append(ev(deliver, client, "ok", op=op, reply=op,
                                         server=ENDPOINT[target]))
                        done = deliver
                    else:
                        done = end
                    break
                if attempt >= retries:
                    gave = round(now + retries * timeout + (retries - 1) * settle, 3)
                    if gave < end:
                        events.append(ev(gave, client, "gave_up", op=op, reason="no reply"))
                    done = gave
                    break
                attempt += 1
                sent = round(sent + timeout + settle, 3)
                target = "b" if target == "p" else "p"
                if sent >= end:
                    done = end
                    break
                events.append(ev(sent, client, "retry", op=op, attempt=attempt,
                                 server=ENDPOINT[target]))
            now = round(done + sec(draw(st.integers(1, 200))), 3)
    history = by_time(*events)
    nodes = {
        "p": ("binary_star.server", "server", {"primary": True}),
        "b": ("binary_star.server", "server", {"backup": True}),
        **{c: ("binary_star.client", "client",
               {"timeout": timeout_ms, "settle": settle_ms, "retries": retries})
           for c in clients},
    }
    connects = {c: ("p", "b") for c in clients}
    # a stop's exit (<= 1.5 s), the takeover gap, a pause of the new server (<= gap),
    # then the clients' reach
    within = round(1.5 + 0.02 + 2 * gap + reach + 0.2, 3)
    run = BStarRun(history=history, ctx=facts(nodes, connects, end=end, owner=OWNER),
                   eras=eras, alive=lives, paused=paused, deaths=deaths, within=within)
    for index, (blow, victim) in enumerate(deaths):
        run.takeovers[index] = [
            e for e in history if e.get("type") == "ok" and blow["t"] < e["t"] <= blow["t"]
            + within and OWNER.get(e.get("server", "")) != victim]
    return run


# -- Titanic: acknowledged requests survive service and client restarts ------------------------

@dataclass
class TitanicRun(Run):
    acked: dict[str, list[Event]] = field(default_factory=dict)  # op -> its ack events
    answered: dict[str, Event] = field(default_factory=dict)  # op -> its ok
    orphans: set[str] = field(default_factory=set)
    grace: float = 2.0
    killed_for_good: float | None = None  # when the client was killed, never to return


@st.composite
def titanic(draw: st.DrawFn, *, grace: float = 2.0) -> TitanicRun:
    """A Titanic client and service: every acknowledged request gets its reply.

    The service may be killed and started again (its outages are windows in
    which nothing is acknowledged or answered); replies to requests acked
    before an outage come after it. The client may be killed: started again,
    its new incarnation answers the acked requests of the old one under their
    original op ids; killed for good, those requests are orphans.
    """
    events: list[Event] = [lifecycle(0.0, "titanic", "start", incarnation=0),
                           lifecycle(0.0, "c", "start", incarnation=0)]
    outages = draw(cut_windows(horizon_ms=3000, most=2))
    for start, stop in outages:
        events += [fault(start, "kill", "titanic"), lifecycle(round(start + 0.001, 3),
                                                              "titanic", "exit", code=-9),
                   fault(stop, "start", "titanic"), lifecycle(stop, "titanic", "start")]

    def up_after(t: float) -> float:
        for start, stop in outages:
            if start <= t <= stop:
                return stop
        return t

    def answer_after(t: float, delay: float) -> float:
        done = round(up_after(t) + delay, 3)
        for start, stop in outages:
            if t <= start <= done:
                done = round(stop + delay, 3)
        return done

    kill = draw(st.sampled_from([None, "restart", "for-good"]))
    kill_at = sec(draw(st.integers(300, 3000))) if kill else None
    back = round(kill_at + sec(draw(st.integers(50, 800))), 3) if kill_at is not None else None
    run = TitanicRun(history=[], ctx=facts({}, end=0.0), grace=grace)
    now, prefix, seq = sec(draw(st.integers(0, 100))), "c", 0
    carry: list[str] = []  # acked ops the killed incarnation left
    for _ in range(draw(st.integers(1, 12))):
        if kill_at is not None and now >= kill_at and prefix == "c":
            if kill == "for-good":
                break
            now, prefix, seq = round(back + 0.01, 3), "c.1", 0
        seq += 1
        op = f"{prefix}:{seq}"
        events.append(ev(now, "c", "invoke", op=op, body=op))
        acked_at = round(up_after(now) + sec(draw(st.integers(5, 100))), 3)
        if kill_at is not None and prefix == "c" and acked_at >= kill_at:
            now = kill_at  # the client died before the 200: nothing was promised
            continue
        uuid = f"u-{op}"
        run.acked[op] = [ev(acked_at, "c", "ack", op=op, uuid=uuid)]
        events += run.acked[op]
        reply_at = answer_after(acked_at, sec(draw(st.integers(20, 800))))
        if kill_at is not None and prefix == "c" and reply_at >= kill_at:
            carry.append(op)
        else:
            run.answered[op] = ev(reply_at, "c", "ok", op=op, reply=op, uuid=uuid)
            events.append(run.answered[op])
        now = round(acked_at + sec(draw(st.integers(1, 200))), 3)
    if kill_at is not None:
        events += [fault(kill_at, "kill", "c"),
                   lifecycle(round(kill_at + 0.001, 3), "c", "exit", code=-9)]
        if kill == "restart":
            events += [fault(back, "start", "c"), lifecycle(back, "c", "start", incarnation=1)]
            for op in carry:
                reply_at = answer_after(back, sec(draw(st.integers(20, 800))))
                run.answered[op] = ev(reply_at, "c", "ok", op=op, reply=op, uuid=f"u-{op}")
                events.append(run.answered[op])
        else:
            run.orphans.update(carry)
            run.killed_for_good = kill_at
    history = by_time(*events)
    last = max(e["t"] for e in history)
    run.history = history
    run.ctx = facts({"c": ("titanic.client", "client", {"timeout": 500, "retries": 1}),
                     "titanic": ("titanic.service", "server", {})},
                    end=round(max(last, heal_of(history)) + grace + 0.5, 3))
    run.params = {"grace": grace}
    return run


# -- Majordomo MMI: registrations lag the workers' lives ----------------------------------

@dataclass
class MMIRun(Run):
    grace: float = 1.0
    healthy: list[Interval] = field(default_factory=list)  # some worker healthy, broker too
    dead: list[Interval] = field(default_factory=list)  # no worker alive at all


@st.composite
def mmi_model(draw: st.DrawFn, *, grace: float = 1.0) -> MMIRun:
    """A broker, one or two echo workers and a probe asking ``mmi.service`` about echo.

    A worker's registration starts up to 0.8 grace after its process started
    and ends up to 0.8 grace after it exited; a pause of it or any network
    fault on its link may drop it from some moment in the window until up to
    0.8 grace after the window; a broker restart drops every registration
    until up to 0.8 grace after the new broker started. Each probe says 200
    exactly when some worker was registered then, 404 otherwise.
    """
    lag = 0.8 * grace
    workers = [f"w{i}" for i in range(draw(st.integers(1, 2)))]
    events: list[Event] = [lifecycle(0.0, "broker", "start", incarnation=0)]
    horizon = 6.0
    lives: dict[str, list[Interval]] = {}
    link_trouble: list[Interval] = []
    registered: dict[str, list[Interval]] = {}
    troubled: dict[str, list[Interval]] = {}  # not healthy for the checker (dying, impaired)
    for worker in workers:
        start = sec(draw(st.integers(10, 300)))
        spans: list[Interval] = []
        trouble: list[Interval] = []
        t = start
        incarnation = 0
        events.append(lifecycle(start, worker, "start", incarnation=0))
        while True:
            life_end = round(t + sec(draw(st.integers(800, 4000))), 3)
            if life_end >= horizon:
                spans.append((t, horizon + 10))
                break
            how = draw(st.sampled_from(["kill", "stop"]))
            exit_at = round(life_end + (0.001 if how == "kill" else sec(draw(st.integers(1, 900)))),
                            3)
            events += [fault(life_end, how, worker),
                       lifecycle(exit_at, worker, "exit", incarnation=incarnation)]
            spans.append((t, exit_at))
            trouble.append((life_end, exit_at))
            back = round(exit_at + sec(draw(st.integers(100, 2500))), 3)
            if back >= horizon:
                break
            incarnation += 1
            events += [fault(back, "start", worker),
                       lifecycle(back, worker, "start", incarnation=incarnation)]
            t = back
        lives[worker] = spans
        regs = []
        for s, e in spans:
            regs.append((round(s + sec(draw(st.integers(0, int(lag * 1000)))), 3),
                         round(e + sec(draw(st.integers(0, int(lag * 1000)))), 3)))
        gaps: list[Interval] = []
        for s, e in draw(cut_windows(horizon_ms=5000, most=2)):
            name = draw(st.sampled_from(["pause", "latency", "timeout", "partition",
                                         "bandwidth"]))
            target = worker if name == "pause" else f"{worker}->broker"
            events += [fault(s, name, target), fault(e, name, target, "revert")]
            trouble.append((s, e))
            if name != "pause":  # a fault on a link troubles both its ends
                link_trouble.append((s, e))
            if draw(st.booleans()):
                gaps.append((round(s + (e - s) * draw(st.floats(0, 1)), 3),
                             round(e + sec(draw(st.integers(0, int(lag * 1000)))), 3)))
        registered[worker] = regs
        troubled[worker] = trouble + [(g[0], g[0]) for g in gaps]
        registered[worker + "/gaps"] = gaps
    broker_gaps: list[Interval] = []
    broker_trouble: list[Interval] = list(link_trouble)
    broker_lives: list[Interval] = [(0.0, horizon + 10)]
    if draw(st.booleans()):
        r = sec(draw(st.integers(500, 5000)))
        up = round(r + sec(draw(st.integers(1, 100))), 3)
        events += [fault(r, "restart", "broker"), lifecycle(up, "broker", "start",
                                                            incarnation=1)]
        broker_gaps.append((r, round(up + sec(draw(st.integers(0, int(lag * 1000)))), 3)))
        broker_trouble.append((r, up))
        broker_lives = [(0.0, r), (up, horizon + 10)]

    def is_registered(worker: str, t: float) -> bool:
        return (inside(registered[worker], t) and not inside(registered[worker + "/gaps"], t)
                and not inside(broker_gaps, t))

    probes = sorted({sec(draw(st.integers(0, int(horizon * 1000))))
                     for _ in range(draw(st.integers(1, 25)))})
    for t in probes:
        code = "200" if any(is_registered(w, t) for w in workers) else "404"
        events.append(mmi(t, "echo", code))
    for t in draw(st.lists(st.integers(0, int(horizon * 1000)), max_size=3)):
        events.append(mmi(sec(t), draw(st.sampled_from(["mmi.service", "mmi.nosuch"])),
                          draw(st.sampled_from(["200", "404", "501"]))))
    history = by_time(*events)
    end = round(horizon + 0.5, 3)
    nodes = {"broker": ("majordomo.broker", "server", {}),
             "probe": ("majordomo.mmi_probe", "client", {"service": "echo"}),
             **{w: ("majordomo.worker", "server", {"service": "echo"}) for w in workers}}
    run = MMIRun(history=history, ctx=facts(nodes, end=end), grace=grace)

    def healthy(worker: str, start: float, stop: float) -> bool:
        return (any(s <= start and stop <= e for s, e in lives[worker])
                and not hits(troubled[worker], start, stop))

    broker_ok = lambda a, b: (any(s <= a and b <= e for s, e in broker_lives)  # noqa: E731
                              and not hits(broker_trouble, a, b))
    step = 0.05
    grid = [round(i * step, 3) for i in range(int(grace / step) + 1, int(horizon / step))]
    run.healthy = [(t, t) for t in grid if broker_ok(t - grace, t)
                   and any(healthy(w, t - grace, t) for w in workers)]
    run.dead = [(t, t) for t in grid
                if not any(hits(lives[w], t - grace, t) for w in workers)]
    run.params = {"grace": grace}
    return run
