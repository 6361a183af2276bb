"""Property tests for every registered contract, on histories from the reference models.

For each contract, over histories drawn from ``models.py``:

- a history the model produced from correct behaviour is never ``violated``
  (and ``ok`` where the model guarantees there was something to decide);
- the same history with exactly one injected violation of that contract is
  always ``violated``, and some violation names the injected event;
- a history with nothing to test is ``unknown``, never ``ok``.

Shrunk counter-examples found here are kept as plain tests in
test_regressions_properties.py.
"""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st
from models import (
    OWNER,
    PROPERTY,
    BStarRun,
    MMIRun,
    RRRun,
    Run,
    TitanicRun,
    binary_star,
    by_time,
    ev,
    heal_of,
    mmi_model,
    request_reply,
    titanic,
    with_end,
)

from harness.checkers import REGISTRY, CheckResult, run_contract
from harness.history import Event


def check(name: str, run: Run, history: list[Event] | None = None, **params: Any) -> CheckResult:
    return run_contract(name, {**run.params, **params},
                        run.history if history is None else history, run.ctx)


def named(result: CheckResult, event: Event) -> bool:
    """True when some violation lists ``event`` among its evidence."""
    return result.verdict == "violated" and any(event in v["events"] for v in result.violations)


def swap(history: list[Event], old: Event, *new: Event) -> list[Event]:
    """``history`` with ``old`` replaced by ``new`` events (re-sorted, ties stable)."""
    return by_time(*[e for e in history if e is not old], *new)


def dropped(history: list[Event], *gone: Event) -> list[Event]:
    ids = {id(e) for e in gone}
    return [e for e in history if id(e) not in ids]


# The contracts whose properties this module checks; the other pattern families'
# property modules declare theirs the same way (see the test below).
PROPERTY_CONTRACTS = frozenset({
    "replies_match_requests", "every_request_answered", "bounded_give_up",
    "no_duplicate_execution", "duplicate_executions", "availability", "latency",
    "at_most_one_active", "failover_within", "durable_acks", "mmi_reflects_workers",
})


def test_every_registered_contract_has_properties() -> None:
    """Every registered contract is covered by some module's ``PROPERTY_CONTRACTS``."""
    import ast
    from pathlib import Path

    covered: set[str] = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and getattr(node.targets[0], "id", None) == "PROPERTY_CONTRACTS"):
                call = node.value
                assert isinstance(call, ast.Call), path.name
                covered |= set(ast.literal_eval(call.args[0]))
    assert set(REGISTRY) <= covered, sorted(set(REGISTRY) - covered)


# -- replies_match_requests ----------------------------------------------------------

@PROPERTY
@given(request_reply())
def test_replies_correct_runs_are_never_violated(run: RRRun) -> None:
    result = check("replies_match_requests", run)
    assert result.verdict == ("ok" if any(o.ok for o in run.ops) else "unknown"), result.message


@PROPERTY
@given(request_reply(), st.data())
def test_replies_one_bad_reply_is_always_found(run: RRRun, data: st.DataObject) -> None:
    answered = [o for o in run.ops if o.ok is not None]
    given_up = [o for o in run.ops if o.gave_up is not None]
    kinds = ["never invoked"] + (["wrong", "second", "other node"] if answered else []) + (
        ["after give-up"] if given_up else [])
    kind = data.draw(st.sampled_from(kinds))
    history = run.history
    if kind == "never invoked":
        injected = ev(data.draw(st.integers(0, 5000)) / 1000, "c0", "ok", op="ghost:1",
                      reply="ghost:1")
        history = by_time(*history, injected)
    elif kind == "after give-up":
        target = data.draw(st.sampled_from(given_up))
        assert target.gave_up is not None
        injected = ev(round(target.gave_up["t"] + 0.001, 3), target.client, "ok", op=target.op,
                      reply=target.op)
        history = by_time(*history, injected)
    else:
        target = data.draw(st.sampled_from(answered))
        assert target.ok is not None
        if kind == "wrong":
            injected = {**target.ok, "reply": data.draw(st.sampled_from(
                [o.op for o in run.ops if o.op != target.op] + ["", "stale"]))}
            history = swap(history, target.ok, injected)
        elif kind == "second":
            injected = {**target.ok, "t": round(target.ok["t"] + 0.001, 3)}
            history = by_time(*history, injected)
        else:
            injected = {**target.ok, "node": "intruder"}
            history = swap(history, target.ok, injected)
    result = check("replies_match_requests", run, history)
    assert named(result, injected), (kind, result.message)


