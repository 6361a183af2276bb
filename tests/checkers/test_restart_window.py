"""A restart's fault window ends when the restarted node is up, not when it was exec'd."""

from __future__ import annotations

from oneway_events import by_time, context, ev, fault, lifecycle

from harness.checkers.oneway import STARTUP_BOUND_S, fault_windows


def _kill_window(history: list[dict]) -> tuple[float, float]:
    (window,) = [w for w in fault_windows(history, context(end=9), 9) if w.fault == "kill"]
    return window.start, window.end


def test_the_window_runs_until_the_restarted_node_writes_its_first_event() -> None:
    history = by_time([fault(1.0, "kill", "proxy"), lifecycle(1.0, "proxy", "exit"),
                       fault(2.0, "start", "proxy"), lifecycle(2.0, "proxy", "start"),
                       ev(0.1, "proxy", "proxy"), ev(3.1, "proxy", "proxy")])
    assert _kill_window(history) == (1.0, 3.1)  # 1.1 s from exec to bind: still down


def test_without_an_own_event_soon_after_the_exec_the_window_ends_at_the_exec() -> None:
    late = 2.0 + STARTUP_BOUND_S + 0.5
    history = by_time([fault(1.0, "kill", "sink"), lifecycle(1.0, "sink", "exit"),
                       fault(2.0, "start", "sink"), lifecycle(2.0, "sink", "start"),
                       ev(late, "sink", "result")])
    assert _kill_window(history) == (1.0, 2.0)
