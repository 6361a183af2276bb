"""Wiring a scenario: bind ports, one Toxiproxy proxy per connect edge, argv per node.

Every ``connect`` edge A->B gets its own proxy named ``A->B``, so faults can
address links by node names and no node ever sees another node's real
address. The runtime decides what an address looks like (127.0.0.1 ports for
local processes, container names for docker); this module only asks it.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.roles import ROLES, render_option
from harness.runtime.base import Runtime


class ProxyApi(Protocol):
    """The part of ``ToxiproxyHandle`` topology needs."""

    def create_proxy(self, name: str, upstream: str, listen: str = ...) -> str: ...
    def delete_proxy(self, name: str) -> None: ...


@dataclass(frozen=True)
class ProxyInfo:
    name: str  # "A->B"
    source: str
    target: str
    port: str  # the target's bind name
    upstream: str  # host:port of the target, as Toxiproxy reaches it
    listen: str  # host:port the proxy listens on
    endpoint: str  # what the source node is handed: tcp://host:port


@dataclass
class Wiring:
    """Addresses of one run: what each node binds and connects to."""

    binds: dict[str, list[str]] = field(default_factory=dict)
    connects: dict[str, list[str]] = field(default_factory=dict)
    proxies: dict[str, ProxyInfo] = field(default_factory=dict)

    def endpoint_owner(self) -> dict[str, str]:
        """Proxy endpoint -> node bound behind it (how checkers tell who answered)."""
        return {p.endpoint: p.target for p in self.proxies.values()}


def build_wiring(scenario: Any, runtime: Runtime, proxies: ProxyApi) -> Wiring:
    """Allocate binds and create every proxy; the runtime must be set up already."""
    wiring = Wiring()
    for name, node in scenario.nodes.items():
        role = ROLES[node.role]
        wiring.binds[name] = [runtime.bind_endpoint(name, port) for port in role.binds]
        wiring.connects[name] = []
    for edge in scenario.edges():
        upstream = runtime.upstream_address(edge.target, edge.port)
        try:
            listen = proxies.create_proxy(edge.name, upstream, runtime.proxy_listen())
        except Exception:
            # A proxy of that name left by a dead run on a shared server: replace it.
            proxies.delete_proxy(edge.name)
            listen = proxies.create_proxy(edge.name, upstream, runtime.proxy_listen())
        endpoint = runtime.proxy_endpoint(listen)
        wiring.proxies[edge.name] = ProxyInfo(
            name=edge.name,
            source=edge.source,
            target=edge.target,
            port=edge.port,
            upstream=upstream,
            listen=listen,
            endpoint=endpoint,
        )
        wiring.connects[edge.source].append(endpoint)
    return wiring


def parse_command(command: str | list[str]) -> list[str]:
    """A user's ``--impl``/``command:``; a leading ``python``/``python3`` means our interpreter.

    CI runs ``.venv/bin/zchaos`` without activating the venv, so a bare
    ``python`` on PATH might lack pyzmq; the placeholder keeps it ours.
    """
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv and argv[0] in ("python", "python3", sys.executable):
        argv[0] = "{python}"
    return argv


def node_argv(
    node: Any,
    wiring: Wiring,
    impls: dict[str, str | list[str]],
    data_dir: Path | None,
) -> list[str]:
    """The full command line of a node: program, then the flags our role would get."""
    role = ROLES[node.role]
    if node.command:
        program = parse_command(node.command)
    elif node.role in impls:
        program = parse_command(impls[node.role])
    else:
        program = list(role.command)
    args: list[str] = []
    for endpoint in wiring.binds[node.name]:
        args += ["--bind", endpoint]
    # wiring.connects follows node.connect (both in scenario.edges() order)
    for target, endpoint in zip(node.connect, wiring.connects[node.name], strict=True):
        args += [role.connect_flag(target.port), endpoint]
    for option, value in node.options.items():
        args += render_option(option, value)
    if role.data_dir and data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    return program + args
