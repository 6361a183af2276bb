"""`zchaos compose`: one scenario's topology as a Docker Compose stack, plus its faults.

Why: a failure seen in CI should be reproducible on a laptop with nothing but
Docker. The export writes a self-contained folder:

- ``docker-compose.yml``: Toxiproxy (loaded from ``toxiproxy.json``) and one
  service per node, every node reaching its peers only through its own proxy
  ``A->B``, exactly as in a harness run;
- ``toxiproxy.json``: one proxy per connect edge (``-config`` of the real
  Toxiproxy, or the body of ``POST /populate`` for the embedded server);
- ``faults.json``: the scenario's fault schedule, which ``zchaos nemesis DIR``
  replays against the running stack;
- ``scenario.yaml``: the resolved scenario (seed included).

Every service carries ``zchaos.managed``/``zchaos.stack``/``zchaos.node``
labels (no owner pid: a stack the user started is never reaped by a run, only
by ``zchaos clean --all``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.roles import ROLES
from harness.runtime.docker_engine import (
    EMBEDDED_TOXIPROXY,
    FIRST_BIND_PORT,
    LABEL_KIND,
    LABEL_MANAGED,
    LABEL_NODE,
    REAL_TOXIPROXY_IMAGE,
    TOXIPROXY_API_PORT,
)
from harness.topology import ProxyInfo, Wiring, node_argv

LABEL_STACK = "zchaos.stack"
FIRST_PROXY_PORT = 20000
TOXIPROXY_SERVICE = "toxiproxy"
DEFERRED_PROFILE = "deferred"  # nodes with `start: false`: started by a `start` fault
COMPOSE_FILE = "docker-compose.yml"
TOXIPROXY_FILE = "toxiproxy.json"
FAULTS_FILE = "faults.json"
SCENARIO_FILE = "scenario.yaml"


@dataclass
class ComposeExport:
    """The export in memory: what gets written, kept separate from the writing."""

    compose: dict[str, Any]
    proxies: list[dict[str, Any]]
    faults: list[dict[str, Any]]
    scenario: dict[str, Any]


def compose_wiring(scenario: Any) -> Wiring:
    """Binds on fixed ports per container; each edge a fixed port on the Toxiproxy service."""
    wiring = Wiring()
    for name, node in scenario.nodes.items():
        role = ROLES[node.role]
        wiring.binds[name] = [f"tcp://*:{FIRST_BIND_PORT + i}" for i in range(len(role.binds))]
        wiring.connects[name] = []
    for i, edge in enumerate(scenario.edges()):
        target_role = ROLES[scenario.nodes[edge.target].role]
        port_index = target_role.binds.index(edge.port) if edge.port in target_role.binds else 0
        listen_port = FIRST_PROXY_PORT + i
        info = ProxyInfo(
            name=edge.name,
            source=edge.source,
            target=edge.target,
            port=edge.port,
            upstream=f"{edge.target}:{FIRST_BIND_PORT + port_index}",
            listen=f"0.0.0.0:{listen_port}",
            endpoint=f"tcp://{TOXIPROXY_SERVICE}:{listen_port}",
        )
        wiring.proxies[edge.name] = info
        wiring.connects[edge.source].append(info.endpoint)
    return wiring


def _labels(stack: str, node: str, kind: str) -> dict[str, str]:
    return {LABEL_MANAGED: "1", LABEL_STACK: stack, LABEL_NODE: node, LABEL_KIND: kind}


def _command(argv: list[str]) -> list[str]:
    return ["python" if arg == "{python}" else arg for arg in argv]


def build_export(
    scenario: Any,
    image: str = "zchaos:latest",
    toxiproxy_image: str = REAL_TOXIPROXY_IMAGE,
    impls: dict[str, str] | None = None,
) -> ComposeExport:
    """The compose document, proxies and fault schedule of ``scenario``."""
    stack = scenario.name
    wiring = compose_wiring(scenario)
    services: dict[str, Any] = {
        TOXIPROXY_SERVICE: {
            "image": toxiproxy_image,
            "command": ["-host=0.0.0.0", f"-port={TOXIPROXY_API_PORT}",
                        f"-config=/config/{TOXIPROXY_FILE}"],
            "volumes": [f"./{TOXIPROXY_FILE}:/config/{TOXIPROXY_FILE}:ro"],
            # The API on the host's loopback, for curl and `zchaos nemesis`.
            "ports": [f"127.0.0.1:${{TOXIPROXY_PORT:-{TOXIPROXY_API_PORT}}}:"
                      f"{TOXIPROXY_API_PORT}"],
            "labels": _labels(stack, TOXIPROXY_SERVICE, "toxiproxy"),
        }
    }
    if toxiproxy_image in (EMBEDDED_TOXIPROXY, image):
        use_embedded_toxiproxy(services, stack, image)
    volumes: dict[str, Any] = {}
    for name, node in scenario.nodes.items():
        role = ROLES[node.role]
        data_dir = Path(f"/data/{name}") if role.data_dir else None
        argv = node_argv(node, wiring, dict(impls or {}), data_dir)
        service: dict[str, Any] = {
            "image": image,
            "command": _command(argv),
            "init": True,
            "environment": {
                "ZCHAOS_NODE": name,
                "ZCHAOS_TRACE": f"/traces/{name}.jsonl",
                "ZCHAOS_SEED": str(scenario.seed),
            },
            "volumes": ["./traces:/traces"],
            "labels": _labels(stack, name, "node"),
            "restart": "no",
        }
        if wiring.connects[name]:
            service["depends_on"] = [TOXIPROXY_SERVICE]
        if data_dir is not None:
            volume = f"{name}-data"
            volumes[volume] = {"labels": _labels(stack, name, "data")}
            service["volumes"].append(f"{volume}:{data_dir}")
        if not node.autostart:
            service["profiles"] = [DEFERRED_PROFILE]
        services[name] = service
    compose: dict[str, Any] = {"services": services}
    if volumes:
        compose["volumes"] = volumes
    compose["networks"] = {"default": {"labels": _labels(stack, "network", "network")}}
    proxies = [
        {"name": p.name, "listen": p.listen, "upstream": p.upstream, "enabled": True}
        for p in wiring.proxies.values()
    ]
    faults = [fault_record(f) for f in scenario.faults]
    return ComposeExport(compose=compose, proxies=proxies, faults=faults,
                         scenario=scenario.to_resolved_dict())


def use_embedded_toxiproxy(services: dict[str, Any], stack: str, image: str) -> None:
    """Swap the real Toxiproxy for our image's server, loaded by a one-shot populate.

    For machines that cannot pull ghcr.io: the embedded server speaks the
    same HTTP API but takes no ``-config`` file, hence ``POST /populate``.
    """
    toxiproxy = services[TOXIPROXY_SERVICE]
    toxiproxy["image"] = image
    toxiproxy["command"] = ["zchaos", "toxiproxy-server", "--host", "0.0.0.0",
                            "--port", str(TOXIPROXY_API_PORT)]
    toxiproxy["init"] = True
    services["toxiproxy-populate"] = {
        "image": image,
        "command": ["python", "-m", "harness.compose_export", "populate",
                    "--url", f"http://{TOXIPROXY_SERVICE}:{TOXIPROXY_API_PORT}",
                    f"/config/{TOXIPROXY_FILE}"],
        "volumes": [f"./{TOXIPROXY_FILE}:/config/{TOXIPROXY_FILE}:ro"],
        "depends_on": [TOXIPROXY_SERVICE],
        "restart": "no",
        "labels": _labels(stack, "toxiproxy-populate", "oneshot"),
    }


def fault_record(fault: Any) -> dict[str, Any]:
    """A fault as JSON: the resolved model's fields, times in seconds."""
    record = fault.model_dump(exclude={"line"})
    record["until"] = fault.until
    return record


