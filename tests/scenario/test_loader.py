"""Loading valid scenarios: expansion, hand-down, edges, faults, contracts, files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.scenario import (
    ScenarioError,
    ScenarioErrors,
    check_paths,
    discover,
    load_paths,
    load_scenario,
    load_text,
    scenario_from_dict,
)
from harness.scenario import contracts as contracts_module

GOOD = Path(__file__).parent / "good"

BASE = """\
name: t
pattern: majordomo
duration: 10s
seed: 1
nodes:
  broker: {role: majordomo.broker}
  worker: {role: majordomo.worker, connect: [broker], service: echo, replicas: 2}
  client: {role: majordomo.client, connect: [broker], service: echo, requests: 10}
"""


def load(extra: str = "", base: str = BASE):
    return load_text(base + textwrap.dedent(extra), "t.yaml")


def errors_of(text: str) -> list[str]:
    with pytest.raises(ScenarioErrors) as caught:
        load_text(text, "t.yaml")
    return caught.value.lines()


def test_example_from_the_design_loads_resolved() -> None:
    s = load_scenario(GOOD / "majordomo-worker-crash.yaml")
    assert s.name == "majordomo-worker-crash"
    assert s.duration == 15.0
    assert s.seed == 7
    assert list(s.nodes) == ["broker", "worker-1", "worker-2", "client", "late"]
    assert s.nodes["worker-2"].group == "worker"
    assert s.nodes["broker"].group == "broker"
    assert s.nodes["late"].autostart is False
    client = s.nodes["client"]
    assert client.options == {"service": "echo", "requests": 500, "timeout": 300.0, "retries": 3}
    assert [f.at for f in s.faults] == sorted(f.at for f in s.faults)
    assert [c.name for c in s.contracts] == ["replies_match_requests", "every_request_answered"]
    assert s.contracts[1].params == {"within": 10.0}
    assert s.expect.outcome == "pass"
    assert s.source.endswith("majordomo-worker-crash.yaml")


def test_replicas_expand_in_place_with_identical_options() -> None:
    s = load()
    assert list(s.nodes) == ["broker", "worker-1", "worker-2", "client"]
    assert s.nodes["worker-1"].options == s.nodes["worker-2"].options
    assert s.groups() == {"broker": ["broker"], "worker": ["worker-1", "worker-2"],
                          "client": ["client"]}


def test_timing_is_handed_to_roles_that_take_it_unless_the_node_sets_it() -> None:
    s = load_text(BASE.replace("nodes:", "timing: {heartbeat: 100ms, liveness: 3, timeout: 1s}\n"
                                         "nodes:").replace(
        "broker: {role: majordomo.broker}", "broker: {role: majordomo.broker, heartbeat: 250ms}"))
    assert s.timing == {"heartbeat": 100.0, "liveness": 3, "timeout": 1000.0}
    assert s.nodes["broker"].options == {"heartbeat": 250.0, "liveness": 3}
    assert s.nodes["worker-1"].options["heartbeat"] == 100.0
    assert "heartbeat" not in s.nodes["client"].options  # the client role has no heartbeat
    assert s.nodes["client"].options["timeout"] == 1000.0
    assert "timeout" not in s.nodes["broker"].options


def test_edges_follow_node_order_then_connect_order_and_expand_groups() -> None:
    s = load_text(textwrap.dedent("""\
        name: t
        pattern: freelance
        duration: 5s
        nodes:
          server: {role: freelance.server1, replicas: 2}
          client: {role: freelance.client1, connect: [server-2, server-1]}
          other: {role: freelance.client1, connect: [server]}
        """))
    assert [e.name for e in s.edges()] == [
        "client->server-2", "client->server-1", "other->server-1", "other->server-2"]
    assert {e.port for e in s.edges()} == {"frontend"}


def test_connect_port_comes_from_the_connecting_role_or_is_explicit() -> None:
    s = load_text(textwrap.dedent("""\
        name: t
        pattern: simple_pirate
        duration: 5s
        nodes:
          queue: {role: simple_pirate.queue}
          worker: {role: simple_pirate.worker, connect: [queue]}
          client: {role: lazy_pirate.client, connect: ['queue:frontend']}
          sneaky: {role: lazy_pirate.client, connect: ['queue:backend']}
        """))
    ports = {e.name: e.port for e in s.edges()}
    assert ports == {"worker->queue": "backend", "client->queue": "frontend",
                     "sneaky->queue": "backend"}


def test_binary_star_peers_use_the_state_port_and_clients_the_frontend() -> None:
    s = load_scenario(GOOD / "binary-star-split.yaml")
    ports = {e.name: e.port for e in s.edges()}
    assert ports["primary->backup"] == "state"
    assert ports["client->primary"] == "frontend"


def test_partition_expands_to_every_link_across_the_cut_in_both_directions() -> None:
    s = load_scenario(GOOD / "binary-star-split.yaml")
    partition = s.faults[0]
    assert partition.action == "partition"
    assert partition.sides == [["primary"], ["backup"]]
    assert partition.links == ["primary->backup", "backup->primary"]
    assert partition.duration == 2.0 and partition.until == 4.0
    s = load("""\
        faults:
          - {at: 1s, partition: [[worker, client], [broker]]}
        """)
    assert s.faults[0].sides == [["worker-1", "worker-2", "client"], ["broker"]]
    assert s.faults[0].links == ["worker-1->broker", "worker-2->broker", "client->broker"]


def test_group_links_and_group_targets_expand() -> None:
    s = load("""\
        faults:
          - {at: 1s, kill: worker, for: 1s}
          - {at: 3s, latency: {link: worker->broker, ms: 100, jitter: 10ms}, for: 1s}
        """)
    kill, latency = s.faults
    assert kill.targets == ["worker-1", "worker-2"] and kill.links == []
    assert latency.links == ["worker-1->broker", "worker-2->broker"] and latency.targets == []
    assert latency.attributes == {"latency": 100, "jitter": 10}
    assert latency.stream == "both" and latency.toxicity == 1.0


def test_toxic_attributes_take_toxiproxy_units_or_durations() -> None:
    s = load("""\
        faults:
          - {at: 1s, slicer: {link: client->broker, average_size: 16, size_variation: 4,
                              delay: 2ms}, for: 1s}
          - {at: 3s, slow_close: {link: client->broker, delay: 1s}}
          - {at: 4s, timeout: {link: client->broker}, for: 1s}
          - {at: 6s, bandwidth: {link: client->broker, rate: 10, stream: down, toxicity: 0.5}}
          - {at: 7s, limit_data: {link: worker-1->broker, bytes: 1000}}
          - {at: 8s, reset_peer: {link: worker-2->broker, timeout: 50}}
        """)
    attrs = {f.action: f.attributes for f in s.faults}
    assert attrs["slicer"] == {"average_size": 16, "size_variation": 4, "delay": 2000}  # us
    assert attrs["slow_close"] == {"delay": 1000}
    assert attrs["timeout"] == {}
    assert attrs["bandwidth"] == {"rate": 10}
    assert s.faults[3].stream == "down" and s.faults[3].toxicity == 0.5
    assert attrs["limit_data"] == {"bytes": 1000}
    assert attrs["reset_peer"] == {"timeout": 50}


def test_faults_are_sorted_by_time_keeping_yaml_order_for_ties() -> None:
    s = load("""\
        faults:
          - {at: 5s, heal: true}
          - {at: 2s, stop: client}
          - {at: 2s, pause: broker, for: 1s}
          - {at: 1s, disconnect: {link: client->broker}, for: 500ms}
        """)
    assert [(f.at, f.action) for f in s.faults] == [
        (1.0, "disconnect"), (2.0, "stop"), (2.0, "pause"), (5.0, "heal")]
    assert [f.line for f in s.faults] == [13, 11, 12, 10]


def test_valid_process_sequences_are_accepted() -> None:
    s = load("""\
        faults:
          - {at: 1s, pause: worker-1}
          - {at: 2s, resume: worker-1}
          - {at: 3s, kill: worker-1}
          - {at: 4s, start: worker-1}
          - {at: 5s, stop: worker-2, for: 1s}
          - {at: 6s, restart: worker-2}
          - {at: 7s, kill: broker, for: 1s}
          - {at: 8s, pause: broker, for: 1s}
        """)
    assert len(s.faults) == 8


def test_start_of_a_node_that_waits_is_fine() -> None:
    base = BASE + "  late: {role: majordomo.worker, connect: [broker], start: false}\n"
    s = load("faults:\n  - {at: 1s, start: late}\n  - {at: 2s, kill: late}\n", base=base)
    assert [f.action for f in s.faults] == ["start", "kill"]


def test_heal_ends_toxics_so_the_same_toxic_may_follow() -> None:
    s = load("""\
        faults:
          - {at: 1s, latency: {link: client->broker, ms: 100}}
          - {at: 2s, heal: true}
          - {at: 3s, latency: {link: client->broker, ms: 200}, for: 1s}
          - {at: 4s, partition: [[client], [broker]], for: 1s}
          - {at: 5s, partition: [[worker], [broker]], for: 1s}
        """)
    assert len(s.faults) == 5


def test_different_streams_or_types_on_one_link_may_overlap() -> None:
    s = load("""\
        faults:
          - {at: 1s, latency: {link: client->broker, ms: 100, stream: up}, for: 3s}
          - {at: 2s, latency: {link: client->broker, ms: 100, stream: down}, for: 3s}
          - {at: 2s, bandwidth: {link: client->broker, rate: 5}, for: 3s}
        """)
    assert len(s.faults) == 3


def test_unknown_contracts_fall_back_to_the_built_in_list_without_a_registry(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_registry(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(contracts_module.importlib, "import_module", no_registry)
    s = load("contracts: [replies_match_requests, {latency: {p99_max: 200ms}}]\n")
    assert s.contracts[1].params == {"p99_max": 0.2}
    lines = errors_of(BASE + "contracts: [{latency: {p95_max: 1s}}]\n")
    assert "unknown parameter 'p95_max' for latency" in lines[0]


def test_contract_params_are_checked_against_the_registry_signature(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeCheckers:
        @staticmethod
        def strict(history: list, ctx: object, *, bound: float, within: float = 1.0) -> None:
            return None

        REGISTRY = {"strict": strict}

    monkeypatch.setattr(contracts_module.importlib, "import_module", lambda name: FakeCheckers)
    s = load("contracts: [{strict: {bound: 3, within: 2s}}]\n")
    assert s.contracts[0].params == {"bound": 3, "within": 2.0}
    lines = errors_of(BASE + "contracts: [strict]\n")
    assert "strict needs the parameter 'bound'" in lines[0]


def test_expectation_of_a_negative_control() -> None:
    s = load_scenario(GOOD / "simple-pirate-queue.yaml")
    assert s.expect.outcome == "violated"
    assert s.expect.violated == ["every_request_answered"]


def test_seed_is_generated_when_absent_and_kept_when_given() -> None:
    text = BASE.replace("seed: 1\n", "")
    seeds = {load_text(text).seed for _ in range(5)}
    assert all(0 <= seed < 2**32 for seed in seeds)
    assert len(seeds) > 1
    assert load().seed == 1


def test_command_string_is_split_and_list_kept() -> None:
    broker = "broker: {role: majordomo.broker, command: \"mybroker --fast 'a b'\"}"
    s = load_text(BASE.replace("broker: {role: majordomo.broker}", broker).replace(
        "client: {role: majordomo.client,", "client: {role: majordomo.client, command: [x, y],"))
    assert s.nodes["broker"].command == ["mybroker", "--fast", "a b"]
    assert s.nodes["client"].command == ["x", "y"]
    assert s.nodes["worker-1"].command is None


def test_many_mistakes_are_all_reported_in_line_order() -> None:
    lines = errors_of(textwrap.dedent("""\
        name: t
        pattern: majordomo
        duration: 10s
        nodes:
          broker: {role: majordomo.broker, heartbeat: fast}
          client: {role: majordomo.client, connect: [broker], retries: three}
        faults:
          - {at: 20s, kill: broker}
        contracts: [nope]
        """))
    assert [line.split(":")[1] for line in lines] == ["5", "6", "8", "9"]


def test_scenario_from_dict_reports_paths_without_lines() -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({"name": "t", "pattern": "majordomo", "duration": "1s",
                            "nodes": {"b": {"role": "majordomo.broker", "liveness": "x"}}})
    assert str(caught.value) == "<dict>: nodes.b.liveness: expected an integer, got 'x'"


def test_non_string_keys_and_bool_node_names_are_errors() -> None:
    lines = errors_of(BASE + "  no: {role: majordomo.broker}\n")
    assert any("bad node name False" in line for line in lines)


def test_discover_expands_folders_recursively_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for rel in ["b/z.yaml", "a.yml", "b/a.yaml", "notes.txt"]:
        (tmp_path / rel).write_text("x: 1\n")
    found = discover([str(tmp_path), str(tmp_path / "a.yml")])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.yml", "b/a.yaml", "b/z.yaml"]


def test_discover_refuses_missing_paths_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file or directory"):
        discover([str(tmp_path / "missing")])
    with pytest.raises(ScenarioError, match="no scenario files"):
        discover([str(tmp_path)])


def test_load_paths_refuses_a_name_used_twice(tmp_path: Path) -> None:
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text(BASE)
    with pytest.raises(ScenarioError, match="scenario name 't' is also used by"):
        load_paths([str(tmp_path)])


def test_load_paths_and_check_paths_on_good_files() -> None:
    scenarios = load_paths([str(GOOD)])
    assert [s.name for s in scenarios] == [
        "binary-star-split", "majordomo-worker-crash", "simple-pirate-queue"]
    code, lines = check_paths([str(GOOD)])
    assert code == 0  # warnings leave the exit code alone
    oks = [line for line in lines if line.startswith("ok  ")]
    assert oks[1] == (f"ok  {GOOD / 'majordomo-worker-crash.yaml'}  majordomo-worker-crash  "
                      "(5 nodes, 7 faults)")
    assert all("warning: " in line for line in lines if not line.startswith("ok  "))


def test_check_paths_mixes_good_and_bad_files_in_order(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(BASE)
    (tmp_path / "b.yaml").write_text(BASE.replace("name: t", "name: u").replace("10s", "ten"))
    code, lines = check_paths([str(tmp_path)])
    assert code == 2
    assert lines[0].startswith("ok  ")
    assert lines[1] == f"{tmp_path / 'b.yaml'}:3: duration: not a duration: 'ten'; " + (
        'write a number with a unit: "2s", "150ms", "1.5s", "2m", "500us" (or 0)')


def test_check_paths_on_a_missing_path() -> None:
    assert check_paths(["/nonexistent/zchaos"]) == (
        2, ["/nonexistent/zchaos: no such file or directory"])


def test_unreadable_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(path)


REPO_SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").rglob("*.yaml"))


@pytest.mark.parametrize("path", REPO_SCENARIOS, ids=[p.stem for p in REPO_SCENARIOS])
def test_every_shipped_scenario_loads_and_its_resolved_form_reloads_equal(path: Path) -> None:
    scenario = load_scenario(path)
    again = load_text(scenario.to_resolved_yaml(), "resolved.yaml")
    assert again == scenario


def test_extension_keys_hold_anchors_that_nodes_merge() -> None:
    text = textwrap.dedent("""\
        name: t
        pattern: majordomo
        duration: 5s
        x-worker: &worker {role: majordomo.worker, connect: broker, service: echo}
        nodes:
          broker: {role: majordomo.broker}
          fast: {<<: *worker, work: 1ms}
          slow: {<<: *worker, work: 50ms}
        """)
    s = load_text(text)
    assert s.nodes["fast"].options == {"service": "echo", "work": 1.0}
    assert [e.name for e in s.edges()] == ["fast->broker", "slow->broker"]
    lines = errors_of(text.replace("work: 50ms}", "work: 50ms,\n         liveness: many}"))
    assert lines == ["t.yaml:9: nodes.slow.liveness: expected an integer, got 'many'"]


def test_nested_aliases_do_not_blow_up() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(12))
    lines = errors_of(bomb)
    assert any("unknown key 'a'" in line for line in lines)


def test_fault_ends_are_exact_despite_float_sums() -> None:
    s = load("""\
        faults:
          - {at: 100ms, kill: client, for: 200ms}
          - {at: 300ms, kill: client}
          - {at: 7.7s, pause: broker, for: 2.3s}
        """)
    assert [f.at for f in s.faults] == [0.1, 0.3, 7.7]
