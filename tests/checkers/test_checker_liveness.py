"""every_request_answered and bounded_give_up."""

from __future__ import annotations

from chk_events import by_time, context, fail, fault, invoke, lifecycle, ok, retry
from hypothesis import given
from hypothesis import strategies as st
from models import PROPERTY

from harness.checkers.liveness import bounded_give_up, every_request_answered
from harness.checkers.rules import resolve_bound

LAZY = {"c": ("lazy_pirate.client", "client", {"timeout": 250, "retries": 3})}


def test_all_answered_is_ok() -> None:
    history = by_time(invoke(0, "c", 1), ok(0.1, "c", 1), invoke(0.2, "c", 2), ok(0.3, "c", 2))
    result = every_request_answered(history, context(LAZY, end=5))
    assert result.verdict == "ok"
    assert result.figures["answered"] == 2


def test_a_fail_is_a_violation() -> None:
    history = by_time(invoke(0, "c", 1), ok(0.1, "c", 1), invoke(1, "c", 2), fail(1.75, "c", 2))
    result = every_request_answered(history, context(LAZY, end=5))
    assert result.verdict == "violated"
    assert result.figures["failed"] == 1 and "given up" in result.message


def test_open_op_is_a_violation_only_once_overdue() -> None:
    ctx_grace = resolve_bound(context(LAZY), "c")
    assert abs(ctx_grace - (0.75 * 1.5 + 0.2)) < 1e-9
    history = by_time(invoke(0, "c", 1), ok(0.1, "c", 1), invoke(3.0, "c", 2))
    not_due = every_request_answered(history, context(LAZY, end=3.0 + ctx_grace - 0.01))
    assert not_due.verdict == "ok" and not_due.figures["open_not_due"] == 1
    overdue = every_request_answered(history, context(LAZY, end=3.0 + ctx_grace + 0.01))
    assert overdue.verdict == "violated" and overdue.figures["open"] == 1


def test_fail_during_the_harness_shutdown_is_judged_as_open() -> None:
    history = by_time(invoke(0, "c", 1), ok(0.01, "c", 1), invoke(4.9, "c", 2),
                      fail(5.05, "c", 2, reason="stopped"))
    assert every_request_answered(history, context(LAZY, end=5.0)).verdict == "ok"
    assert every_request_answered(history, context(LAZY, end=5.0),
                                  within=0.2).verdict == "ok"
    overdue = every_request_answered(history, context(LAZY, end=5.0), within=0.05)
    assert overdue.verdict == "violated" and overdue.figures["open"] == 1


def test_hung_client_without_options_uses_five_seconds() -> None:
    history = by_time(invoke(0, "c", 1), ok(0.1, "c", 1), invoke(1.0, "c", 2))
    assert every_request_answered(history, context(end=5.9)).verdict == "ok"
    assert every_request_answered(history, context(end=6.1)).verdict == "violated"


def test_nothing_answered_and_nothing_due_is_unknown() -> None:
    history = [invoke(4.9, "c", 1)]
    assert every_request_answered(history, context(end=5)).verdict == "unknown"
    assert every_request_answered([], context(end=5)).verdict == "unknown"


def test_within_counts_from_the_last_heal() -> None:
    # server killed at 1, restarted at 3 (the last fault event: the heal)
    history = by_time(
        invoke(0, "c", 1), ok(0.1, "c", 1),
        fault(1.0, "kill", "s"), invoke(1.5, "c", 2), fault(3.0, "start", "s"),
        ok(4.5, "c", 2), invoke(5.0, "c", 3), ok(5.2, "c", 3),
    )
    generous = every_request_answered(history, context(end=10), within=2.0)
    assert generous.verdict == "ok" and generous.figures["last_heal"] == 3.0
    strict = every_request_answered(history, context(end=10), within=1.0)
    assert strict.verdict == "violated" and strict.figures["late"] == 1
    assert "c:2" in strict.message


def test_within_open_op_during_long_fault_is_not_due_before_heal_plus_within() -> None:
    history = by_time(invoke(0, "c", 1), ok(0.1, "c", 1), fault(1, "pause", "s"),
                      invoke(1.5, "c", 2), fault(9.0, "pause", "s", phase="revert"))
    # still open 1 s after the heal: not due yet, and too soon to tell a hang from a delay
    assert every_request_answered(history, context(end=10), within=2.0).verdict == "unknown"
    assert every_request_answered(history, context(end=11.5), within=2.0).verdict == "violated"


def test_within_without_faults_counts_from_the_invoke() -> None:
    history = by_time(invoke(0, "c", 1), ok(0.4, "c", 1))
    assert every_request_answered(history, context(end=1), within=0.5).verdict == "ok"
    assert every_request_answered(history, context(end=1), within=0.3).verdict == "violated"


def test_op_of_a_client_killed_by_a_fault_is_orphaned_not_lost() -> None:
    history = by_time(invoke(0, "c", 1), ok(0.1, "c", 1), invoke(1.0, "c", 2),
                      fault(1.1, "kill", "c"), fault(2.0, "start", "c"))
    result = every_request_answered(history, context(LAZY, end=10))
    assert result.verdict == "ok" and result.figures["orphaned"] == 1
    assert bounded_give_up(history, context(LAZY, end=10)).verdict == "ok"


