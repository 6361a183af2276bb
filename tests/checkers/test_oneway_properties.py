"""Property tests of the one-way contracts, from small reference models of each pattern.

For pub-sub and for the pipeline the model (``oneway_events``) generates
correct runs: publications delivered in order, with drops only inside pause
faults on the subscriber; tasks each counted once and workers exiting after
the kill signal. Every contract must say ``ok`` on those (never
``violated``); one injected violation (a reorder, a duplicate, a message
lost outside any fault, a task lost or counted twice, a worker that outlives
the kill signal) must always be ``violated`` and named; and a history with
nothing to test must be ``unknown``.
"""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oneway_events import ev, lifecycle, pipeline_model, pubsub_model

from harness.checkers import run_contract
from harness.checkers.delivery import bounded_loss, delivery_latency, ordered_delivery
from harness.checkers.pipeline import kill_stops_workers, tasks_exactly_once

# Contracts whose reference-model properties this module checks.
PROPERTY_CONTRACTS = frozenset({"ordered_delivery", "bounded_loss", "delivery_latency",
                                "tasks_exactly_once", "kill_stops_workers"})

PROPS = settings(max_examples=60, deadline=None)
TOPICS = ["10001", "10002", "20001"]


@st.composite
def pubsub_runs(draw: st.DrawFn):
    count = draw(st.integers(6, 60))
    topics = draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=3, unique=True))
    subs = draw(st.integers(1, 3))
    filters = {f"s{i + 1}": draw(st.sampled_from([[""], ["1"], ["10001"], ["2", "10002"]]))
               for i in range(subs)}
    restart = draw(st.none() | st.integers(2, count - 2))
    pauses = {}
    for sub in filters:
        if draw(st.booleans()):
            first = draw(st.integers(0, count - 1))
            pauses[sub] = (first, draw(st.integers(first, min(count - 1, first + 10))))
    return pubsub_model(topics=topics, filters=filters, count=count, restart_at=restart,
                        pauses=pauses)


def streams_of(run, sub: str) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = {}
    for event in run.delivered[sub]:
        out.setdefault((event["epoch"], event["topic"]), []).append(event)
    return out


@PROPS
@given(pubsub_runs())
def test_correct_pubsub_runs_are_never_violated(run) -> None:
    assert ordered_delivery(run.events, run.ctx).verdict != "violated"
    for since in ("subscribe", "first"):
        result = bounded_loss(run.events, run.ctx, since=since, grace=0.02)
        assert result.verdict != "violated", result.message
    assert delivery_latency(run.events, run.ctx, p99_max=0.01).verdict != "violated"


@PROPS
@given(pubsub_runs(), st.data())
def test_a_reorder_is_always_caught(run, data) -> None:
    candidates = [(sub, events) for sub in run.delivered
                  for events in streams_of(run, sub).values() if len(events) >= 2]
    assume(candidates)
    sub, events = data.draw(st.sampled_from(candidates))
    i = data.draw(st.integers(0, len(events) - 2))
    a, b = events[i], events[i + 1]
    a["seq"], b["seq"] = b["seq"], a["seq"]
    result = ordered_delivery(run.events, run.ctx)
    assert result.verdict == "violated"
    assert result.violations[0]["subscriber"] == sub
    assert "out of order" in result.violations[0]["why"]


@PROPS
@given(pubsub_runs(), st.data())
def test_a_duplicate_is_always_caught(run, data) -> None:
    subs = [s for s in run.delivered if run.delivered[s]]
    assume(subs)
    sub = data.draw(st.sampled_from(subs))
    original = data.draw(st.sampled_from(run.delivered[sub]))
    later = [e for e in run.events if e["t"] > original["t"]]
    copy = dict(original, t=(later[0]["t"] if later else original["t"] + 0.001))
    run.events.insert(run.events.index(later[0]) if later else len(run.events), copy)
    result = ordered_delivery(run.events, run.ctx)
    assert result.verdict == "violated" and sub in result.message