@PROPERTY
@given(request_reply())
def test_replies_nothing_to_test_is_unknown(run: RRRun) -> None:
    no_oks = [e for e in run.history if e["type"] != "ok"]
    assert check("replies_match_requests", run, no_oks).verdict == "unknown"
    bare = [{k: v for k, v in e.items() if k != "body"} for e in run.history]
    assert check("replies_match_requests", run, bare).verdict == "unknown"


# -- every_request_answered ------------------------------------------------------------

def patient_run(run: RRRun) -> tuple[RRRun, float]:
    """The run ended long enough after everything for every op to be judged."""
    within = round(2 * run.timeout + 0.05, 3)
    last = max(e["t"] for e in run.history)
    return with_end(run, max(last, heal_of(run.history)) + within + 0.5), within  # type: ignore[return-value]


@PROPERTY
@given(request_reply(patient=True))
def test_answered_correct_runs_with_within_are_ok(run: RRRun) -> None:
    run, within = patient_run(run)
    result = check("every_request_answered", run, within=within)
    expected = "ok" if any(o.ok for o in run.ops) else "unknown"
    assert result.verdict == expected, (result.message, result.violations[:2])


@PROPERTY
@given(request_reply())
def test_answered_without_within_flags_exactly_the_give_ups(run: RRRun) -> None:
    end = max(e["t"] for e in run.history) + run.bound + 0.5
    result = check("every_request_answered", with_end(run, end))
    gave_ups = [o.gave_up for o in run.ops if o.gave_up is not None]
    if gave_ups:
        assert all(named(result, g) for g in gave_ups), result.message
        assert result.total_violations == len(gave_ups)
    else:
        assert result.verdict == ("ok" if any(o.ok for o in run.ops) else "unknown"), \
            result.message


@PROPERTY
@given(request_reply(patient=True), st.data())
def test_answered_one_unanswered_request_is_always_found(run: RRRun, data: st.DataObject) -> None:
    run, within = patient_run(run)
    answered = [o for o in run.ops if o.ok is not None]
    assume(answered)
    target = data.draw(st.sampled_from(answered))
    assert target.ok is not None
    # an op left open is only overdue if no kill of its client orphans it afterwards
    killed_later = run.kills.get(target.client, -1.0) >= target.invoke["t"]
    kind = data.draw(st.sampled_from(["gave up", "late"] + ([] if killed_later else ["dropped"])))
    if kind == "dropped":
        history, injected = dropped(run.history, target.ok), target.invoke
    elif kind == "gave up":
        injected = ev(target.ok["t"], target.client, "gave_up", op=target.op, reason="tired")
        history = swap(run.history, target.ok, injected)
    else:
        injected = {**target.ok, "t": round(run.ctx.end + 0.5, 3)}
        history = swap(run.history, target.ok, injected)
    result = check("every_request_answered", run, history, within=within)
    assert named(result, injected), (kind, result.message)


@PROPERTY
@given(request_reply(patient=True))
def test_answered_nothing_to_test_is_unknown(run: RRRun) -> None:
    no_oks = [e for e in run.history if e["type"] != "ok"]
    first = min(e["t"] for e in run.history if e["type"] == "invoke")
    early = with_end(run, first + 0.001)
    assert check("every_request_answered", early, no_oks, within=2 * run.timeout).verdict \
        == "unknown"
    nothing = [e for e in run.history if e["type"] not in ("invoke", "ok", "gave_up")]
    assert check("every_request_answered", run, nothing).verdict == "unknown"


# -- bounded_give_up -----------------------------------------------------------------

@PROPERTY
@given(request_reply())
def test_give_up_correct_runs_are_ok(run: RRRun) -> None:
    result = check("bounded_give_up", run)
    expected = "ok" if any(o.resolved_at is not None for o in run.ops) else "unknown"
    assert result.verdict == expected, (result.message, result.violations[:2])


