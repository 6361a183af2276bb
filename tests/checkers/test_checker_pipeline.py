"""tasks_exactly_once and kill_stops_workers on hand-made histories."""

from __future__ import annotations

from oneway_events import by_time, ev, fault, lifecycle, pipeline_model, task_fields

from harness.checkers import run_contract
from harness.checkers.pipeline import kill_stops_workers, tasks_exactly_once


def steady(tasks: int = 6, workers: int = 2, delays: list[float] | None = None):
    return pipeline_model(tasks=tasks, workers=workers, exit_delays=delays or [0.05] * workers)


def without(history: list[dict], kinds: set[str], task: str) -> list[dict]:
    return [e for e in history if not (e["type"] in kinds and e.get("task") == task)]


# -- tasks_exactly_once ---------------------------------------------------------------


def test_every_task_counted_once_is_ok() -> None:
    run = steady()
    result = tasks_exactly_once(run.events, run.ctx)
    assert result.verdict == "ok", result.message
    assert result.figures["counted"] == 6 and result.figures["done_by_worker"] == {"w1": 3,
                                                                                 "w2": 3}


def test_a_task_counted_twice_is_named() -> None:
    run = steady()
    again = dict(next(e for e in run.events if e["type"] == "result"), t=0.9)
    result = tasks_exactly_once(by_time(run.events, again), run.ctx)
    assert result.verdict == "violated"
    assert result.message.startswith("task vent:0:1 counted 2 times by the sink")


def test_a_refused_duplicate_is_fine() -> None:
    run = steady()
    refused = ev(0.9, "sink", "duplicate", worker="w1", **task_fields(1))
    result = tasks_exactly_once(by_time(run.events, refused), run.ctx)
    assert result.verdict == "ok" and result.figures["duplicates_refused"] == 1


def test_a_lost_task_is_named_with_the_worker_that_held_it() -> None:
    run = steady()
    task = "vent:0:4"
    history = without(run.events, {"task_done", "result"}, task)
    history = by_time(history, fault(0.54, "kill", "w2"), lifecycle(0.541, "w2", "exit"))
    result = tasks_exactly_once(history, run.ctx)
    assert result.verdict == "violated"
    assert "held by w2, which died at 0.540 s" in result.message and task in result.message
    assert result.violations[0]["holder"] == "w2" and result.violations[0]["tasks"] == [task]


def test_a_finished_task_the_sink_never_counted() -> None:
    run = steady()
    history = without(run.events, {"result"}, "vent:0:3")
    result = tasks_exactly_once(history, run.ctx)
    assert result.verdict == "violated" and "finished by w1" in result.message


def test_a_task_no_worker_received_names_the_suspect() -> None:
    run = steady()
    history = without(run.events, {"task_received", "task_done", "result"}, "vent:0:6")
    history = by_time(history, fault(0.56, "kill", "w2"))
    result = tasks_exactly_once(history, run.ctx)
    assert result.verdict == "violated"
    assert "in transit" in result.message and "w2 died meanwhile" in result.message


def test_workers_stopped_by_the_kill_signal_are_no_suspects() -> None:
    run = steady()
    history = without(run.events, {"task_received", "task_done", "result"}, "vent:0:6")
    result = tasks_exactly_once(history, run.ctx)
    assert result.violations[0]["holder"] is None


def test_the_tail_is_not_judged_unless_counted() -> None:
    run = steady()
    last = "vent:0:6"
    history = without(run.events, {"task_received", "task_done", "result"}, last)
    ctx = type(run.ctx)(nodes=run.ctx.nodes, end=0.58)
    assert tasks_exactly_once(history, ctx, grace=0.1).verdict == "ok"
    assert tasks_exactly_once(history, ctx, grace=0.01).verdict == "violated"


def test_a_phantom_result_is_flagged() -> None:
    run = steady()
    phantom = ev(0.9, "sink", "result", worker="w1", **task_fields(99))
    result = tasks_exactly_once(by_time(run.events, phantom), run.ctx)
    assert result.verdict == "violated" and "never sent" in result.message