@PROPS
@given(pubsub_runs(), st.data())
def test_a_loss_outside_any_fault_is_always_caught_and_named(run, data) -> None:
    grace = 0.02

    def excused(sub: str, t: float) -> bool:
        return any(s == sub and start - grace <= t <= stop + grace
                   for s, start, stop in run.windows)

    # a delivery published well inside the run, away from faults and the restart
    end = run.ctx.end
    candidates = [(sub, e) for sub, events in run.delivered.items() for e in events[1:]
                  if not excused(sub, e["t"]) and e["t"] < end - 2 * grace
                  and not any(f["type"] == "fault" and abs(f["t"] - e["t"]) < 0.6
                              and f["fault"] in ("kill", "start") for f in run.events)]
    assume(candidates)
    sub, victim = data.draw(st.sampled_from(candidates))
    run.events.remove(victim)
    result = bounded_loss(run.events, run.ctx, since="subscribe", grace=grace)
    assert result.verdict == "violated"
    label = f"pub/{victim['epoch']}/{victim['topic']}#{victim['seq']}"
    assert any(v["subscriber"] == sub and label in v["lost"] for v in result.violations)


@PROPS
@given(pubsub_runs())
def test_pubsub_histories_without_deliveries_are_unknown(run) -> None:
    nothing = [e for e in run.events if e["type"] not in ("deliver", "publish")]
    for name in ("ordered_delivery", "bounded_loss", "delivery_latency"):
        assert run_contract(name, {}, nothing, run.ctx).verdict == "unknown", name


@st.composite
def pipeline_runs(draw: st.DrawFn):
    workers = draw(st.integers(1, 4))
    delays = draw(st.lists(st.floats(0.0, 0.9), min_size=workers, max_size=workers))
    return pipeline_model(tasks=draw(st.integers(1, 40)), workers=workers, exit_delays=delays)


@PROPS
@given(pipeline_runs())
def test_correct_pipeline_runs_are_never_violated(run) -> None:
    assert tasks_exactly_once(run.events, run.ctx).verdict == "ok"
    assert kill_stops_workers(run.events, run.ctx, within=1.0).verdict == "ok"


@PROPS
@given(pipeline_runs(), st.data())
def test_a_task_counted_twice_is_always_caught(run, data) -> None:
    results = [e for e in run.events if e["type"] == "result"]
    again = dict(data.draw(st.sampled_from(results)))
    again["t"] = run.events[-1]["t"] + 0.001
    result = tasks_exactly_once([*run.events, again], run.ctx)
    assert result.verdict == "violated"
    assert f"task {again['task']} counted 2 times" in result.message


@PROPS
@given(pipeline_runs(), st.data())
def test_a_lost_task_is_always_caught_with_its_holder(run, data) -> None:
    task = data.draw(st.sampled_from(sorted(run.holder)))
    lost_at = data.draw(st.sampled_from(["held", "finished"]))
    dropped = {"task_done", "result"} if lost_at == "held" else {"result"}
    history = [e for e in run.events if not (e["type"] in dropped and e.get("task") == task)]
    result = tasks_exactly_once(history, run.ctx)
    assert result.verdict == "violated"
    (named,) = result.violations
    assert named["tasks"] == [task] and named["holder"] == run.holder[task]
    assert ("held by" if lost_at == "held" else "finished by") in named["why"]


@PROPS
@given(pipeline_runs(), st.data(), st.floats(1.01, 5.0))
def test_a_worker_outliving_the_kill_is_always_caught(run, data, late) -> None:
    workers = sorted(set(run.holder.values()) | {n for n in run.ctx.nodes if n.startswith("w")})
    worker = data.draw(st.sampled_from(workers))
    history = [e for e in run.events if not (e["type"] == "lifecycle" and e["target"] == worker
                                             and e["event"] == "exit")]
    history.append(lifecycle(run.kill_at + late, worker, "exit"))
    history.sort(key=lambda e: e["t"])
    ctx = type(run.ctx)(nodes=run.ctx.nodes, end=run.kill_at + late + 1)
    result = kill_stops_workers(history, ctx, within=1.0)
    assert result.verdict == "violated" and result.violations[0]["worker"] == worker


@PROPS
@given(pipeline_runs())
def test_pipeline_histories_with_nothing_to_test_are_unknown(run) -> None:
    no_tasks = [e for e in run.events if not e["type"].startswith("task_")]
    assert tasks_exactly_once(no_tasks, run.ctx).verdict == "unknown"
    no_kill = [e for e in run.events if e["type"] != "kill"]
    assert kill_stops_workers(no_kill, run.ctx).verdict == "unknown"
    assert tasks_exactly_once([ev(0, "x", "ready")], run.ctx).verdict == "unknown"