@PROPERTY
@given(request_reply(), st.data())
def test_give_up_one_overrun_is_always_found(run: RRRun, data: st.DataObject) -> None:
    resolved = [o for o in run.ops if o.resolved_at is not None]
    # an op left open is only a hang if no kill of its client orphans it afterwards
    unkilled = [o for o in resolved if run.kills.get(o.client, -1.0) < o.invoke["t"]]
    kinds = ["extra send"] + (["late"] if resolved else []) + (["hang"] if unkilled else [])
    kind = data.draw(st.sampled_from(kinds))
    if kind == "extra send":
        target = data.draw(st.sampled_from(run.ops))
        injected = ev(round(target.invoke["t"] + 0.001, 3), target.client, "retry",
                      op=target.op, attempt=run.sends + 1)
        result = check("bounded_give_up", run, by_time(*run.history, injected))
    else:
        target = data.draw(st.sampled_from(resolved if kind == "late" else unkilled))
        end_event = target.ok or target.gave_up
        assert end_event is not None
        overdue = round(target.invoke["t"] + run.bound + 0.05, 3)
        if kind == "late":
            injected = {**end_event, "t": overdue}
            history = swap(run.history, end_event, injected)
            result = check("bounded_give_up", with_end(run, max(run.ctx.end, overdue)), history)
        else:
            injected = target.invoke
            history = dropped(run.history, end_event)
            result = check("bounded_give_up", with_end(run, max(run.ctx.end, overdue)), history)
    assert named(result, injected), (kind, result.message)


@PROPERTY
@given(request_reply(patient=True))
def test_give_up_nothing_to_test_is_unknown(run: RRRun) -> None:
    # patient clients declare no budget: nothing of theirs can be judged
    assert check("bounded_give_up", run).verdict == "unknown"


# -- no_duplicate_execution and duplicate_executions -------------------------------------------

@PROPERTY
@given(request_reply())
def test_executions_at_most_once_per_send_are_ok(run: RRRun) -> None:
    result = check("no_duplicate_execution", run, max=run.sends)
    assert result.verdict == ("ok" if any(o.handled for o in run.ops) else "unknown")
    assert check("duplicate_executions", run).verdict != "violated"


@PROPERTY
@given(request_reply(), st.data())
def test_executions_one_too_many_is_always_found(run: RRRun, data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(run.ops))
    extra = [ev(round(target.invoke["t"] + 0.0005, 4), "s", "handled", op=target.op)
             for _ in range(run.sends + 1 - len(target.handled))]
    history = by_time(*run.history, *extra)
    result = check("no_duplicate_execution", run, history, max=run.sends)
    assert named(result, extra[0]), result.message
    figures = check("duplicate_executions", run, history)
    assert figures.verdict == "ok" and figures.figures["worst"] >= run.sends + 1


@PROPERTY
@given(request_reply())
def test_executions_nothing_to_test_is_unknown(run: RRRun) -> None:
    none = [e for e in run.history if e["type"] != "handled"]
    assert check("no_duplicate_execution", run, none).verdict == "unknown"
    assert check("duplicate_executions", run, none).verdict == "unknown"


# -- availability and latency ----------------------------------------------------------

@PROPERTY
@given(request_reply(), st.data())
def test_availability_at_the_models_own_level_is_ok_and_one_less_is_not(
        run: RRRun, data: st.DataObject) -> None:
    level = sum(1 for o in run.ops if o.ok) / len(run.ops)
    assert check("availability", run, min=level).verdict == "ok"
    answered = [o for o in run.ops if o.ok is not None]
    assume(answered)
    target = data.draw(st.sampled_from(answered))
    assert target.ok is not None
    injected = ev(target.ok["t"], target.client, "gave_up", op=target.op, reason="tired")
    result = check("availability", run, swap(run.history, target.ok, injected), min=level)
    assert named(result, injected), result.message


@PROPERTY
@given(request_reply())
def test_availability_nothing_to_test_is_unknown(run: RRRun) -> None:
    servers_only = [e for e in run.history if e["type"] not in ("invoke", "ok", "gave_up")]
    assert check("availability", run, servers_only).verdict == "unknown"


