"""The scene: lanes, lifecycle, states, operations and violations, from any history."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.report import pages
from harness.report.scene import build_scene, exit_words
from harness.report.story import fault_context, headline
from tests.report.synth import synthetic_history, synthetic_report, write_folder


def test_lanes_follow_the_scenario_then_nodes_only_the_history_names() -> None:
    history = synthetic_history(ops=40)
    history.append({"t": 5.0, "node": "stranger", "type": "route", "seq": 1})
    scene = build_scene(synthetic_report(history), history)
    names = [lane.node for lane in scene.lanes]
    assert names[:2] == ["server", "backup"]
    assert set(names[2:4]) == {"client-1", "client-2"}
    assert "stranger" in names


def test_lifecycle_gives_bands_starts_and_exits_with_codes() -> None:
    history = synthetic_history(ops=20)
    scene = build_scene(synthetic_report(history), history)
    server = scene.lane("server")
    assert server is not None
    assert [m.label for m in server.marks if m.kind.startswith(("start", "exit"))] == [
        "start", "killed by SIGKILL", "start #2"]
    assert len(server.alive) == 2 and server.alive[0].end == server.alive[0].end
    assert any(m.kind == "fault-kill" for m in server.marks)
    assert exit_words(0) == "exit 0" and exit_words(3) == "exit 3"
    assert exit_words(-15) == "killed by SIGTERM" and exit_words(None) == "exited"


def test_state_bands_end_at_the_next_state_or_at_exit() -> None:
    history = synthetic_history(ops=20)
    scene = build_scene(synthetic_report(history), history)
    server = scene.lane("server")
    assert server is not None
    states = [(b.label, b.end) for b in server.bands if b.kind.startswith("state-")]
    assert states[0][0] == "PRIMARY"
    kill_exit = next(m.t for m in server.marks if m.kind == "exit-bad")
    assert states[1] == ("ACTIVE", kill_exit)  # a killed ACTIVE server is ACTIVE no longer


def test_operations_outcomes_retries_and_violations() -> None:
    history = synthetic_history(ops=300, seed=3)
    report = synthetic_report(history)
    scene = build_scene(report, history)
    outcomes = {o.outcome for o in scene.ops}
    assert outcomes <= {"ok", "gave_up", "open"} and "gave_up" in outcomes and "ok" in outcomes
    assert any(o.retries for o in scene.ops)
    named = {e["op"] for v in report["contracts"][0]["violations"] for e in v["events"]}
    assert {o.op for o in scene.ops if o.violated} == named
    assert all(v.t is not None and v.nodes for v in scene.violations)


def test_unknown_event_families_are_ticks_in_their_node_lane() -> None:
    history = synthetic_history(ops=200)
    scene = build_scene(synthetic_report(history), history)
    kinds = {lane.node: {t.kind for t in lane.ticks} for lane in scene.lanes}
    assert "handled" in kinds["server"] and "route" in kinds["server"]
    assert "deliver" in kinds["backup"]
    assert "publish" in kinds["client-1"]
    assert scene.other_types["publish"] > 0


def test_story_says_what_broke_when_and_where() -> None:
    history = synthetic_history(ops=200)
    report = synthetic_report(history)
    scene = build_scene(report, history)
    lines = headline(report, scene)
    assert lines[0].startswith("Expected every contract to hold, but replies_match_requests")
    assert "First violation of replies_match_requests" in lines[1]
    assert " on client-" in lines[1]
    mid = scene.faults[2]  # the latency window
    assert fault_context(scene, (mid.start + (mid.end or 0)) / 2).startswith(
        "during latency 500 ms on client-1->server")


def test_story_for_negative_controls_and_unknown() -> None:
    history = synthetic_history(ops=50)
    report = synthetic_report(history, verdict="pass")
    report["expected"] = "violated: replies_match_requests"
    lines = headline(report, build_scene(report, history))
    assert lines[0].startswith("This is a negative control")
    assert "As expected, replies_match_requests was violated." in lines
    report["contracts"][0].update(verdict="unknown", violations=[], message="no ok op")
    report["verdict"] = "fail"
    lines = headline(report, build_scene(report, history))
    assert any("did not flag it" in line for line in lines)
    assert any(line.startswith("Undecided: replies_match_requests (no ok op)") for line in lines)


events = st.fixed_dictionaries(
    {"t": st.floats(-5, 50, allow_nan=False), "type": st.sampled_from(
        ["invoke", "ok", "fail", "gave_up", "retry", "refused", "handled", "ack", "state",
         "lifecycle", "fault", "run", "fatal", "publish", "deliver", "route", "task", "??"]),
     "node": st.sampled_from(["harness", "a", "b", "client", "?"])},
    optional={"op": st.sampled_from(["a:1", "a:2", "client:1", 3, None]),
              "target": st.sampled_from(["a", "b", "a->b", "a | b", "", 5]),
              "event": st.sampled_from(["start", "exit", "end", "workload-start", 1]),
              "phase": st.sampled_from(["apply", "revert", "x"]),
              "fault": st.sampled_from(["kill", "pause", "resume", "latency", "partition",
                                        "heal", "mystery", 0]),
              "code": st.sampled_from([0, -9, 2, None, "x"]),
              "state": st.sampled_from(["ACTIVE", "PASSIVE", None, 3]),
              "incarnation": st.sampled_from([0, 1, True, "x"]),
              "params": st.sampled_from([{}, {"latency": 5}, "x", None])})


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(events, max_size=40), contracts=st.sampled_from([
    [], "garbage", [{"name": "x", "verdict": "violated",
                     "violations": [{"why": "w", "events": [{"t": 1.0, "node": "a", "op": "a:1"}],
                                     "nodes": ["b"], "overlap": [1.0, 2.0]}, "junk",
                                    {"why": "no events"}]}]]))
def test_any_history_renders_without_raising(tmp_path: Path, history: list[dict],
                                             contracts: object) -> None:
    history = sorted(history, key=lambda e: e["t"])
    report = {"scenario": "fuzz", "verdict": "unknown", "expected": "pass",
              "contracts": contracts, "nodes": {"a": {"role": "x"}, "b": "junk"},
              "coverage": None}
    folder = write_folder(tmp_path / "run" / "fuzz", report, history,
                          logs={"a": "--- zchaos: start #1: a\n2026-01-01 00:00:00,000 a x\n"})
    scene = build_scene(report, history)
    headline(report, scene)
    page = pages.render_scenario(folder, report, history)
    assert page.read_text().startswith("<!DOCTYPE html>")
