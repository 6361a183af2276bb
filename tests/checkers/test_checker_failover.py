"""at_most_one_active and failover_within (Binary Star)."""

from __future__ import annotations

from chk_events import by_time, context, fault, handled, invoke, lifecycle, ok, retry, state
from hypothesis import given
from hypothesis import strategies as st
from models import PROPERTY

from harness.checkers.failover import at_most_one_active, failover_within

NODES = {
    "primary": ("binary_star.server", "server", {"primary": True}),
    "backup": ("binary_star.server", "server", {"backup": True}),
    "c": ("binary_star.client", "client", {"timeout": 200, "retries": 3}),
}
OWNER = {"tcp://p": "primary", "tcp://b": "backup"}


def ctx(end: float = 10.0):
    return context(NODES, end=end, owner=OWNER)


def failover_history() -> list[dict]:
    """Primary serves, is killed at 2.0, the backup takes over and answers at 2.5."""
    return by_time(
        state(0.5, "primary", "ACTIVE"), state(0.6, "backup", "PASSIVE"),
        invoke(1.0, "c", 1), ok(1.01, "c", 1, server="tcp://p"),
        invoke(1.9, "c", 2), ok(1.91, "c", 2, server="tcp://p"),
        fault(2.0, "kill", "primary"), invoke(2.01, "c", 3), lifecycle(2.05, "primary", "exit"),
        retry(2.21, "c", 3, 2), state(2.45, "backup", "ACTIVE"),
        ok(2.5, "c", 3, server="tcp://b"),
        invoke(3.0, "c", 4), ok(3.01, "c", 4, server="tcp://b"),
    )


def test_clean_failover_has_one_active_and_a_measured_failover() -> None:
    history = failover_history()
    single = at_most_one_active(history, ctx())
    assert single.verdict == "ok", single.violations
    # ACTIVE until its process is gone (the exit), not merely until the kill
    assert single.figures["active_intervals"]["primary"] == [[0.5, 2.05]]
    assert single.figures["replies_by_server"] == {"primary": 2, "backup": 2}
    result = failover_within(history, ctx(), within=1.0)
    assert result.verdict == "ok"
    assert result.figures["failover_times_s"] == [0.5]
    assert failover_within(history, ctx(), within=0.4).verdict == "violated"


def test_overlapping_active_states_are_a_split_brain() -> None:
    history = by_time(state(0.5, "primary", "ACTIVE"), state(0.6, "backup", "PASSIVE"),
                      state(3.0, "backup", "ACTIVE"), state(4.0, "primary", "PASSIVE"))
    result = at_most_one_active(history, ctx())
    assert result.verdict == "violated"
    assert result.violations[0]["overlap"] == [3.0, 4.0]
    assert set(result.violations[0]["nodes"]) == {"primary", "backup"}


def test_paused_active_server_still_counts_as_active() -> None:
    history = by_time(state(0.5, "primary", "ACTIVE"), fault(2.0, "pause", "primary"),
                      state(3.0, "backup", "ACTIVE"), fault(4.0, "pause", "primary", "revert"))
    assert at_most_one_active(history, ctx()).verdict == "violated"


def test_death_ends_an_active_interval() -> None:
    for ending in (fault(2.0, "kill", "primary"), fault(2.0, "stop", "primary"),
                   fault(2.0, "restart", "primary"), lifecycle(2.0, "primary", "exit")):
        history = by_time(state(0.5, "primary", "ACTIVE"), ending, state(3.0, "backup", "ACTIVE"))
        assert at_most_one_active(history, ctx()).verdict == "ok", ending


def test_overlapping_answer_windows_alone_prove_nothing() -> None:
    history = by_time(
        invoke(1.0, "c", 1), invoke(1.05, "d", 1),
        ok(1.2, "c", 1, server="tcp://p"), ok(1.3, "d", 1, server="tcp://b"),
    )
    result = at_most_one_active(history, ctx())
    assert result.verdict == "unknown"
    assert result.figures["silent_servers"] == ["backup", "primary"]


def test_an_answer_while_the_other_server_is_active_throughout_is_flagged() -> None:
    history = by_time(state(0.5, "primary", "ACTIVE"), state(0.5, "backup", "PASSIVE"),
                      invoke(1.05, "d", 1), ok(1.3, "d", 1, server="tcp://b"))
    result = at_most_one_active(history, ctx())
    assert result.verdict == "violated"
    assert result.figures["answers_while_other_active"] == 1
    assert result.violations[0]["events"][0]["op"] == "d:1"


def test_a_handled_request_while_the_other_server_is_active_is_flagged() -> None:
    history = by_time(state(0.5, "primary", "ACTIVE"), state(0.5, "backup", "PASSIVE"),
                      handled(1.1, "backup", "d:1"))
    result = at_most_one_active(history, ctx())
    assert result.verdict == "violated"
    assert result.figures["answers_while_other_active"] == 1
    assert result.figures["answers_while_not_active"] == 1


def test_a_long_request_answered_after_a_failover_is_no_split_brain() -> None:
    # c's op 1 waited 1.5 s: its answer window spans both servers' ACTIVE periods
    history = by_time(state(0.5, "primary", "ACTIVE"), state(0.5, "backup", "PASSIVE"),
                      invoke(1.0, "c", 1), invoke(1.1, "c", 2),
                      ok(1.15, "c", 2, server="tcp://p"), fault(1.2, "kill", "primary"),
                      lifecycle(1.21, "primary", "exit"), state(1.8, "backup", "ACTIVE"),
                      ok(2.5, "c", 1, server="tcp://b"))
    assert at_most_one_active(history, ctx()).verdict == "ok"


