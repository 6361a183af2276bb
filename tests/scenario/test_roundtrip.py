"""Properties: resolved scenarios reload unchanged; bad input never escapes as a traceback.

Random valid scenarios are built so that their faults cannot collide: fault
``i`` lives in its own one-second slot and is reverted inside it. That keeps
the generator simple while still covering every action, group expansion,
durations in several spellings and all toxic attributes.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.scenario import ScenarioError, load_text, scenario_from_dict

TOPOLOGIES: dict[str, dict[str, Any]] = {
    "majordomo": {
        "broker": {"role": "majordomo.broker"},
        "worker": {"role": "majordomo.worker", "connect": ["broker"], "service": "echo"},
        "client": {"role": "majordomo.client", "connect": ["broker"], "service": "echo"},
    },
    "simple_pirate": {
        "queue": {"role": "simple_pirate.queue"},
        "worker": {"role": "simple_pirate.worker", "connect": ["queue"]},
        "client": {"role": "lazy_pirate.client", "connect": ["queue:frontend"]},
    },
    "freelance": {
        "server": {"role": "freelance.server3"},
        "client": {"role": "freelance.client3", "connect": ["server"]},
    },
}
CONTRACTS = {
    "replies_match_requests": {},
    "every_request_answered": {"within": "duration"},
    "latency": {"p50_max": "duration", "p99_max": "duration"},
    "availability": {"min": "ratio"},
    "bounded_give_up": {"slack": "ratio"},
}


def durations(low_ms: int, high_ms: int) -> st.SearchStrategy[str]:
    """The same kind of value in every spelling a user might write."""
    return st.integers(low_ms, high_ms).flatmap(
        lambda ms: st.sampled_from(
            [f"{ms}ms", f"{ms / 1000}s", f"{ms * 1000}us"] + ([f"{ms // 1000}s"]
                                                               if ms % 1000 == 0 else [])))


@st.composite
def nodes_for(draw: st.DrawFn, pattern: str) -> dict[str, Any]:
    nodes = copy.deepcopy(TOPOLOGIES[pattern])
    for spec in nodes.values():
        replicas = draw(st.sampled_from([None, 1, 2, 3]))
        if replicas is not None and spec.get("role", "").endswith(("worker", "server3")):
            spec["replicas"] = replicas
        if spec["role"].endswith("client") or spec["role"].endswith("client3"):
            if draw(st.booleans()):
                spec["timeout"] = draw(durations(10, 2000))
            if draw(st.booleans()):
                spec["retries"] = draw(st.integers(1, 5))
            if draw(st.booleans()):
                spec["rate"] = draw(st.floats(0, 500, allow_nan=False))
        if draw(st.booleans()):
            spec["verbose"] = draw(st.booleans())
    return nodes


@st.composite
def fault_in_slot(draw: st.DrawFn, slot: int, names: list[str], edges: list[tuple[str, str]],
                  groups: list[str]) -> dict[str, Any]:
    at_ms = slot * 1000 + draw(st.integers(0, 400))
    span = draw(durations(1, 500))
    kind = draw(st.sampled_from(["process", "restart", "toxic", "partition", "disconnect",
                                 "heal"]))
    fault: dict[str, Any] = {"at": f"{at_ms}ms"}
    if kind == "process":
        fault[draw(st.sampled_from(["kill", "stop", "pause"]))] = draw(
            st.sampled_from(names + groups))
        fault["for"] = span
    elif kind == "restart":
        fault["restart"] = draw(st.sampled_from(names))
    elif kind == "heal":
        fault["heal"] = True
    else:
        source, target = draw(st.sampled_from(edges))
        if kind == "partition":
            fault["partition"] = [[source], [target]]
        elif kind == "disconnect":
            fault["disconnect"] = {"link": f"{source}->{target}"}
        else:
            action, attrs = draw(st.sampled_from([
                ("latency", {"latency": st.integers(0, 500), "jitter": durations(0, 50)}),
                ("bandwidth", {"rate": st.integers(1, 1000)}),
                ("slow_close", {"delay": durations(0, 1000)}),
                ("timeout", {"timeout": st.integers(0, 100)}),
                ("reset_peer", {"timeout": st.integers(0, 100)}),
                ("slicer", {"average_size": st.integers(1, 64), "size_variation": st.integers(0, 8),
                            "delay": st.integers(0, 1000)}),
                ("limit_data", {"bytes": st.integers(0, 10_000)}),
            ]))
            toxic: dict[str, Any] = {"link": f"{source}->{target}"}
            toxic.update({k: draw(v) for k, v in attrs.items()})
            if draw(st.booleans()):
                toxic["stream"] = draw(st.sampled_from(["up", "down", "both"]))
            if draw(st.booleans()):
                toxic["toxicity"] = draw(st.floats(0, 1, allow_nan=False))
            fault[action] = toxic
        fault["for"] = span
    return fault


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    pattern = draw(st.sampled_from(sorted(TOPOLOGIES)))
    nodes = draw(nodes_for(pattern))
    names: list[str] = []
    groups: list[str] = []
    for key, spec in nodes.items():
        if "replicas" in spec:
            names += [f"{key}-{i}" for i in range(1, spec["replicas"] + 1)]
            groups.append(key)
        else:
            names.append(key)
    edges = [(key, target.split(":")[0]) for key, spec in nodes.items()
             for target in spec.get("connect", [])]
    count = draw(st.integers(0, 6))
    faults = [draw(fault_in_slot(i, names, edges, groups)) for i in range(count)]
    data: dict[str, Any] = {
        "name": draw(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)),
        "description": draw(st.text(max_size=40)),
        "pattern": pattern,
        "duration": f"{count + 1 + draw(st.integers(0, 5))}s",
        "nodes": nodes,
    }
    if faults:
        data["faults"] = faults
    if draw(st.booleans()):
        data["seed"] = draw(st.integers(0, 2**32 - 1))
    if draw(st.booleans()):
        timing = {"heartbeat": draw(durations(10, 1000))}
        if draw(st.booleans()):
            timing["liveness"] = draw(st.integers(1, 5))
        data["timing"] = timing
    chosen = draw(st.lists(st.sampled_from(sorted(CONTRACTS)), unique=True, max_size=4))
    contracts: list[Any] = []
    for name in chosen:
        params = {p: draw(durations(1, 20_000) if kind == "duration"
                          else st.floats(0, 1, allow_nan=False))
                  for p, kind in CONTRACTS[name].items() if draw(st.booleans())}
        contracts.append({name: params} if params else name)
    if contracts:
        data["contracts"] = contracts
    if chosen and draw(st.booleans()):
        data["expect"] = {"violated": draw(st.lists(st.sampled_from(chosen), min_size=1,
                                                    unique=True))}
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_resolved_scenario_reloads_equal(data: dict[str, Any]) -> None:
    scenario = scenario_from_dict(data, "random.yaml")
    text = scenario.to_resolved_yaml()
    again = load_text(text, "resolved.yaml")
    assert again == scenario
    assert again.to_resolved_dict() == scenario.to_resolved_dict()
    assert again.seed == scenario.seed
    assert len(again.nodes) >= len(data["nodes"])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=8),
    st.lists(st.text(max_size=4), max_size=3), st.dictionaries(st.text(max_size=4),
                                                               st.integers(), max_size=2),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.data())
def test_corrupted_scenarios_fail_only_with_scenario_errors(data: dict[str, Any],
                                                             draw: st.DataObject) -> None:
    path = draw.draw(st.sampled_from(_paths(data)[1:]))
    junk = draw.draw(JUNK)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if draw.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = junk
    try:
        scenario_from_dict(data, "mutant.yaml")
    except ScenarioError as exc:
        assert str(exc).startswith("mutant.yaml")
        assert exc.message


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_fails_only_with_scenario_errors(text: str) -> None:
    try:
        load_text(text, "text.yaml")
    except ScenarioError as exc:
        assert str(exc).startswith("text.yaml")
