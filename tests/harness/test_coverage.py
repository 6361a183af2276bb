"""Fault coverage on hand-made histories: what a fault hit, and why not."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from harness.coverage import fault_coverage
from harness.scenario.model import Fault


def ev(t: float, node: str, type_: str, **kw: Any) -> dict[str, Any]:
    return {"t": t, "node": node, "type": type_, **kw}


def life(t: float, target: str, event: str, **kw: Any) -> dict[str, Any]:
    return ev(t, "harness", "lifecycle", target=target, event=event, **kw)


def fault_ev(t: float, index: int, fault: str, phase: str = "apply", **kw: Any) -> dict:
    return ev(t, "harness", "fault", index=index, fault=fault, phase=phase, **kw)


def op(t0: float, t1: float, node: str, seq: int) -> list[dict[str, Any]]:
    name = f"{node}:{seq}"
    return [ev(t0, node, "invoke", op=name, body=name), ev(t1, node, "ok", op=name, reply=name)]


LINKS = {"client-1->broker": ("client-1", "broker"), "client-2->broker": ("client-2", "broker"),
         "worker-1->broker": ("worker-1", "broker")}
CLIENTS = ["client-1", "client-2"]


def started(*nodes: str) -> list[dict[str, Any]]:
    return [life(0.01, n, "start") for n in nodes]


def test_idle_system_is_uncovered_with_the_last_operation_named() -> None:
    """The issue's example: clients exit at 0.25 s, every fault after hits an idle system."""
    faults = [Fault(at=1, action="kill", targets=["worker-1"]),
              Fault(at=2, action="start", targets=["worker-1"]),
              Fault(at=3, action="partition", sides=[["client-1", "client-2"], ["broker"]],
                    links=["client-1->broker", "client-2->broker"], duration=1)]
    history = [*started("broker", "worker-1", "client-1", "client-2"),
               *op(0.1, 0.2, "client-1", 1), *op(0.1, 0.25, "client-2", 1),
               life(0.26, "client-1", "exit", code=0), life(0.27, "client-2", "exit", code=0),
               fault_ev(1.0, 0, "kill", targets=["worker-1"]),
               life(1.01, "worker-1", "exit", code=-9),
               fault_ev(2.0, 1, "start", targets=["worker-1"]), life(2.05, "worker-1", "start"),
               fault_ev(3.0, 2, "partition"), fault_ev(4.0, 2, "partition", phase="revert")]
    cov = fault_coverage(history, faults, CLIENTS, links=LINKS, end=5.0)
    assert [f["hit"] for f in cov["faults"]] == [False, False, False]
    assert [u["index"] for u in cov["uncovered"]] == [0, 1, 2]
    assert "idle system" in cov["faults"][0]["why"]
    assert "ended at 0.250 s" in cov["faults"][0]["why"]
    assert cov["faults"][0]["alive"] is True
    # both clients were gone: the partition cut no live link
    assert cov["faults"][2]["alive"] is False
    assert "client-1 had exited at 0.260 s" in cov["faults"][2]["why"]
    assert cov["faults"][2]["until"] == 4.0 and cov["faults"][0]["until"] == 2.05


def test_partition_of_an_exited_client_hits_nothing_even_if_others_work() -> None:
    """The issue's second example: client-1 exited at 5.4 s, its partition came at 5.7 s."""
    faults = [Fault(at=5.7, action="partition", sides=[["client-1"], ["broker"]],
                    links=["client-1->broker"], duration=1)]
    history = [*started("broker", "client-1", "client-2"), *op(5.0, 5.3, "client-1", 1),
               life(5.4, "client-1", "exit", code=0),
               *[e for i in range(20) for e in op(5 + i * 0.1, 5.05 + i * 0.1, "client-2", i)],
               fault_ev(5.7, 0, "partition"), fault_ev(6.7, 0, "partition", phase="revert")]
    (entry,) = fault_coverage(history, faults, CLIENTS, links=LINKS, end=8.0)["faults"]
    assert entry["hit"] is False and entry["alive"] is False
    assert "client-1 had exited at 5.400 s" in entry["why"]
    assert entry["target"] == ["client-1->broker"]