def test_no_state_and_no_mapped_reply_is_unknown() -> None:
    history = by_time(invoke(1.0, "c", 1), ok(1.1, "c", 1, server="tcp://elsewhere"))
    assert at_most_one_active(history, ctx()).verdict == "unknown"
    assert failover_within(history, ctx()).verdict == "unknown"


def test_failover_without_demand_is_unknown_and_with_demand_but_no_reply_violated() -> None:
    quiet = by_time(state(0.5, "primary", "ACTIVE"), invoke(1.0, "c", 1),
                    ok(1.1, "c", 1, server="tcp://p"), fault(2.0, "kill", "primary"))
    assert failover_within(quiet, ctx(), within=1.0).verdict == "unknown"
    waiting = [*quiet, invoke(2.1, "c", 2)]
    result = failover_within(waiting, ctx(), within=1.0)
    assert result.verdict == "violated" and "primary" in result.message
    # the run ended before the window closed: undecided
    assert failover_within(waiting, ctx(end=2.5), within=1.0).verdict == "unknown"


def test_fault_on_a_passive_server_needs_no_failover() -> None:
    history = [*failover_history(), fault(3.5, "kill", "primary")]
    result = failover_within(history, ctx(), within=1.0)
    assert result.figures["faults_checked"] == 1


def test_servers_without_state_count_as_serving_when_they_answered() -> None:
    history = by_time(invoke(1.0, "c", 1), ok(1.1, "c", 1, server="tcp://p"),
                      fault(2.0, "kill", "primary"), invoke(2.1, "c", 2),
                      ok(2.6, "c", 2, server="tcp://b"))
    result = failover_within(history, ctx(), within=1.0)
    assert result.verdict == "ok" and result.figures["max_s"] == 0.6


@st.composite
def handovers(draw: st.DrawFn) -> tuple[list[dict], list[tuple[str, float, float]]]:
    """A valid history: ACTIVE periods alternate between the two servers, never overlapping."""
    events: list[dict] = []
    periods: list[tuple[str, float, float]] = []
    t = draw(st.floats(min_value=0, max_value=1))
    nodes = ["primary", "backup"]
    for i in range(draw(st.integers(min_value=1, max_value=6))):
        node = nodes[i % 2]
        start = t
        stop = start + draw(st.floats(min_value=0.05, max_value=2))
        events.append(state(start, node, "ACTIVE"))
        if draw(st.booleans()):
            events.append(state(stop, node, "PASSIVE"))
        else:
            events.append(fault(stop, "kill", node))
            events.append(lifecycle(stop + 0.001, node, "start"))
        periods.append((node, start, stop))
        t = stop + draw(st.floats(min_value=0.01, max_value=1))
    return by_time(*events), periods


@PROPERTY
@given(handovers())
def test_sequential_handovers_are_never_flagged(case) -> None:
    history, periods = case
    result = at_most_one_active(history, ctx(end=periods[-1][2] + 5))
    assert result.verdict == "ok", result.violations


@PROPERTY
@given(handovers(), st.data())
def test_a_split_brain_inserted_anywhere_is_found(case, data: st.DataObject) -> None:
    history, periods = case
    victim, start, stop = data.draw(st.sampled_from(periods))
    other = "backup" if victim == "primary" else "primary"
    at = data.draw(st.floats(min_value=start, max_value=stop, exclude_min=True,
                             exclude_max=True))
    length = data.draw(st.floats(min_value=0.001, max_value=3))
    brain = by_time(*history, state(at, other, "ACTIVE"), state(at + length, other, "PASSIVE"))
    result = at_most_one_active(brain, ctx(end=periods[-1][2] + 5))
    assert result.verdict == "violated"
    assert any(max(v["overlap"][0], start) < min(v["overlap"][1], stop)
               for v in result.violations)


def test_short_pause_recovered_by_the_same_server_is_no_failover_failure() -> None:
    history = by_time(state(0.5, "primary", "ACTIVE"), invoke(1.0, "c", 1),
                      ok(1.1, "c", 1, server="tcp://p"), fault(2.0, "pause", "primary"),
                      invoke(2.1, "c", 2), fault(2.3, "pause", "primary", "revert"),
                      ok(2.31, "c", 2, server="tcp://p"))
    result = failover_within(history, ctx(), within=1.0)
    assert result.verdict == "unknown" and result.figures["recovered"] == 1
    assert result.figures["faults_checked"] == 0


def test_reply_in_flight_from_a_killed_server_is_not_a_recovery() -> None:
    history = by_time(state(0.5, "primary", "ACTIVE"), invoke(1.95, "c", 1),
                      fault(2.0, "kill", "primary"), ok(2.001, "c", 1, server="tcp://p"),
                      invoke(2.1, "c", 2))
    assert failover_within(history, ctx(), within=1.0).verdict == "violated"


def test_a_server_answering_after_the_run_end_is_still_active() -> None:
    # seen in a real run: the harness stops the clients after the end, and until then
    # the ACTIVE backup goes on answering them
    history = by_time(state(0.3, "primary", "ACTIVE"), state(0.3, "backup", "PASSIVE"),
                      fault(2.8, "kill", "primary"), lifecycle(2.81, "primary", "exit"),
                      state(3.6, "backup", "ACTIVE"), invoke(7.34, "c", 142),
                      handled(7.354, "backup", "c:142"), ok(7.356, "c", 142, server="tcp://b"))
    result = at_most_one_active(history, ctx(end=7.3))
    assert result.verdict == "ok", result.violations
