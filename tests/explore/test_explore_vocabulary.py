"""The fault vocabulary and the schedule strategies: only valid, allowed schedules come out."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.explore.schedules import ScheduleBuilder, describe, kind_of, schedule_key
from harness.explore.strategies import schedules
from harness.explore.vocabulary import STEP, build_vocabulary
from harness.scenario import Fault, load_scenario, load_text

BSTAR = load_scenario("scenarios/binary_star/bstar-primary-killed.yaml")
MAJORDOMO = load_scenario("scenarios/majordomo/majordomo-async-broker-restart.yaml")

PLAIN = """
name: plain
pattern: majordomo
duration: 10s
nodes:
  broker: {role: majordomo.broker}
  worker: {role: majordomo.worker, connect: [broker], service: echo, replicas: 2}
  client: {role: majordomo.client, connect: [broker], service: echo}
contracts:
  - every_request_answered: {within: 3s}
"""


def test_default_vocabulary_is_everything_from_the_topology() -> None:
    vocab = build_vocabulary(load_text(PLAIN, "plain.yaml"))
    assert vocab.window == (1.0, 7.0)  # no base faults: 1 s; 3 s kept for `within`
    assert set(vocab.process) == {"kill", "stop", "restart", "pause"}
    assert ("worker-1", "worker-2") in vocab.process["kill"]  # a whole group
    assert ("worker-1->broker", "worker-2->broker") in vocab.link_options  # a bundle
    assert set(vocab.link_kinds()) >= {"disconnect", "cut", "latency", "slicer"}
    # every split of 4 nodes into two groups cuts a link here
    assert vocab.cuts is not None and len(vocab.cuts) == 7
    assert vocab.categories() == ["process", "partition", "link"]


def test_explore_section_narrows_the_vocabulary() -> None:
    vocab = build_vocabulary(BSTAR)
    assert vocab.window == (2.5, 4.5) and vocab.length == (0.3, 1.5)
    assert "pause" not in vocab.process
    assert not vocab.permanent
    assert vocab.allowed_links == {"client-1->primary", "client-2->primary",
                                   "client-1->backup", "client-2->backup"}
    # no partition may cut the peer link
    assert vocab.cuts is not None
    assert len(vocab.cuts) == 3  # {client-1}, {client-2}, {both clients} against the pair
    for small, big in vocab.cuts:
        assert {"primary", "backup"} <= set(small) or {"primary", "backup"} <= set(big)
        assert all(link in vocab.allowed_links for link in vocab.cut_links(set(small)))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_schedules_are_valid_and_allowed(data: st.DataObject) -> None:
    scenario = data.draw(st.sampled_from([BSTAR, MAJORDOMO]))
    vocab = build_vocabulary(scenario)
    builder = ScheduleBuilder(scenario)
    schedule = data.draw(schedules(vocab, builder))
    assert len(schedule) <= vocab.max_faults
    assert builder.is_valid(schedule)  # the loader accepts it as a scenario
    for fault in schedule:
        assert vocab.window[0] <= fault.at <= vocab.window[1]
        assert round(fault.at / STEP, 6) == round(fault.at / STEP)
        if fault.duration is not None:
            assert vocab.length[0] - 1e-9 <= fault.duration <= vocab.length[1] + 1e-9
            assert fault.at + fault.duration <= vocab.window[1] + 1e-9
        elif fault.action in ("kill", "stop"):
            assert vocab.permanent
        if fault.is_process:
            assert tuple(fault.targets) in vocab.process[fault.action]
        else:
            assert all(link in vocab.allowed_links for link in fault.links)
        if fault.action not in ("partition",) and not fault.is_process:
            assert kind_of(fault) in vocab.link_kinds()
        assert describe(fault)


def test_repair_drops_a_fault_the_loader_would_refuse() -> None:
    builder = ScheduleBuilder(BSTAR)
    first = Fault(at=3.0, action="kill", targets=["backup"], duration=1.0)
    clash = Fault(at=3.5, action="pause", targets=["backup"], duration=0.5)  # backup is down
    later = Fault(at=4.2, action="pause", targets=["backup"], duration=0.3)
    assert builder.repair([clash, first, later]) == (first, later)
    assert schedule_key([first]) == schedule_key([first.model_copy(update={"line": 9})])


def test_built_scenarios_keep_the_base_and_bake_in_commands() -> None:
    builder = ScheduleBuilder(BSTAR)
    kill = Fault(at=3.0, action="kill", targets=["primary"], duration=1.0)
    data = builder.data([kill], name="x-1", seed=5, contracts=["replies_match_requests"],
                        expect={"violated": ["replies_match_requests"]},
                        commands={"binary_star.client": "python broken.py"})
    assert data["faults"] == [{"at": "3s", "kill": "primary", "for": "1s"}]
    assert "explore" not in data
    assert data["nodes"]["client-1"]["command"] == "python broken.py"
    assert "command" not in data["nodes"]["primary"]
    scenario = builder.build([kill], name="x-2", seed=5)
    assert scenario.name == "x-2" and scenario.seed == 5 and scenario.faults == [kill]
    assert scenario.nodes == BSTAR.nodes and scenario.contracts == BSTAR.contracts
