"""The nemesis against recording fakes: what each fault does and how it is undone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from harness.nemesis import Nemesis, Schedule
from harness.runtime.base import NodeSpec


class FakeToxics:
    def __init__(self) -> None:
        self.toxics: dict[tuple[str, str], dict[str, Any]] = {}
        self.disabled: set[str] = set()
        self.resets: list[str] = []

    def add_toxic(self, proxy, toxic_type, stream, attributes, toxicity=1.0, name=None,
                  seed=None):
        self.toxics[(proxy, name)] = {"type": toxic_type, "stream": stream, "attrs": attributes,
                                      "toxicity": toxicity, "seed": seed}
        return name

    def remove_toxic(self, proxy, name):
        del self.toxics[(proxy, name)]

    def set_enabled(self, proxy, enabled):
        (self.disabled.discard if enabled else self.disabled.add)(proxy)

    def reset_connections(self, proxy):
        self.resets.append(proxy)


class FakeRuntime:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.running: set[str] = {"server", "client"}

    def kill(self, node):
        self.calls.append(("kill", node))
        self.running.discard(node)

    def stop(self, node, timeout=5.0):
        self.calls.append(("stop", node))
        self.running.discard(node)

    def start(self, spec):
        self.calls.append(("start", spec.name))
        self.running.add(spec.name)

    def pause(self, node):
        self.calls.append(("pause", node))

    def resume(self, node):
        self.calls.append(("resume", node))

    def is_running(self, node):
        return node in self.running


def fault(action: str, at: float = 0.0, duration: float | None = None, **kw: Any):
    base = dict(targets=[], links=[], sides=None, attributes={}, stream="both", toxicity=1.0)
    base.update(kw)
    return SimpleNamespace(action=action, at=at, duration=duration, line=1, **base)


def make(seed: int = 0):
    events: list[dict[str, Any]] = []
    rt, tox = FakeRuntime(), FakeToxics()
    nem = Nemesis(rt, tox, lambda n: NodeSpec(name=n, argv=["x"]), events.append, seed=seed)
    return nem, rt, tox, events


def test_toxic_seeds_derive_from_the_scenario_seed_proxy_and_name() -> None:
    seeds = []
    for seed in (5, 5, 6):
        nem, _, tox, events = make(seed)
        nem.apply(3, fault("latency", links=["a->b"], attributes={"latency": 10}))
        seeds.append(sorted(t["seed"] for t in tox.toxics.values()))
        assert events[-1]["index"] == 3 and events[-1]["links"] == ["a->b"]
    assert seeds[0] == seeds[1] != seeds[2]
    assert len(set(seeds[0])) == 2  # up and down streams draw apart


def test_partition_blackholes_both_streams_and_heal_resets() -> None:
    nem, _, tox, events = make()
    f = fault("partition", links=["client->server", "x->server"], sides=[["client"], ["server"]])
    nem.apply(0, f)
    assert len(tox.toxics) == 4
    assert all(t["type"] == "timeout" and t["attrs"] == {"timeout": 0} for t in tox.toxics.values())
    assert {t["stream"] for t in tox.toxics.values()} == {"upstream", "downstream"}
    nem.revert(0, f)
    assert tox.toxics == {}
    assert sorted(tox.resets) == ["client->server", "x->server"]
    assert [e["phase"] for e in events] == ["apply", "revert"]
    assert events[0]["target"] == "client | server"


def test_latency_on_one_stream_with_toxicity() -> None:
    nem, _, tox, _ = make()
    f = fault("latency", links=["a->b"], attributes={"latency": 200, "jitter": 10}, stream="down",
              toxicity=0.5)
    nem.apply(3, f)
    ((key, toxic),) = tox.toxics.items()
    assert key == ("a->b", "zchaos-3-latency-downstream")
    assert toxic.pop("seed") is not None
    assert toxic == {"type": "latency", "stream": "downstream",
                     "attrs": {"latency": 200, "jitter": 10}, "toxicity": 0.5}
    nem.revert(3, f)
    assert tox.toxics == {} and tox.resets == []


def test_heal_removes_every_network_fault_and_reverts_become_noops() -> None:
    nem, _, tox, events = make()
    lat = fault("latency", links=["a->b"], attributes={"latency": 50})
    dis = fault("disconnect", links=["c->d"])
    nem.apply(0, lat)
    nem.apply(1, dis)
    assert tox.disabled == {"c->d"}
    nem.apply(2, fault("heal"))
    assert tox.toxics == {} and tox.disabled == set()
    nem.revert(0, lat)  # its `for:` expires after the heal: nothing left to undo
    assert [e["fault"] for e in events] == ["latency", "disconnect", "heal"]


def test_process_faults_and_their_reverts() -> None:
    nem, rt, _, events = make()
    kill = fault("kill", targets=["server"], duration=1.0)
    nem.apply(0, kill)
    nem.revert(0, kill)
    pause = fault("pause", targets=["client"], duration=1.0)
    nem.apply(1, pause)
    nem.revert(1, pause)
    nem.apply(2, fault("restart", targets=["server"]))
    assert rt.calls == [("kill", "server"), ("start", "server"), ("pause", "client"),
                        ("resume", "client"), ("kill", "server"), ("start", "server")]
    assert [(e["fault"], e["phase"]) for e in events] == [
        ("kill", "apply"), ("kill", "revert"), ("pause", "apply"), ("pause", "revert"),
        ("restart", "apply")]


def test_schedule_orders_applies_and_reverts() -> None:
    faults = [fault("kill", at=2.0, duration=1.0, targets=["s"]),
              fault("latency", at=1.0, duration=3.0, links=["a->b"])]
    sched = Schedule(faults)
    assert sched.next_at() == 1.0
    assert [(s.kind, s.fault.action) for s in sched.due(2.5)] == [("apply", "latency"),
                                                                  ("apply", "kill")]
    assert [(s.kind, s.at) for s in sched.due(10)] == [("revert", 3.0), ("revert", 4.0)]
    assert sched.done()