def test_kill_with_operations_in_flight_and_started_is_hit() -> None:
    faults = [Fault(at=1, action="kill", targets=["worker-1"], duration=1)]
    history = [*started("broker", "worker-1", "client-1"),
               *op(0.9, 1.2, "client-1", 1), *op(1.5, 1.6, "client-1", 2),
               *op(2.5, 2.6, "client-1", 3),
               fault_ev(1.0, 0, "kill", targets=["worker-1"]), life(1.01, "worker-1", "exit"),
               fault_ev(2.0, 0, "kill", phase="revert"), life(2.02, "worker-1", "start")]
    samples = [{"t": 1.0, "proxies": {"worker-1->broker": {"upstream": {"received": 10,
                                                                         "sent": 10}}}},
               {"t": 1.99, "proxies": {"worker-1->broker": {"upstream": {"received": 15,
                                                                          "sent": 12}}}}]
    (entry,) = fault_coverage(history, faults, CLIENTS, links=LINKS, byte_samples=samples,
                              end=3.0)["faults"]
    assert entry["hit"] and entry["alive"]
    assert (entry["ops_in_flight"], entry["ops_started"]) == (1, 1)
    assert entry["bytes"] == {"worker-1->broker": {"received": 5, "sent": 2}}
    assert "1 operation in flight" in entry["why"]


def test_kill_of_a_dead_node_is_not_alive() -> None:
    faults = [Fault(at=2, action="kill", targets=["worker-1"])]
    history = [*started("worker-1", "client-1"), life(1.0, "worker-1", "exit", code=1),
               *op(1.9, 2.5, "client-1", 1), fault_ev(2.0, 0, "kill", targets=["worker-1"])]
    (entry,) = fault_coverage(history, faults, CLIENTS, links=LINKS, end=3.0)["faults"]
    assert entry["alive"] is False and entry["hit"] is False
    assert "worker-1 had exited at 1.000 s" in entry["why"]


def test_idle_ok_allows_an_idle_fault_and_bytes_not_measured() -> None:
    faults = [Fault(at=1, action="kill", targets=["worker-1"], idle_ok=True)]
    history = [*started("worker-1"), fault_ev(1.0, 0, "kill")]
    cov = fault_coverage(history, faults, CLIENTS, links=LINKS, byte_samples=None, end=2.0)
    (entry,) = cov["faults"]
    assert entry["hit"] is False and entry["idle_ok"] is True and entry["bytes"] is None
    assert cov["uncovered"] == [] and cov["bytes_measured"] is False
    assert entry["why"].endswith("(allowed: idle_ok)")


def test_a_fault_never_applied_says_so() -> None:
    faults = [Fault(at=9, action="kill", targets=["worker-1"])]
    (entry,) = fault_coverage(started("worker-1"), faults, CLIENTS, offset=0.5,
                              end=3.0)["faults"]
    assert entry["at"] is None and not entry["hit"] and "never applied" in entry["why"]


def test_a_fault_on_a_client_counts_only_that_clients_work() -> None:
    faults = [Fault(at=1, action="pause", targets=["client-1"], duration=1)]
    history = [*started("client-1", "client-2"), *op(1.2, 1.3, "client-2", 1),
               fault_ev(1.0, 0, "pause"), fault_ev(2.0, 0, "pause", phase="revert")]
    (entry,) = fault_coverage(history, faults, CLIENTS, end=3.0)["faults"]
    assert entry["ops_started"] == 0 and not entry["hit"]