def write_export(export: ComposeExport, out_dir: Path) -> list[Path]:
    """Write the folder; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "traces").mkdir(exist_ok=True)
    header = (
        "# Generated by `zchaos compose` from scenario "
        f"{export.scenario.get('name')!r}.\n"
        "#   docker compose up -d            # the stack; traces land in ./traces\n"
        "#   zchaos nemesis .                # replay faults.json against it\n"
        "#   docker compose down -v          # remove it\n"
    )
    files = {
        COMPOSE_FILE: header + yaml.safe_dump(export.compose, sort_keys=False),
        TOXIPROXY_FILE: json.dumps(export.proxies, indent=2) + "\n",
        FAULTS_FILE: json.dumps(export.faults, indent=2) + "\n",
        SCENARIO_FILE: yaml.safe_dump(export.scenario, sort_keys=False),
    }
    written = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text)
        written.append(path)
    return written


def populate(url: str, proxies: list[dict[str, Any]], timeout: float = 60.0) -> int:
    """``POST /populate`` the proxies, retrying until the server answers; returns the count.

    The one-shot service of compose/embedded-toxiproxy.yml runs this, since
    the embedded server takes no ``-config`` file.
    """
    import time
    import urllib.error
    import urllib.request

    body = json.dumps(proxies).encode()
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(
            f"{url.rstrip('/')}/populate", data=body, method="POST",
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                if resp.status in (200, 201):
                    return len(proxies)
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.compose_export populate --url URL FILE`` (used inside stacks)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m harness.compose_export")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("populate", help="POST a Toxiproxy config file to /populate")
    p.add_argument("file", help="Toxiproxy config (a JSON list of proxies)")
    p.add_argument("--url", default=f"http://{TOXIPROXY_SERVICE}:{TOXIPROXY_API_PORT}")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the API")
    args = parser.parse_args(argv)
    proxies = json.loads(Path(args.file).read_text())
    count = populate(args.url, proxies, args.timeout)
    print(f"populated {count} proxies on {args.url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
