"""The shared timeline helpers, on events shaped like the nemesis writes them."""

from __future__ import annotations

from chk_events import context, fault, lifecycle, state

from harness.checkers import timeline as tl


def test_named_nodes_reads_the_nemesis_target_formats() -> None:
    assert tl.named_nodes("worker-1") == {"worker-1"}
    assert tl.named_nodes("worker-1,worker-2") == {"worker-1", "worker-2"}
    assert tl.named_nodes("client | broker,worker-1") == {"client", "broker", "worker-1"}
    assert tl.named_nodes("worker-2->broker,client->broker") == {"worker-2", "broker", "client"}
    assert tl.named_nodes([["a"], ["b", "c"]]) == {"a", "b", "c"}
    assert tl.named_nodes(None) == set()


def test_last_heal_is_the_last_fault_event_or_the_schedule() -> None:
    history = [fault(1, "kill", "s"), fault(2, "partition", "a | b"),
               fault(3.5, "partition", "a | b", "revert")]
    assert tl.last_heal(history, context()) == 3.5
    assert tl.last_heal([], context()) is None
    scheduled = context()
    scheduled = type(scheduled)(nodes={}, faults=({"at": 1.0, "until": 4.0},
                                                  {"at": 6.0, "until": None}))
    assert tl.last_heal([], scheduled) == 6.0


def test_alive_intervals_from_lifecycle_and_faults() -> None:
    history = [lifecycle(0.1, "w", "start"), fault(2.0, "kill", "w"), lifecycle(2.05, "w", "exit"),
               lifecycle(3.0, "w", "start"), fault(4.0, "restart", "w"),
               lifecycle(4.01, "w", "start")]
    assert tl.alive_intervals(history, "w", 6.0) == [(0.1, 2.0), (3.0, 4.0), (4.01, 6.0)]


def test_alive_intervals_without_lifecycle_events() -> None:
    history = [fault(2.0, "kill", "w"), fault(3.0, "kill", "w", "revert")]
    assert tl.alive_intervals(history, "w", 5.0) == [(0.0, 2.0), (3.0, 5.0)]


def test_impaired_intervals_pause_and_network() -> None:
    history = [fault(1.0, "pause", "w"), fault(1.5, "resume", "w"),
               fault(2.0, "disconnect", "w->broker"), fault(2.5, "disconnect", "w->broker",
                                                             "revert"),
               fault(3.0, "latency", "w->broker"),  # slows, does not cut: not impaired
               fault(4.0, "partition", "w | broker"), fault(4.5, "heal", "all"),
               fault(5.0, "timeout", "all")]
    assert tl.impaired_intervals(history, "w", 6.0) == [(1.0, 1.5), (2.0, 2.5), (4.0, 4.5),
                                                        (5.0, 6.0)]


def test_active_intervals_end_on_state_change_death_or_end() -> None:
    history = [state(0.5, "p", "ACTIVE"), state(0.7, "p", "ACTIVE"), state(1.0, "p", "PASSIVE"),
               state(2.0, "p", "ACTIVE"), fault(3.0, "kill", "p"), lifecycle(3.5, "p", "start"),
               state(4.0, "p", "ACTIVE"), state(0.6, "b", "PASSIVE")]
    history.sort(key=lambda e: e["t"])
    assert tl.active_intervals(history, 9.0) == {"p": [(0.5, 1.0), (2.0, 3.0), (4.0, 9.0)],
                                                 "b": []}


def test_interval_predicates() -> None:
    spans = [(0.0, 1.0), (1.0, 2.0), (3.0, 4.0)]
    assert tl.covers(spans, 0.5, 1.5)
    assert not tl.covers(spans, 1.5, 3.5)
    assert not tl.covers([], 1.0, 1.0)
    assert tl.intersects(spans, 2.5, 3.0)
    assert not tl.intersects(spans, 2.1, 2.9)
    assert tl.overlap((0, 2), (1, 3)) == (1, 2) and tl.overlap((0, 1), (1, 2)) is None


def test_state_written_by_a_dying_process_after_its_kill_is_ignored() -> None:
    history = [state(0.5, "p", "ACTIVE"), fault(2.0, "kill", "p"), state(2.0001, "p", "ACTIVE"),
               lifecycle(2.05, "p", "exit"), lifecycle(3.0, "p", "start"),
               state(3.1, "p", "PASSIVE"), state(5.0, "p", "ACTIVE")]
    assert tl.active_intervals(history, 9.0) == {"p": [(0.5, 2.0), (5.0, 9.0)]}


def test_without_lifecycle_events_a_start_fault_revives_the_node() -> None:
    history = [state(0.5, "p", "ACTIVE"), fault(2.0, "kill", "p"), state(2.0001, "p", "ACTIVE"),
               fault(3.0, "kill", "p", "revert"), state(3.5, "p", "ACTIVE"),
               fault(4.0, "restart", "p"), state(4.5, "p", "ACTIVE")]
    assert tl.active_intervals(history, 9.0) == {"p": [(0.5, 2.0), (3.5, 4.0), (4.5, 9.0)]}


def test_fatal_ends_the_active_interval() -> None:
    history = [state(0.5, "p", "ACTIVE"), state(2.0, "b", "ACTIVE"),
               {"t": 3.5, "node": "p", "type": "fatal", "reason": "dual active"},
               state(3.6, "p", "ACTIVE"), lifecycle(3.7, "p", "exit")]
    assert tl.active_intervals(history, 9.0) == {"p": [(0.5, 3.5)], "b": [(2.0, 9.0)]}
