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
    # a process lives until its exit; one restarted with no exit logged died at the SIGKILL
    assert tl.alive_intervals(history, "w", 6.0) == [(0.1, 2.05), (3.0, 4.0), (4.01, 6.0)]


def test_a_stopped_process_lives_until_its_exit_or_at_most_the_stop_grace() -> None:
    stopped = [lifecycle(0.1, "w", "start"), fault(2.0, "stop", "w"),
               lifecycle(4.5, "w", "exit", code=0)]
    assert tl.alive_intervals(stopped, "w", 20.0) == [(0.1, 4.5)]
    never_logged = [lifecycle(0.1, "w", "start"), fault(2.0, "stop", "w")]
    assert tl.alive_intervals(never_logged, "w", 20.0) == [(0.1, 2.0 + tl.STOP_GRACE)]
    killed = [lifecycle(0.1, "w", "start"), fault(2.0, "kill", "w")]
    assert tl.alive_intervals(killed, "w", 20.0) == [(0.1, 2.0)]


def test_an_exit_of_another_incarnation_does_not_end_the_running_one() -> None:
    history = [lifecycle(0.1, "w", "start", incarnation=0), fault(2.0, "restart", "w"),
               lifecycle(2.01, "w", "start", incarnation=1),
               lifecycle(2.02, "w", "exit", incarnation=0, code=-9)]
    assert tl.alive_intervals(history, "w", 6.0) == [(0.1, 2.0), (2.01, 6.0)]


def test_alive_intervals_without_lifecycle_events() -> None:
    history = [fault(2.0, "kill", "w"), fault(3.0, "kill", "w", "revert")]
    assert tl.alive_intervals(history, "w", 5.0) == [(0.0, 2.0), (3.0, 5.0)]


def test_impaired_intervals_pause_and_network() -> None:
    history = [fault(1.0, "pause", "w"), fault(1.5, "resume", "w"),
               fault(2.0, "disconnect", "w->broker"), fault(2.5, "disconnect", "w->broker",
                                                             "revert"),
               fault(3.0, "latency", "w->broker"),  # may outlast any heartbeat: impaired
               fault(4.0, "partition", "w | broker"), fault(4.5, "heal", "all"),
               fault(5.0, "timeout", "all")]
    assert tl.impaired_intervals(history, "w", 6.0) == [(1.0, 1.5), (2.0, 2.5), (3.0, 4.5),
                                                        (4.0, 4.5), (5.0, 6.0)]


def test_two_faults_of_one_name_on_one_link_each_keep_their_own_window() -> None:
    history = [fault(1.0, "timeout", "w->broker"), fault(2.0, "timeout", "w->broker"),
               fault(3.0, "timeout", "w->broker", "revert"),
               fault(7.0, "timeout", "w->broker", "revert")]
    assert tl.covers(tl.impaired_intervals(history, "w", 9.0), 1.0, 7.0)


def test_a_killed_or_stopped_node_is_impaired_until_it_is_gone() -> None:
    history = [lifecycle(0.1, "w", "start"), fault(2.0, "stop", "w"),
               lifecycle(3.5, "w", "exit", code=0)]
    assert tl.impaired_intervals(history, "w", 9.0) == [(2.0, 3.5)]


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


def test_a_killed_server_is_active_until_its_process_exits() -> None:
    history = [state(0.5, "p", "ACTIVE"), fault(2.0, "kill", "p"), state(2.0001, "p", "ACTIVE"),
               lifecycle(2.05, "p", "exit"), lifecycle(3.0, "p", "start"),
               state(3.1, "p", "PASSIVE"), state(5.0, "p", "ACTIVE")]
    assert tl.active_intervals(history, 9.0) == {"p": [(0.5, 2.05), (5.0, 9.0)]}


def test_without_lifecycle_events_a_start_fault_revives_the_node() -> None:
    history = [state(0.5, "p", "ACTIVE"), fault(2.0, "kill", "p"), state(2.0001, "p", "ACTIVE"),
               fault(3.0, "kill", "p", "revert"), state(3.5, "p", "ACTIVE"),
               fault(4.0, "restart", "p"), state(4.5, "p", "ACTIVE")]
    assert tl.active_intervals(history, 9.0) == {"p": [(0.5, 2.0), (3.5, 4.0), (4.5, 9.0)]}


def test_a_fatal_server_stays_active_until_it_exits() -> None:
    history = [state(0.5, "p", "ACTIVE"), state(2.0, "b", "ACTIVE"),
               {"t": 3.5, "node": "p", "type": "fatal", "reason": "dual active"},
               state(3.6, "p", "ACTIVE"), lifecycle(3.7, "p", "exit")]
    assert tl.active_intervals(history, 9.0) == {"p": [(0.5, 3.7)], "b": [(2.0, 9.0)]}


def test_fault_windows_pair_applies_with_reverts_heals_resumes_and_starts() -> None:
    history = [fault(1.0, "pause", "s"), fault(2.0, "resume", "s"), fault(3.0, "kill", "s"),
               fault(4.0, "start", "s"), fault(5.0, "latency", "a->b"),
               fault(5.5, "latency", "a->b", "revert"), fault(6.0, "partition", "a | b"),
               fault(7.0, "heal", "all"), fault(8.0, "kill", "s")]
    windows = [(w.name, w.start, w.stop) for w in tl.fault_windows(history, context())]
    assert windows == [("pause", 1.0, 2.0), ("resume", 2.0, 2.0), ("kill", 3.0, 4.0),
                       ("start", 4.0, 4.0), ("latency", 5.0, 5.5), ("partition", 6.0, 7.0),
                       ("heal", 7.0, 7.0), ("kill", 8.0, None)]
