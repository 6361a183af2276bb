"""The ``explore:`` section: loads, resolves names, round-trips, and refuses bad input.

Bad files for it live with the others in tests/scenario/bad/ (``explore-*``),
where test_bad_files checks the message and the line of each.
"""

from __future__ import annotations

import pytest

from harness.scenario import ScenarioError, load_text
from harness.scenario.explore_spec import DEFAULT_TOXIC_RANGES, ExploreSpec

BASE = """
name: ex
pattern: binary_star
duration: 7s
timing: {heartbeat: 200ms}
nodes:
  primary: {role: binary_star.server, connect: [backup], primary: true}
  backup: {role: binary_star.server, connect: [primary], backup: true}
  client: {role: binary_star.client, connect: [primary, backup], replicas: 2}
contracts: [at_most_one_active]
"""


def load(section: str):
    return load_text(BASE + section, "ex.yaml")


def test_absent_section_is_none_and_default_spec_allows_everything() -> None:
    assert load("").explore is None
    spec = ExploreSpec()
    assert set(spec.process) == {"kill", "stop", "restart", "pause"}
    assert all(nodes is None for nodes in spec.process.values())
    assert set(spec.toxics) == set(DEFAULT_TOXIC_RANGES)


def test_names_are_resolved_and_the_section_round_trips() -> None:
    scenario = load("""
explore:
  max_faults: 2
  window: [2500ms, 5s]
  length: [300ms, 2s]
  permanent: false
  kill: [primary, backup, [primary, backup]]
  stop: false
  pause: client
  links: [client->primary, client-1->backup]
  partition: [[[client-1], [primary]]]
  toxics: {latency: {latency: [50ms, 800ms], stream: up}, bandwidth: false, reset_peer: true}
""")
    spec = scenario.explore
    assert spec is not None
    assert spec.window == (2.5, 5.0) and spec.length == (0.3, 2.0)
    # a name is one target (a group: all its members at once); a list is hit together
    assert spec.process == {"kill": [["primary"], ["backup"], ["primary", "backup"]],
                            "restart": None, "pause": [["client-1", "client-2"]]}
    assert spec.links == [["client-1->primary", "client-2->primary"], ["client-1->backup"]]
    assert spec.cuts == [[["client-1"], ["primary"]]]
    assert set(spec.toxics) == {"latency", "reset_peer"}
    assert spec.toxics["latency"].attributes["latency"] == (50, 800)
    assert spec.toxics["latency"].streams == ("up",)
    again = load_text(scenario.to_resolved_yaml(), "again.yaml")
    assert again == scenario
    assert again.explore == spec


@pytest.mark.parametrize(("section", "message"), [
    ("explore: {max_faults: 0}", "expected an integer from 1 to 10"),
    ("explore: {window: [5s, 2s]}", "FROM < TO"),
    ("explore: {window: [1s, 9s]}", "duration"),
    ("explore: {length: [0s, 1s]}", "0 < FROM"),
    ("explore: {kill: [primry]}", "did you mean 'primary'"),
    ("explore: {kill: []}", "write false"),
    ("explore: {links: [client->nobody]}", "unknown node 'nobody'"),
    ("explore: {links: [client->primary], partition: [[[primary], [backup]]]}",
     "which `links` does not allow"),
    ("explore: {toxics: {latncy: true}}", "did you mean 'latency'"),
    ("explore: {toxics: {latency: {latency: [5s, 1s]}}}", "above HIGH"),
    ("explore: {toxics: {latency: {stream: sideways}}}", "expected up, down, both"),
    ("explore: {toxics: {latency: {toxicity: [0.5, 2]}}}", "probabilities"),
    ("explore: {permanent: maybe}", "expected true or false"),
    ("explore: {windo: [1s, 2s]}", "did you mean 'window'"),
    ("explore: [kill]", "expected a mapping"),
])
def test_bad_sections_name_the_field(section: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load(section)
    assert message in str(caught.value)
    assert str(caught.value).startswith("ex.yaml:")
    assert "explore" in str(caught.value)