def test_one_way_messages_count_as_work() -> None:
    faults = [Fault(at=1, action="latency", links=["worker-1->broker"],
                    attributes={"latency": 100}, duration=1)]
    history = [*started("worker-1", "broker", "client-1"),
               ev(1.5, "client-1", "deliver", seq=3), ev(1.6, "client-1", "deliver", seq=4),
               fault_ev(1.0, 0, "latency"), fault_ev(2.0, 0, "latency", phase="revert")]
    (entry,) = fault_coverage(history, faults, CLIENTS, links=LINKS, end=3.0)["faults"]
    assert entry["messages"] == 2 and entry["hit"]
    assert entry["params"] == {"latency": 100, "stream": "both", "toxicity": 1.0}


def test_history_without_fault_indexes_is_paired_by_order() -> None:
    faults = [Fault(at=1, action="kill", targets=["worker-1"]),
              Fault(at=2, action="kill", targets=["worker-1"])]
    history = [*started("worker-1", "client-1"),
               ev(1.0, "harness", "fault", fault="kill", target="worker-1", phase="apply"),
               life(1.5, "worker-1", "start"),
               ev(2.0, "harness", "fault", fault="kill", target="worker-1", phase="apply"),
               *op(2.1, 2.2, "client-1", 1)]
    cov = fault_coverage(history, faults, CLIENTS, end=3.0)
    assert [f["at"] for f in cov["faults"]] == [1.0, 2.0]


@given(invokes=st.lists(st.floats(0, 10, allow_nan=False), max_size=20),
       at=st.floats(0.1, 9, allow_nan=False), length=st.floats(0.01, 2, allow_nan=False))
def test_hit_exactly_when_an_operation_overlaps_the_window(invokes, at, length) -> None:
    """A live target is hit iff some client op is in flight at ``at`` or starts in the window."""
    faults = [Fault(at=at, action="kill", targets=["worker-1"], duration=length)]
    history = [*started("worker-1", "client-1")]
    for i, t in enumerate(invokes):
        history += op(t, t + 0.05, "client-1", i)
    history += [fault_ev(at, 0, "kill"), fault_ev(at + length, 0, "kill", phase="revert")]
    history.sort(key=lambda e: e["t"])
    (entry,) = fault_coverage(history, faults, CLIENTS, end=11.0)["faults"]
    expected = any(t < at <= t + 0.05 or at <= t <= at + length for t in invokes)
    assert entry["hit"] == expected


# -- one-way flows: messages on the path of the clients a fault concerns -------------------

ONEWAY_LINKS = {"proxy->publisher": ("proxy", "publisher"),
                "sub-1->proxy": ("sub-1", "proxy"), "sub-2->proxy": ("sub-2", "proxy")}
SUBS = ["sub-1", "sub-2"]


def stream(t0: float, t1: float, step: float = 0.1) -> list[dict[str, Any]]:
    """The publisher publishes seq 1, 2, ... and both subscribers take each at once."""
    out: list[dict[str, Any]] = []
    seq, t = 1, t0
    while t < t1:
        key = {"publisher": "publisher", "epoch": 0, "topic": "a", "seq": seq}
        out += [ev(t, "publisher", "publish", **key), ev(t + 0.001, "sub-1", "deliver", **key),
                ev(t + 0.001, "sub-2", "deliver", **key)]
        seq, t = seq + 1, t + step
    return out


def test_a_paused_subscriber_is_hit_by_the_stream_that_keeps_flowing_at_it() -> None:
    """A frozen subscriber writes nothing; its publisher (upstream) keeps publishing."""
    faults = [Fault(at=1, action="pause", targets=["sub-1"], duration=1)]
    history = [*started("publisher", "proxy", *SUBS),
               *[e for e in stream(0.1, 3.0) if not (e["node"] == "sub-1" and 1 <= e["t"] < 2)],
               fault_ev(1.0, 0, "pause"), fault_ev(2.0, 0, "pause", phase="revert")]
    (entry,) = fault_coverage(history, faults, SUBS, links=ONEWAY_LINKS, end=3.0)["faults"]
    assert entry["hit"] is True and entry["messages"] >= 9  # the publishes of its window