@PROPERTY
@given(request_reply(), st.data())
def test_latency_at_the_models_own_worst_is_ok_and_one_slower_is_not(
        run: RRRun, data: st.DataObject) -> None:
    answered = [o for o in run.ops if o.ok is not None]
    assume(answered)
    worst = max(o.ok["t"] - o.invoke["t"] for o in answered if o.ok is not None)
    assert check("latency", run, p99_max=worst + 1e-6).verdict == "ok"
    target = data.draw(st.sampled_from(answered))
    assert target.ok is not None
    injected = {**target.ok, "t": round(target.invoke["t"] + worst + 0.5, 3)}
    result = check("latency", run, swap(run.history, target.ok, injected), p99_max=worst + 1e-6)
    assert named(result, injected), result.message


@PROPERTY
@given(request_reply())
def test_latency_nothing_to_test_is_unknown(run: RRRun) -> None:
    assert check("latency", run, [e for e in run.history if e["type"] != "ok"]).verdict \
        == "unknown"


# -- at_most_one_active -----------------------------------------------------------------

@PROPERTY
@given(binary_star())
def test_single_active_runs_are_ok(run: BStarRun) -> None:
    result = check("at_most_one_active", run)
    assert result.verdict == "ok", (result.message, result.violations[:2])


def split_points(run: BStarRun) -> list[tuple[str, str, float, float]]:
    """(active, other, from, to): spans inside an era where the other server is alive."""
    spans = []
    for era in run.eras:
        other = "b" if era.server == "p" else "p"
        for start, stop in run.alive[other]:
            lo, hi = max(era.start, start) + 0.01, min(era.end, stop) - 0.01
            if hi - lo > 0.005:
                spans.append((era.server, other, round(lo, 3), round(hi, 3)))
    return spans


@PROPERTY
@given(binary_star(), st.data())
def test_a_second_active_server_is_always_found(run: BStarRun, data: st.DataObject) -> None:
    spans = split_points(run)
    assume(spans)
    _active, other, lo, hi = data.draw(st.sampled_from(spans))
    at = round(data.draw(st.floats(lo, hi)), 3)
    kind = data.draw(st.sampled_from(["state", "handled", "answer"]))
    extra: list[Event] = []
    if kind == "state":
        injected = ev(at, other, "state", state="ACTIVE")
        extra = [ev(round(min(hi + 0.005, at + data.draw(st.floats(0.002, 1.0))), 3), other,
                    "state", state="PASSIVE")]
    elif kind == "handled":
        injected = ev(at, other, "handled", op="z:1")
    else:
        sent = round(data.draw(st.floats(lo, at)), 3)
        extra = [ev(sent, "z", "invoke", op="z:1", body="z:1")]
        injected = ev(max(at, round(sent + 0.001, 3)), "z", "ok", op="z:1", reply="z:1",
                      server=f"tcp://{other}")
        assume(injected["t"] < hi + 0.01)
    history = by_time(*run.history, injected, *extra)
    result = check("at_most_one_active", run, history)
    assert named(result, injected), (kind, result.message)


@PROPERTY
@given(binary_star(), st.sampled_from(["p", "b"]))
def test_split_brain_nothing_to_test_or_a_silent_server_is_never_ok(
        run: BStarRun, silent: str) -> None:
    blind = [e for e in run.history if e["type"] not in ("state", "handled")
             and not (e["type"] == "ok" and e.get("server") in OWNER)]
    assert check("at_most_one_active", run, blind).verdict == "unknown"
    one_silent = [e for e in run.history if not (e["type"] == "state" and e["node"] == silent)]
    assert check("at_most_one_active", run, one_silent).verdict != "ok"


# -- failover_within ---------------------------------------------------------------------

@PROPERTY
@given(binary_star())
def test_failovers_within_the_models_bound_are_never_violated(run: BStarRun) -> None:
    result = check("failover_within", run, within=run.within)
    assert result.verdict != "violated", (result.message, result.violations[:2])
    if not run.deaths:
        assert result.verdict == "unknown"