def test_client_stopped_by_the_harness_at_the_end_is_not_excused() -> None:
    # lifecycle exit is how the harness records its own end-of-run stop
    history = by_time(invoke(0, "c", 1), ok(0.1, "c", 1), invoke(1.0, "c", 2),
                      lifecycle(9.9, "c", "exit"))
    assert every_request_answered(history, context(LAZY, end=10)).verdict == "violated"
    assert bounded_give_up(history, context(LAZY, end=10)).verdict == "violated"


# -- bounded_give_up ------------------------------------------------------------

def test_fail_within_bound_is_ok_and_late_fail_is_flagged() -> None:
    # bound = 3 * 0.25 * 1.5 + 0.2 = 1.325 s
    timely = by_time(invoke(0, "c", 1), retry(0.25, "c", 1, 2), retry(0.5, "c", 1, 3),
                     fail(0.76, "c", 1))
    assert bounded_give_up(timely, context(LAZY, end=5)).verdict == "ok"
    late = by_time(invoke(0, "c", 1), fail(1.4, "c", 1))
    result = bounded_give_up(late, context(LAZY, end=5))
    assert result.verdict == "violated" and "given up after" in result.message
    assert result.figures["bounds_s"] == {"c": 1.325}


def test_hanging_client_is_flagged() -> None:
    history = by_time(invoke(0, "c", 1), ok(0.1, "c", 1), invoke(1.0, "c", 2))
    assert bounded_give_up(history, context(LAZY, end=2.3)).verdict == "ok"
    result = bounded_give_up(history, context(LAZY, end=2.4))
    assert result.verdict == "violated" and "still waiting" in result.message


def test_too_many_attempts_is_flagged() -> None:
    history = by_time(invoke(0, "c", 1), retry(0.25, "c", 1, 2), retry(0.5, "c", 1, 3),
                      retry(0.6, "c", 1, 4), ok(0.7, "c", 1))
    result = bounded_give_up(history, context(LAZY, end=5))
    assert result.verdict == "violated" and "sent 4 times" in result.message


def test_clients_without_timeout_and_retries_are_unknown() -> None:
    history = by_time(invoke(0, "c", 1), fail(100, "c", 1))
    no_options = {"c": ("hello.client", "client", {"timeout": 250})}
    result = bounded_give_up(history, context(no_options, end=200))
    assert result.verdict == "unknown" and result.figures["unchecked_clients"] == ["c"]


@st.composite
def give_ups_within_bound(draw: st.DrawFn) -> tuple[list[dict], float, dict]:
    timeout_ms = draw(st.integers(min_value=50, max_value=2000))
    retries = draw(st.integers(min_value=1, max_value=5))
    slack = draw(st.floats(min_value=0, max_value=1))
    bound = retries * timeout_ms / 1000 * (1 + slack) + 0.2
    events: list[dict] = []
    t = 0.0
    for seq in range(draw(st.integers(min_value=1, max_value=10))):
        events.append(invoke(t, "c", seq))
        attempts = draw(st.integers(min_value=1, max_value=retries))
        for attempt in range(2, attempts + 1):
            events.append(retry(t + (attempt - 1) * 0.001, "c", seq, attempt))
        took = draw(st.floats(min_value=0.01, max_value=bound * 0.999))
        events.append(ok(t + took, "c", seq) if draw(st.booleans()) else fail(t + took, "c", seq))
        t += took + draw(st.floats(min_value=0, max_value=1))
    nodes = {"c": ("lazy_pirate.client", "client", {"timeout": timeout_ms, "retries": retries})}
    return by_time(*events), slack, {"nodes": nodes, "end": t}


@PROPERTY
@given(give_ups_within_bound())
def test_bounded_histories_never_trip_bounded_give_up(case) -> None:
    history, slack, ctx = case
    result = bounded_give_up(history, context(ctx["nodes"], end=ctx["end"]), slack=slack)
    assert result.verdict == "ok", result.violations[:2]


@PROPERTY
@given(st.lists(st.tuples(st.floats(min_value=0, max_value=10),
                          st.floats(min_value=0.001, max_value=0.5)), min_size=1, max_size=30))
def test_histories_where_everything_is_answered_in_time_pass(spans) -> None:
    history = by_time(*(e for i, (t, lat) in enumerate(spans)
                        for e in (invoke(t, "c", i), ok(t + lat, "c", i))))
    end = max(t + lat for t, lat in spans) + 1
    assert every_request_answered(history, context(LAZY, end=end)).verdict == "ok"
    assert every_request_answered(history, context(LAZY, end=end), within=0.5).verdict == "ok"


def test_time_the_client_itself_was_frozen_is_not_held_against_its_budget() -> None:
    # bound = 3 x 0.25 x 1.5 + 0.2 = 1.325 s; the client was SIGSTOPped for 3 s meanwhile
    history = by_time(invoke(0, "c", 1), fault(0.1, "pause", "c"),
                      fault(3.1, "pause", "c", "revert"), fail(3.6, "c", 1))
    assert bounded_give_up(history, context(LAZY, end=5)).verdict == "ok"
    unfrozen = [e for e in history if e["type"] != "fault"]
    assert bounded_give_up(unfrozen, context(LAZY, end=5)).verdict == "violated"