def test_a_killed_publisher_is_hit_mid_stream_though_nothing_flows_in_its_window() -> None:
    faults = [Fault(at=1, action="kill", targets=["publisher"]),
              Fault(at=2, action="start", targets=["publisher"])]
    history = [*started("publisher", "proxy", *SUBS), *stream(0.1, 1.0),
               fault_ev(1.0, 0, "kill"), life(1.001, "publisher", "exit", code=-9),
               fault_ev(2.0, 1, "start"), life(2.001, "publisher", "start"), *stream(2.1, 3.0)]
    kill, _start = fault_coverage(history, faults, SUBS, links=ONEWAY_LINKS, end=3.0)["faults"]
    assert kill["hit"] is True and kill["messages"] > 0


def test_a_kill_after_the_stream_ended_and_the_subscribers_left_hits_nothing() -> None:
    faults = [Fault(at=1, action="kill", targets=["publisher"])]
    history = [*started("publisher", "proxy", *SUBS), *stream(0.1, 0.9),
               life(0.95, "sub-1", "exit", code=0), life(0.95, "sub-2", "exit", code=0),
               fault_ev(1.0, 0, "kill"), life(1.001, "publisher", "exit", code=-9)]
    (entry,) = fault_coverage(history, faults, SUBS, links=ONEWAY_LINKS, end=3.0)["faults"]
    assert entry["hit"] is False and "idle system" in entry["why"]


def test_a_message_in_flight_across_the_fault_counts() -> None:
    """A task pushed before a worker's pause and taken after it was in flight through it."""
    links = {"worker-1->ventilator": ("worker-1", "ventilator")}
    faults = [Fault(at=1, action="pause", targets=["worker-1"], duration=1)]
    history = [*started("ventilator", "worker-1"),
               ev(0.5, "ventilator", "task_sent", task="v:0:1", seq=1),
               fault_ev(1.0, 0, "pause"), fault_ev(2.0, 0, "pause", phase="revert"),
               ev(2.1, "worker-1", "task_received", task="v:0:1", seq=1)]
    (entry,) = fault_coverage(history, faults, ["worker-1"], links=links, end=3.0)["faults"]
    assert entry["hit"] is True and entry["messages"] == 1


def test_a_slow_start_is_measured_and_noted() -> None:
    from harness.coverage import slow_effects

    history = [
        {"t": 0.0, "node": "harness", "type": "lifecycle", "target": "q", "event": "start"},
        {"t": 0.5, "node": "c", "type": "invoke", "op": "c:1", "body": "c:1"},
        {"t": 1.0, "node": "harness", "type": "fault", "fault": "kill", "target": "q",
         "phase": "apply", "index": 0, "targets": ["q"]},
        {"t": 1.01, "node": "harness", "type": "lifecycle", "target": "q", "event": "exit",
         "code": -9},
        {"t": 1.5, "node": "harness", "type": "fault", "fault": "start", "target": "q",
         "phase": "apply", "index": 1, "targets": ["q"]},
        {"t": 2.95, "node": "harness", "type": "lifecycle", "target": "q", "event": "start"},
        {"t": 3.0, "node": "c", "type": "ok", "op": "c:1"},
    ]
    faults = [Fault(at=1, action="kill", targets=["q"]),
              Fault(at=1.5, action="start", targets=["q"])]
    coverage = fault_coverage(history, faults, ["c"], end=4.0)
    assert "effect_lag_s" not in coverage["faults"][0]
    assert coverage["faults"][1]["effect_lag_s"] == 1.45
    notes = slow_effects(coverage)
    assert len(notes) == 1 and "fault #1 (start q) took effect 1.450 s" in notes[0]
    history[5]["t"] = 1.7
    assert slow_effects(fault_coverage(history, faults, ["c"], end=4.0)) == []
