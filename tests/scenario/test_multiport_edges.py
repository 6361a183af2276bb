"""A node connecting to two ports of one target: one proxy per port, faults per pair."""

from __future__ import annotations

import textwrap

import pytest

from harness.scenario import ScenarioErrors, load_text

PIPELINE = """\
name: t
pattern: pipeline
duration: 5s
seed: 1
nodes:
  ventilator: {role: pipeline.ventilator, connect: [sink]}
  sink: {role: pipeline.sink}
  worker: {role: pipeline.worker, connect: [ventilator, "sink:results", "sink:control"],
           replicas: 2}
"""


def load(extra: str = ""):
    return load_text(PIPELINE + textwrap.dedent(extra), "t.yaml")


def test_each_port_of_a_pair_is_its_own_edge() -> None:
    edges = {e.name: e.port for e in load().edges()}
    assert edges == {
        "ventilator->sink": "results",
        "worker-1->ventilator": "tasks", "worker-1->sink:results": "results",
        "worker-1->sink:control": "control",
        "worker-2->ventilator": "tasks", "worker-2->sink:results": "results",
        "worker-2->sink:control": "control",
    }


def test_a_fault_on_the_pair_hits_both_ports() -> None:
    scenario = load("""\
        faults:
          - {at: 1s, latency: {link: worker-1->sink, latency: 10}, for: 1s}
          - {at: 3s, partition: [[worker-2], [sink]], for: 1s}
        """)
    latency, partition = scenario.faults
    assert latency.links == ["worker-1->sink:results", "worker-1->sink:control"]
    assert partition.links == ["worker-2->sink:results", "worker-2->sink:control"]


def test_the_same_port_twice_is_still_refused() -> None:
    text = PIPELINE.replace('"sink:results", "sink:control"', '"sink:results", sink')
    with pytest.raises(ScenarioErrors) as err:
        load_text(text, "t.yaml")
    assert "connects to sink twice (port results)" in str(err.value)


def test_the_resolved_scenario_loads_back_equal() -> None:
    scenario = load()
    assert load_text(scenario.to_resolved_yaml(), "again.yaml") == scenario