@PROPERTY
@given(binary_star(most_faults=4), st.data())
def test_a_missing_failover_is_always_found(run: BStarRun, data: st.DataObject) -> None:
    candidates = []
    for index, (blow, victim) in enumerate(run.deaths):
        window = (blow["t"], blow["t"] + run.within)
        back_answers = [e for e in run.history if e["type"] == "ok"
                        and window[0] < e["t"] <= window[1]
                        and OWNER.get(e.get("server", "")) == victim]
        if run.takeovers[index] and not back_answers:
            candidates.append(index)
    assume(candidates)
    index = data.draw(st.sampled_from(candidates))
    blow, _ = run.deaths[index]
    history = dropped(run.history, *run.takeovers[index])
    longer = with_end(run, max(run.ctx.end, blow["t"] + run.within + 0.1))
    result = check("failover_within", longer, history, within=run.within)
    assert named(result, blow), result.message


# -- durable_acks ------------------------------------------------------------------------

@PROPERTY
@given(titanic())
def test_acked_requests_all_answered_are_ok(run: TitanicRun) -> None:
    result = check("durable_acks", run)
    assert result.verdict == ("ok" if run.answered else "unknown"), (result.message,
                                                                     result.violations[:2])


@PROPERTY
@given(titanic(), st.data())
def test_one_lost_or_wrong_acked_request_is_always_found(run: TitanicRun,
                                                         data: st.DataObject) -> None:
    assume(run.answered)
    op = data.draw(st.sampled_from(sorted(run.answered)))
    reply = run.answered[op]
    # a request left unanswered is an orphan, not lost, once its client is gone for good
    orphan = run.killed_for_good is not None
    kind = data.draw(st.sampled_from(["wrong", "gave up"] + ([] if orphan else ["lost"])))
    if kind == "lost":
        history, injected = dropped(run.history, reply), run.acked[op][0]
    elif kind == "wrong":
        injected = {**reply, "reply": op + "?"}
        history = swap(run.history, reply, injected)
    else:
        injected = ev(reply["t"], "c", "gave_up", op=op, reason="unknown uuid")
        history = swap(run.history, reply, injected)
    result = check("durable_acks", run, history)
    assert named(result, injected), (kind, result.message)


@PROPERTY
@given(titanic())
def test_durable_nothing_to_test_is_unknown(run: TitanicRun) -> None:
    assert check("durable_acks", run, [e for e in run.history if e["type"] != "ack"]).verdict \
        == "unknown"


# -- mmi_reflects_workers ----------------------------------------------------------------

@PROPERTY
@given(mmi_model())
def test_mmi_answers_of_a_lagging_broker_are_ok(run: MMIRun) -> None:
    result = check("mmi_reflects_workers", run)
    assert result.verdict == "ok", (result.message, result.violations[:2])


@PROPERTY
@given(mmi_model(), st.data())
def test_one_wrong_mmi_answer_is_always_found(run: MMIRun, data: st.DataObject) -> None:
    kinds = ["200 for nobody", "501 for a service"] + (["404 while healthy"] if run.healthy
                                                       else []) + (
        ["200 with no worker"] if run.dead else [])
    kind = data.draw(st.sampled_from(kinds))
    if kind == "404 while healthy":
        at = data.draw(st.sampled_from(run.healthy))[0]
        injected = ev(at, "probe", "mmi", service="echo", code="404")
    elif kind == "200 with no worker":
        at = data.draw(st.sampled_from(run.dead))[0]
        injected = ev(at, "probe", "mmi", service="echo", code="200")
    elif kind == "200 for nobody":
        injected = ev(data.draw(st.integers(0, 6000)) / 1000, "probe", "mmi", service="nosuch",
                      code="200")
    else:
        injected = ev(data.draw(st.integers(0, 6000)) / 1000, "probe", "mmi", service="echo",
                      code="501")
    result = check("mmi_reflects_workers", run, by_time(*run.history, injected))
    assert named(result, injected), (kind, result.message)


@PROPERTY
@given(mmi_model())
def test_mmi_nothing_to_test_is_unknown(run: MMIRun) -> None:
    assert check("mmi_reflects_workers", run, [e for e in run.history if e["type"] != "mmi"]) \
        .verdict == "unknown"
