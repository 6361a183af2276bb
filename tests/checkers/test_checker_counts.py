"""no_duplicate_execution, duplicate_executions, availability and latency."""

from __future__ import annotations

from chk_events import by_time, context, fail, handled, invoke, ok

from harness.checkers.executions import duplicate_executions, no_duplicate_execution
from harness.checkers.service import availability, latency

CTX = context(end=10)


def test_single_executions_pass() -> None:
    history = by_time(handled(0.1, "s1", "c:1"), handled(0.2, "s2", "c:2"))
    result = no_duplicate_execution(history, CTX)
    assert result.verdict == "ok"
    assert result.figures == {"executions": 2, "ops_executed": 2, "duplicated_ops": 0, "worst": 1}


def test_duplicate_across_servers_is_flagged() -> None:
    history = by_time(handled(0.1, "s1", "c:1"), handled(0.5, "s2", "c:1"),
                      handled(0.6, "s2", "c:1"), handled(0.7, "s1", "c:2"))
    result = no_duplicate_execution(history, CTX)
    assert result.verdict == "violated"
    assert "executed 3 times" in result.message and "s1, s2" in result.message
    assert result.figures["worst"] == 3 and result.figures["duplicated_ops"] == 1
    assert no_duplicate_execution(history, CTX, max=3).verdict == "ok"


def test_no_handled_events_is_unknown() -> None:
    assert no_duplicate_execution([invoke(0, "c", 1)], CTX).verdict == "unknown"
    assert duplicate_executions([], CTX).verdict == "unknown"


def test_duplicate_executions_reports_but_never_fails() -> None:
    history = by_time(*(handled(0.1 * i, "s", "c:1") for i in range(5)))
    result = duplicate_executions(history, CTX)
    assert result.verdict == "ok"
    assert result.figures["worst"] == 5 and result.figures["duplicated_ops"] == 1


def four_ops() -> list[dict]:
    return by_time(invoke(0, "c", 1), ok(0.1, "c", 1), invoke(1, "c", 2), ok(1.5, "c", 2),
                   invoke(2, "c", 3), fail(3, "c", 3), invoke(4, "c", 4))


def test_availability_threshold() -> None:
    result = availability(four_ops(), CTX)
    assert result.verdict == "ok" and result.figures["availability"] == 0.5
    assert availability(four_ops(), CTX, min=0.5).verdict == "ok"
    low = availability(four_ops(), CTX, min=0.9)
    assert low.verdict == "violated" and "below" in low.message
    assert availability([], CTX).verdict == "unknown"


def test_latency_bounds() -> None:
    result = latency(four_ops(), CTX)
    assert result.verdict == "ok"
    assert result.figures["p50_ms"] == 100.0 and result.figures["max_ms"] == 500.0
    assert latency(four_ops(), CTX, p50_max=0.2, p99_max=0.6).verdict == "ok"
    slow = latency(four_ops(), CTX, p99_max=0.4)
    assert slow.verdict == "violated" and "p99" in slow.message
    assert any(e.get("op") == "c:2" for e in slow.violations[0]["events"])
    assert latency(four_ops(), CTX, p50_max=0.05).verdict == "violated"
    assert latency([invoke(0, "c", 1)], CTX).verdict == "unknown"
