"""Fault spans and labels: every fault named with its full target and parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.report.faults import (
    ScheduledFault,
    fault_label,
    fault_spans,
    scheduled_from_report,
    scheduled_from_scenario,
)


def ev(t: float, fault: str, target: str, phase: str = "apply", **extra: object) -> dict:
    return {"t": t, "node": "harness", "type": "fault", "fault": fault, "target": target,
            "phase": phase, **extra}


@pytest.mark.parametrize(("args", "label"), [
    (dict(action="kill", targets=["worker-1"]), "kill worker-1"),
    (dict(action="pause", targets=["a", "b"]), "pause a, b"),
    (dict(action="partition", sides=[["client"], ["broker", "worker-1"]]),
     "partition client | broker, worker-1"),
    (dict(action="latency", links=["client->server-1"], params={"latency": 500, "jitter": 0},
          stream="down"), "latency 500 ms on client->server-1, downstream"),
    (dict(action="latency", links=["a->b"], params={"latency": 200, "jitter": 50},
          stream="both", toxicity=0.5),
     "latency 200 ms \u00b1 50 ms on a->b, both directions, toxicity 50%"),
    (dict(action="bandwidth", links=["a->b"], params={"rate": 10}, stream="up"),
     "bandwidth 10 KB/s on a->b, upstream"),
    (dict(action="timeout", links=["a->b"], params={"timeout": 0}), "timeout (black hole) on a->b"),
    (dict(action="reset_peer", links=["a->b"], params={"timeout": 100}),
     "reset_peer after 100 ms on a->b"),
    (dict(action="slicer", links=["a->b"],
          params={"average_size": 64, "size_variation": 8, "delay": 10}),
     "slicer 64 B \u00b1 8 B, 10 \u00b5s apart on a->b"),
    (dict(action="limit_data", links=["a->b"], params={"bytes": 1000}),
     "limit_data 1000 B on a->b"),
    (dict(action="disconnect", links=["a->b"]), "disconnect a->b"),
    (dict(action="heal"), "heal (every network fault removed)"),
    (dict(action="brand_new_toxic", links=["a->b"], params={"knob": 3}),
     "brand_new_toxic (knob 3) on a->b"),
    (dict(action="latency", target_text="all"), "latency on every link"),
])
def test_fault_label_names_target_and_parameters(args: dict, label: str) -> None:
    assert fault_label(**args) == label


def test_spans_pair_apply_and_revert_and_take_stream_from_the_schedule() -> None:
    history = [
        ev(1.0, "latency", "client->server", params={"latency": 700, "jitter": 0}),
        ev(1.5, "kill", "server"),
        ev(3.0, "latency", "client->server", "revert", params={"latency": 700, "jitter": 0}),
    ]
    scheduled = [ScheduledFault("latency", 1.0, links=("client->server",),
                                params={"latency": 700, "jitter": 0}, stream="down"),
                 ScheduledFault("kill", 1.5, targets=("server",))]
    lat, kill = fault_spans(history, scheduled)
    assert lat.label == "latency 700 ms on client->server, downstream"
    assert (lat.start, lat.end, lat.instant) == (1.0, 3.0, False)
    assert lat.nodes == ("client", "server")
    assert kill.label == "kill server" and kill.instant and kill.end is None
    assert kill.nodes == ("server",)


def test_kill_with_for_becomes_a_span_and_heal_closes_network_faults() -> None:
    history = [
        ev(1.0, "kill", "w"), ev(2.0, "kill", "w", "revert"),
        ev(3.0, "partition", "a | b,c"), ev(4.0, "heal", "all"),
    ]
    kill, part, heal = fault_spans(history)
    assert (kill.start, kill.end, kill.instant) == (1.0, 2.0, False)
    assert part.label == "partition a | b, c" and part.nodes == ("a", "b", "c")
    assert part.end == 4.0 and heal.instant


def test_resume_ends_a_pause_without_for() -> None:
    pause, resume = fault_spans([ev(1.0, "pause", "w"), ev(2.5, "resume", "w")])
    assert (pause.start, pause.end) == (1.0, 2.5)
    assert resume.instant


def test_event_index_is_kept_and_odd_events_are_ignored() -> None:
    spans = fault_spans([
        ev(1.0, "kill", "w", index=4),
        {"t": 1.1, "node": "harness", "type": "fault"},  # no action
        ev(1.2, "kill", "w", phase="weird"),
    ])
    assert [s.index for s in spans] == [4]


def test_schedule_from_a_resolved_scenario_and_from_report_json(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(
        "name: x\npattern: lazy_pirate\nduration: 3s\n"
        "nodes:\n  server: {role: lazy_pirate.server}\n"
        "  client: {role: lazy_pirate.client, connect: [server]}\n"
        "faults:\n  - {at: 2s, kill: server}\n"
        "  - {at: 1s, latency: {link: client->server, latency: 300, stream: up}, for: 1s}\n"
        "contracts: [replies_match_requests]\n")
    faults = scheduled_from_scenario(tmp_path / "scenario.yaml")
    assert faults is not None
    assert [(f.action, f.stream) for f in faults] == [("latency", "up"), ("kill", None)]
    assert scheduled_from_scenario(tmp_path / "missing.yaml") is None
    report = {"schedule": [{"at": 2, "fault": "kill", "targets": ["s"], "links": []},
                           {"at": 1, "fault": "latency", "links": ["a->b"]}, "garbage"]}
    assert [f.action for f in scheduled_from_report(report)] == ["latency", "kill"]
    assert scheduled_from_report({"schedule": "nope"}) == []