def test_nothing_sent_is_unknown() -> None:
    run = steady()
    assert tasks_exactly_once([], run.ctx).verdict == "unknown"


# -- kill_stops_workers ------------------------------------------------------------


def test_workers_that_exit_promptly_are_ok() -> None:
    run = steady(delays=[0.05, 0.2])
    result = kill_stops_workers(run.events, run.ctx, within=1.0)
    assert result.verdict == "ok", result.message
    assert result.figures["max_exit_delay_s"] == 0.2


def test_a_worker_that_ignores_the_kill_is_named() -> None:
    run = steady(delays=[0.05, 1.5])
    result = kill_stops_workers(run.events, run.ctx, within=1.0)
    assert result.verdict == "violated" and result.message.startswith("w2 exited 1.500 s after")


def test_a_worker_still_running_at_the_end() -> None:
    run = steady()
    history = [e for e in run.events if not (e["type"] == "lifecycle" and e["target"] == "w1"
                                             and e["event"] == "exit")]
    ctx = type(run.ctx)(nodes=run.ctx.nodes, end=run.kill_at + 3)
    result = kill_stops_workers(history, ctx, within=1.0)
    assert result.verdict == "violated" and "w1 was still running" in result.message
    early = type(run.ctx)(nodes=run.ctx.nodes, end=run.kill_at + 0.5)
    assert kill_stops_workers(history, early, within=1.0).verdict == "unknown"


def test_a_worker_dead_before_the_kill_is_excused() -> None:
    run = steady()
    history = [e for e in run.events if not (e.get("target") == "w2" and e["type"] == "lifecycle"
                                             and e["event"] == "exit")]
    history = by_time(history, fault(0.52, "kill", "w2"), lifecycle(0.521, "w2", "exit"))
    result = kill_stops_workers(history, run.ctx, within=1.0)
    assert result.verdict == "ok" and result.figures["excused"] == ["w2"]


def test_a_worker_started_after_the_kill_must_exit_too() -> None:
    run = steady(workers=3, delays=[0.05] * 3)
    run.events = [e for e in run.events if e.get("target") != "w3" and e["node"] != "w3"]
    late = [lifecycle(run.kill_at + 0.5, "w3", "start"), lifecycle(run.kill_at + 0.6, "w3",
                                                                   "exit")]
    assert kill_stops_workers(by_time(run.events, late), run.ctx, within=1.0).verdict == "ok"
    stuck = [lifecycle(run.kill_at + 0.5, "w3", "start"), lifecycle(run.kill_at + 2.0, "w3",
                                                                    "exit")]
    result = kill_stops_workers(by_time(run.events, stuck), run.ctx, within=1.0)
    assert result.verdict == "violated" and "w3" in result.message


def test_no_kill_signal_is_unknown() -> None:
    run = steady()
    history = [e for e in run.events if e["type"] != "kill"]
    assert kill_stops_workers(history, run.ctx).verdict == "unknown"


def test_without_lifecycle_events_the_workers_own_killed_event_counts() -> None:
    run = steady()
    history = [e for e in run.events if e["type"] != "lifecycle"]
    assert kill_stops_workers(history, run.ctx, within=1.0).verdict == "ok"


def test_odd_events_never_crash_the_checkers() -> None:
    odd = [
        {"t": 0.1, "node": "vent", "type": "task_sent", "task": 5},
        {"t": 0.2, "node": "w1", "type": "task_received", "task": ["x"]},
        {"t": 0.3, "node": "sink", "type": "result", "task": None, "untracked": True},
        {"t": 0.4, "node": "sink", "type": "kill"},
        {"t": 0.5, "node": "harness", "type": "lifecycle", "target": ["w1"], "event": "exit"},
        {"t": 0.6, "node": "harness", "type": "fault", "fault": "kill", "target": None},
    ]
    run = steady()
    for name in ("tasks_exactly_once", "kill_stops_workers"):
        result = run_contract(name, {}, odd, run.ctx)
        assert not result.message.startswith("checker error"), (name, result.message)
