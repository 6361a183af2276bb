"""A node may connect to several binds of one node: one edge (and proxy) per bind.

Peering brokers reach each peer's cloud ROUTER and its state PUB; the two
flows must be separate links so that one can be cut while the other stays
up. The edges are then named with the port (``a->b:cloud``), a fault's
``link: a->b:state`` picks one and ``a->b`` means both, and the connecting
role tells the endpoints apart by flag (``--connect-state``).
"""

from __future__ import annotations

import pytest

from harness.checkers.timeline import named_nodes
from harness.scenario import ScenarioErrors, load_text
from harness.topology import Wiring, node_argv

PEERING = """\
name: t
pattern: peering
duration: 10s
seed: 1
nodes:
  a: {role: peering.broker, connect: ['b:cloud', 'b:state']}
  b: {role: peering.broker, connect: [a, 'a:state']}
  w: {role: lbbroker.worker, connect: [a]}
  c: {role: lazy_pirate.client, connect: [a]}
"""


def load(faults: str = ""):
    return load_text(PEERING + faults, "t.yaml")


def test_edges_to_several_binds_carry_the_port_in_their_names() -> None:
    names = [e.name for e in load().edges()]
    assert names == ["a->b:cloud", "a->b:state", "b->a:cloud", "b->a:state", "w->a", "c->a"]
    assert [e.port for e in load().edges()][-2:] == ["backend", "frontend"]


def test_a_fault_names_one_of_the_links_or_all_of_them() -> None:
    s = load("faults:\n  - {at: 1s, timeout: {link: 'a->b:state', timeout: 0}, for: 1s}\n"
             "  - {at: 3s, latency: {link: 'a->b', latency: 10}, for: 1s}\n")
    assert s.faults[0].links == ["a->b:state"]
    assert s.faults[1].links == ["a->b:cloud", "a->b:state"]


def test_a_port_no_edge_uses_is_refused() -> None:
    with pytest.raises(ScenarioErrors) as caught:
        load("faults:\n  - {at: 1s, disconnect: 'a->b:frontend', for: 1s}\n")
    assert "no connect edge 'a->b:frontend'" in "\n".join(caught.value.lines())


def test_connecting_twice_to_the_same_bind_is_still_an_error() -> None:
    text = PEERING.replace("connect: ['b:cloud', 'b:state']", "connect: ['b:cloud', b]")
    with pytest.raises(ScenarioErrors) as caught:
        load_text(text, "t.yaml")
    assert "a connects to b twice (port cloud)" in "\n".join(caught.value.lines())


def test_the_role_gets_each_endpoint_under_the_flag_for_its_bind() -> None:
    s = load()
    wiring = Wiring(binds={n: ["tcp://x:1"] for n in s.nodes},
                    connects={"a": ["tcp://p:1", "tcp://p:2"], "b": ["tcp://p:3", "tcp://p:4"],
                              "w": ["tcp://p:5"], "c": ["tcp://p:6"]})
    argv = node_argv(s.nodes["a"], wiring, {}, None)
    assert argv[argv.index("--connect") + 1] == "tcp://p:1"
    assert argv[argv.index("--connect-state") + 1] == "tcp://p:2"
    assert "--connect-state" not in node_argv(s.nodes["w"], wiring, {}, None)


def test_resolved_yaml_round_trips() -> None:
    s = load("faults:\n  - {at: 1s, timeout: {link: 'a->b:state', timeout: 0}, for: 1s}\n")
    assert load_text(s.to_resolved_yaml(), "again.yaml") == s


def test_checkers_read_node_names_from_port_links() -> None:
    assert named_nodes("a->b:state,b->a:cloud") == {"a", "b"}
