"""A node's first own events may precede its ``lifecycle start``; the history is fixed.

A container traces before the engine's API call returns, and a busy
harness reads the clock late. Seen on the docker runtime under load: a
subscriber's ``subscribe`` came 20 ms before its ``lifecycle start``, the
start closed the session it had just opened, and ``bounded_loss`` judged 4
of 2,027 deliveries (``unknown``: nothing owed). The runner now moves such a
start to just before the node's first own event (``starts_before_own_events``).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from oneway_events import by_time, context, deliver, lifecycle, publish, subscribe

from harness.checkers.delivery import bounded_loss, ordered_delivery
from harness.history import starts_before_own_events

DIRECT = {"s1": ["pub"]}


def late_start_history() -> list[dict]:
    pubs = [publish(0.5 + i * 0.01, "a", i + 1) for i in range(200)]
    subs = [deliver(1.005 + i * 0.01, "s1", "a", 51 + i) for i in range(150)]
    return by_time(lifecycle(0.4, "pub", "start"), subscribe(1.0, "s1"),
                   lifecycle(1.02, "s1", "start"), pubs, subs)


def test_a_start_logged_after_the_nodes_first_event_is_moved_before_it() -> None:
    history = late_start_history()
    assert ordered_delivery(history, context(DIRECT, end=3)).figures["deliveries"] == 2, \
        "without the fix the late start cuts the session after two deliveries"
    fixed = starts_before_own_events(history)
    starts = [e for e in fixed if e["type"] == "lifecycle" and e["target"] == "s1"]
    assert starts[0]["t"] == 1.0
    assert fixed.index(starts[0]) < next(i for i, e in enumerate(fixed) if e["type"] == "subscribe")
    assert ordered_delivery(fixed, context(DIRECT, end=3)).figures["deliveries"] == 150
    result = bounded_loss(fixed, context(DIRECT, end=3))
    assert result.verdict == "ok", result.message


def test_the_old_incarnations_events_do_not_move_a_restart() -> None:
    history = by_time(lifecycle(0.1, "s1", "start"), subscribe(0.2, "s1"),
                      deliver(0.5, "s1", "a", 1), lifecycle(1.0, "s1", "exit"),
                      lifecycle(2.0, "s1", "start"), subscribe(2.1, "s1"))
    assert starts_before_own_events(history) == history


def test_a_restart_logged_late_is_moved_but_not_before_the_exit() -> None:
    history = by_time(lifecycle(0.1, "s1", "start"), subscribe(0.2, "s1"),
                      lifecycle(1.0, "s1", "exit"), subscribe(1.9, "s1"),
                      lifecycle(2.0, "s1", "start"))
    fixed = starts_before_own_events(history)
    assert [(e["t"], e["type"]) for e in fixed] == [
        (0.1, "lifecycle"), (0.2, "subscribe"), (1.0, "lifecycle"), (1.9, "lifecycle"),
        (1.9, "subscribe")]


events = st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["a", "b", "harness"]),
                            st.sampled_from(["start", "exit", "own"])), max_size=30)


@given(events)
def test_only_starts_move_and_only_earlier(raw: list[tuple[int, str, str]]) -> None:
    history = by_time(*[
        lifecycle(t / 10, node, what) if what != "own" or node == "harness"
        else {"t": t / 10, "node": node, "type": "tick"}
        for t, node, what in raw])
    fixed = starts_before_own_events(history)
    assert [e["t"] for e in fixed] == sorted(e["t"] for e in fixed)
    assert sorted(map(repr, (e for e in fixed if e.get("event") != "start"))) == sorted(
        map(repr, (e for e in history if e.get("event") != "start")))
    before = sorted(e["t"] for e in history if e.get("event") == "start")
    after = sorted(e["t"] for e in fixed if e.get("event") == "start")
    assert len(before) == len(after) and all(a <= b for a, b in zip(after, before, strict=True))
