"""`zchaos compose` output, checked without a Docker engine.

The export must reproduce a harness run's topology: every node a service,
one Toxiproxy proxy per connect edge and nodes that reach peers only through
it, and faults.json equal to the scenario's schedule.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.compose_export import (
    DEFERRED_PROFILE,
    FIRST_PROXY_PORT,
    TOXIPROXY_SERVICE,
    build_export,
    populate,
    write_export,
)
from harness.scenario import Fault, scenario_from_dict

SCENARIO: dict[str, Any] = {
    "name": "export-me",
    "pattern": "majordomo",
    "duration": "10s",
    "seed": 7,
    "timing": {"heartbeat": "100ms", "liveness": 3},
    "nodes": {
        "broker": {"role": "majordomo.broker"},
        "worker": {"role": "majordomo.worker", "connect": ["broker"], "service": "echo",
                   "replicas": 2},
        "titanic": {"role": "titanic.service", "connect": ["broker"]},
        "client": {"role": "majordomo.client", "connect": ["broker"], "service": "echo",
                   "requests": 50, "timeout": "300ms", "retries": 3},
        "late": {"role": "majordomo.worker", "connect": ["broker"], "service": "echo",
                 "start": False},
    },
    "faults": [
        {"at": "1s", "kill": "worker-1"},
        {"at": "2s", "start": "worker-1"},
        {"at": "2s", "start": "late"},
        {"at": "3s", "pause": "worker-2", "for": "500ms"},
        {"at": "4s", "partition": [["client"], ["broker"]], "for": "1s"},
        {"at": "6s", "latency": {"link": "worker-2->broker", "latency": 200, "jitter": 50,
                                 "stream": "down"}, "for": "1s"},
        {"at": "8s", "heal": True},
    ],
    "contracts": ["replies_match_requests"],
}


def flag_values(command: list[str], flag: str) -> list[str]:
    return [command[i + 1] for i, arg in enumerate(command) if arg == flag]


@pytest.fixture
def scenario() -> Any:
    return scenario_from_dict(SCENARIO, "test")


def test_every_node_is_a_service_reaching_peers_only_through_toxiproxy(scenario: Any) -> None:
    export = build_export(scenario)
    services = export.compose["services"]
    assert set(services) == {TOXIPROXY_SERVICE, *scenario.nodes}
    proxy_by_listen_port = {int(p["listen"].rsplit(":", 1)[1]): p for p in export.proxies}
    for edge in scenario.edges():
        command = services[edge.source]["command"]
        connects = flag_values(command, "--connect")
        assert connects, f"{edge.source} connects to nothing"
        for endpoint in connects:
            host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
            assert host == TOXIPROXY_SERVICE, "nodes must never see a peer's real address"
            proxy = proxy_by_listen_port[int(port)]
            assert proxy["name"] == edge.name
            assert proxy["upstream"] == f"{edge.target}:5555"
    assert flag_values(services["broker"]["command"], "--bind") == ["tcp://*:5555"]
    assert services["broker"]["command"][:3] == ["python", "-m", "patterns.majordomo.broker"]
    assert flag_values(services["client"]["command"], "--timeout-ms") == ["300"]
    for name in scenario.nodes:
        assert services[name]["environment"]["ZCHAOS_NODE"] == name
        assert services[name]["labels"]["zchaos.node"] == name


def test_one_proxy_per_edge_on_distinct_ports(scenario: Any) -> None:
    export = build_export(scenario)
    names = [p["name"] for p in export.proxies]
    assert names == [e.name for e in scenario.edges()]
    listens = [p["listen"] for p in export.proxies]
    assert len(set(listens)) == len(listens)
    assert all(int(x.rsplit(":", 1)[1]) >= FIRST_PROXY_PORT for x in listens)


def test_data_dir_on_a_named_volume_and_deferred_nodes_in_a_profile(scenario: Any) -> None:
    export = build_export(scenario)
    titanic = export.compose["services"]["titanic"]
    assert flag_values(titanic["command"], "--data-dir") == ["/data/titanic"]
    assert "titanic-data:/data/titanic" in titanic["volumes"]
    assert "titanic-data" in export.compose["volumes"]
    assert export.compose["services"]["late"]["profiles"] == [DEFERRED_PROFILE]
    assert "profiles" not in export.compose["services"]["worker-1"]


def test_faults_json_is_the_schedule(scenario: Any, tmp_path: Path) -> None:
    write_export(build_export(scenario), tmp_path)
    records = json.loads((tmp_path / "faults.json").read_text())
    rebuilt = [Fault(**{k: v for k, v in r.items() if k != "until"}) for r in records]
    assert rebuilt == list(scenario.faults)
    assert [r["until"] for r in records] == [f.until for f in scenario.faults]


def test_written_folder_is_valid_yaml_and_json(scenario: Any, tmp_path: Path) -> None:
    written = write_export(build_export(scenario), tmp_path)
    assert {p.name for p in written} == {
        "docker-compose.yml", "toxiproxy.json", "faults.json", "scenario.yaml"}
    compose = yaml.safe_load((tmp_path / "docker-compose.yml").read_text())
    assert compose["services"][TOXIPROXY_SERVICE]["image"].startswith("ghcr.io/shopify/toxiproxy")
    assert "-config=/config/toxiproxy.json" in compose["services"][TOXIPROXY_SERVICE]["command"]
    proxies = json.loads((tmp_path / "toxiproxy.json").read_text())
    assert len(proxies) == len(scenario.edges())
    resolved = scenario_from_dict(yaml.safe_load((tmp_path / "scenario.yaml").read_text()))
    assert resolved == scenario
    assert (tmp_path / "traces").is_dir()


def test_embedded_toxiproxy_variant_populates_from_the_config(scenario: Any) -> None:
    export = build_export(scenario, toxiproxy_image="embedded")
    services = export.compose["services"]
    assert services[TOXIPROXY_SERVICE]["image"] == "zchaos:latest"
    assert services[TOXIPROXY_SERVICE]["command"][:2] == ["zchaos", "toxiproxy-server"]
    populate_cmd = services["toxiproxy-populate"]["command"]
    assert populate_cmd[:4] == ["python", "-m", "harness.compose_export", "populate"]


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose not installed")
@pytest.mark.parametrize("toxiproxy_image", [None, "embedded"])
def test_docker_compose_accepts_the_export(
    scenario: Any, tmp_path: Path, toxiproxy_image: str | None
) -> None:
    kwargs = {"toxiproxy_image": toxiproxy_image} if toxiproxy_image else {}
    write_export(build_export(scenario, **kwargs), tmp_path)
    out = subprocess.run(["docker-compose", "--profile", DEFERRED_PROFILE, "config",
                          "--services"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert set(scenario.nodes) <= set(out.stdout.split())


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose not installed")
def test_docker_compose_accepts_the_repository_stack() -> None:
    root = Path(__file__).resolve().parents[2]
    for files in (["docker-compose.yml"],
                  ["docker-compose.yml", "compose/embedded-toxiproxy.yml"]):
        args = [a for f in files for a in ("-f", f)]
        out = subprocess.run(["docker-compose", *args, "config", "-q"], cwd=root,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"{files}: {out.stderr}"


def test_cli_writes_the_folder_and_rejects_bad_input(tmp_path: Path) -> None:
    source = tmp_path / "sc.yaml"
    source.write_text(yaml.safe_dump(SCENARIO))
    code = "from harness.cli import main; raise SystemExit(main(sys.argv[1:]))"
    ok = subprocess.run([sys.executable, "-c", f"import sys; {code}", "compose", str(source),
                         "-o", str(tmp_path / "out")], capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "out" / "docker-compose.yml").is_file()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnodes: {a: {role: no.such.role}}\n")
    err = subprocess.run([sys.executable, "-c", f"import sys; {code}", "compose", str(bad),
                          "-o", str(tmp_path / "out2")], capture_output=True, text=True,
                         timeout=60)
    assert err.returncode == 2
    assert "Traceback" not in err.stderr
    assert not (tmp_path / "out2").exists()


# Random topologies: servers bind, clients connect to any non-empty subset of them.
topologies = st.integers(min_value=1, max_value=4).flatmap(
    lambda servers: st.tuples(
        st.just(servers),
        st.lists(st.sets(st.integers(0, servers - 1), min_size=1), min_size=1, max_size=4),
    )
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topologies)
def test_property_every_edge_gets_its_own_proxy_to_the_right_target(
    topology: tuple[int, list[set[int]]],
) -> None:
    servers, clients = topology
    nodes: dict[str, Any] = {f"s{i}": {"role": "lazy_pirate.server"} for i in range(servers)}
    for j, targets in enumerate(clients):
        nodes[f"c{j}"] = {"role": "freelance.client1",
                          "connect": [f"s{i}" for i in sorted(targets)]}
    scenario = scenario_from_dict(
        {"name": "prop", "pattern": "freelance", "duration": "1s", "nodes": nodes,
         "contracts": ["replies_match_requests"]}, "prop")
    export = build_export(scenario)
    by_port = {p["listen"].rsplit(":", 1)[1]: p for p in export.proxies}
    assert len(by_port) == len(scenario.edges())
    for j, targets in enumerate(clients):
        connects = flag_values(export.compose["services"][f"c{j}"]["command"], "--connect")
        reached = [by_port[e.rsplit(":", 1)[1]]["upstream"].split(":")[0] for e in connects]
        assert reached == [f"s{i}" for i in sorted(targets)], "scenario order is kept"


def test_populate_loads_proxies_into_a_toxiproxy_server() -> None:
    from harness.toxiproxy.client import start_toxiproxy

    handle = start_toxiproxy()
    try:
        proxies = [{"name": "a->b", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9",
                    "enabled": True}]
        assert populate(handle.url, proxies, timeout=10) == 1
        with urllib.request.urlopen(f"{handle.url}/proxies", timeout=10) as resp:
            listed = json.loads(resp.read())
        assert listed["a->b"]["upstream"] == "127.0.0.1:9"
    finally:
        handle.close()
