"""Resolving ``timing`` and ``nodes``: roles, options, replicas, connect edges.

A YAML node key is a *group*: with ``replicas: N`` it becomes nodes
``key-1`` .. ``key-N``, otherwise the one node ``key``. Faults, contracts and
``connect`` may name a group for all its nodes. Every check names the YAML
path of the offending key so the user lands on the right line.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from harness.roles import OPTION_TYPES, ROLES, Role
from harness.scenario.errors import Issues, did_you_mean, one_of
from harness.scenario.model import ConnectTarget, Node
from harness.scenario.values import ValueProblem, convert_option

NODE_NAME = re.compile(r"[a-z][a-z0-9_-]*")
NODE_KEYS = ("role", "connect", "replicas", "command", "start", "group")


@dataclass
class _Draft:
    """A node being resolved: everything but its connect targets."""

    key: str  # the YAML key it came from
    name: str
    group: str
    role: Role | None
    options: dict[str, Any]
    command: list[str] | None
    autostart: bool
    connect_raw: Any = None
    explicit: set[str] = field(default_factory=set)


def resolve_timing(raw: Any, issues: Issues) -> dict[str, Any]:
    """``timing:`` -> option defaults (durations in ms); unknown names are errors."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        issues.add(("timing",), "expected a mapping of option: value, e.g. {heartbeat: 100ms}")
        return {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        path = ("timing", key)
        if key not in OPTION_TYPES:
            issues.add(path, f"unknown option {key!r}{did_you_mean(str(key), OPTION_TYPES)}; "
                             f"timing takes role options: {one_of(OPTION_TYPES)}")
            continue
        try:
            out[key] = convert_option(OPTION_TYPES[key], value)
        except ValueProblem as exc:
            issues.add(path, str(exc))
    return out


def _role_of(key: str, spec: dict[str, Any], issues: Issues) -> Role | None:
    path = ("nodes", key, "role")
    if "role" not in spec:
        issues.add(("nodes", key), "missing 'role'; every node runs a role, e.g. "
                                   "role: majordomo.broker (see harness/roles.py)")
        return None
    name = spec["role"]
    if not isinstance(name, str):
        issues.add(path, f"expected a role name, got {name!r}")
        return None
    role = ROLES.get(name)
    if role is None:
        issues.add(path, f"unknown role {name!r}{did_you_mean(name, ROLES)}; "
                         f"known roles: {one_of(ROLES)}")
    return role


def _command_of(key: str, spec: dict[str, Any], issues: Issues) -> list[str] | None:
    if "command" not in spec:
        return None
    raw = spec["command"]
    path = ("nodes", key, "command")
    if isinstance(raw, str):
        try:
            argv = shlex.split(raw)
        except ValueError as exc:
            issues.add(path, f"cannot split the command line: {exc}")
            return None
    elif isinstance(raw, list) and all(isinstance(a, str) for a in raw):
        argv = list(raw)
    else:
        issues.add(path, "expected a command line (a string, or a list of strings)")
        return None
    if not argv:
        issues.add(path, "the command is empty; remove the key to run the built-in role")
        return None
    return argv


def _options_of(key: str, spec: dict[str, Any], role: Role | None,
                issues: Issues) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for option, value in spec.items():
        if option in NODE_KEYS:
            continue
        path = ("nodes", key, option)
        if role is None:
            continue  # the role error says it all
        if option not in role.options:
            known = sorted(role.options) + list(NODE_KEYS)
            hint = did_you_mean(str(option), known)
            issues.add(path, f"unknown key {option!r} for role {role.name}{hint}; "
                             f"its options are: {one_of(role.options)}; node keys: "
                             f"{', '.join(NODE_KEYS)}")
            continue
        try:
            options[option] = convert_option(OPTION_TYPES[option], value)
        except ValueProblem as exc:
            issues.add(path, str(exc))
    return options


def _drafts_of(key: str, spec: dict[str, Any], issues: Issues) -> list[_Draft]:
    role = _role_of(key, spec, issues)
    command = _command_of(key, spec, issues)
    options = _options_of(key, spec, role, issues)
    autostart = True
    if "start" in spec:
        if isinstance(spec["start"], bool):
            autostart = spec["start"]
        else:
            issues.add(("nodes", key, "start"), f"expected true or false, got {spec['start']!r}")
    replicas: int | None = None
    if "replicas" in spec:
        raw = spec["replicas"]
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1:
            replicas = raw
        else:
            issues.add(("nodes", key, "replicas"),
                       f"expected an integer >= 1, got {raw!r}")
    group = key
    if "group" in spec:
        raw = spec["group"]
        if not isinstance(raw, str) or not NODE_NAME.fullmatch(raw):
            issues.add(("nodes", key, "group"),
                       f"expected a group name matching [a-z][a-z0-9_-]*, got {raw!r}")
        elif replicas is not None:
            issues.add(("nodes", key, "group"),
                       "'group' and 'replicas' do not mix: replicas are grouped "
                       "under the node's key already")
        else:
            group = raw
    names = [key] if replicas is None else [f"{key}-{i}" for i in range(1, replicas + 1)]
    return [
        _Draft(key=key, name=name, group=group, role=role, options=dict(options),
               command=command, autostart=autostart, connect_raw=spec.get("connect"),
               explicit=set(options))
        for name in names
    ]


def _connect_targets(draft: _Draft, drafts: dict[str, _Draft], groups: dict[str, list[str]],
                     broken: set[str], issues: Issues) -> list[ConnectTarget]:
    raw = draft.connect_raw
    base = ("nodes", draft.key, "connect")
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        issues.add(base, "expected a list of node names, e.g. [broker] or [queue:backend]")
        return []
    targets: list[ConnectTarget] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        path = (*base, index) if isinstance(raw, list) else base
        if not isinstance(item, str) or not item:
            issues.add(path, f"expected a node name, got {item!r}")
            continue
        target, _, port = item.partition(":")
        if target in broken:
            continue  # its definition is already reported
        members = [target] if target in drafts else groups.get(target)
        if members is None:
            issues.add(path, f"unknown node {target!r}{did_you_mean(target, [*drafts, *groups])}; "
                             f"nodes: {one_of(drafts)}")
            continue
        for member in members:
            if member == draft.name:
                also = f" (group {target!r} includes it)" if target != member else ""
                issues.add(path, f"{draft.name} cannot connect to itself{also}")
                break
            peer = drafts[member].role
            if peer is None:
                continue
            if not peer.binds:
                issues.add(path, f"{member} runs {peer.name}, which binds nothing, "
                                 "so nothing can connect to it")
                break
            # The connecting role says which bind of its target it uses (a Simple
            # Pirate worker -> the queue's backend); otherwise the target's first bind.
            preferred = draft.role.connect_port if draft.role else None
            chosen = port or (preferred if preferred in peer.binds else peer.binds[0])
            if chosen not in peer.binds:
                issues.add(path, f"{peer.name} binds no port {port!r}; its ports are: "
                                 f"{', '.join(peer.binds)}")
                break
            if (member, chosen) in seen:
                issues.add(path, f"{draft.name} connects to {member} twice (port {chosen}); each "
                                 "connection is one Toxiproxy proxy, so a node reaches each "
                                 "port of another once (name other ports as node:port)")
                break
            seen.add((member, chosen))
            targets.append(ConnectTarget(node=member, port=chosen))
    return targets


def resolve_nodes(raw: Any, timing: dict[str, Any],
                  issues: Issues) -> tuple[dict[str, Node], set[str]]:
    """``nodes:`` -> (resolved nodes in YAML order with replicas expanded in place,
    names whose definition is broken and already reported)."""
    if not isinstance(raw, dict) or not raw:
        issues.add(("nodes",), "expected a mapping of node name: {role: ..., ...} "
                               "with at least one node")
        return {}, set()
    drafts: dict[str, _Draft] = {}
    broken: set[str] = set()
    for key, spec in raw.items():
        if not isinstance(key, str) or not NODE_NAME.fullmatch(key):
            issues.add(("nodes", key), f"bad node name {key!r}: use lowercase letters, digits, "
                                       "'_' and '-', starting with a letter")
            broken.add(str(key))
            continue
        if not isinstance(spec, dict):
            issues.add(("nodes", key), "expected a mapping, e.g. {role: majordomo.broker}")
            broken.add(key)
            continue
        for draft in _drafts_of(key, spec, issues):
            if draft.name in drafts:
                other = drafts[draft.name].key
                issues.add(("nodes", key), f"node name {draft.name!r} is taken twice "
                                           f"(by {other!r} and {key!r}); rename one")
                continue
            drafts[draft.name] = draft
    groups: dict[str, list[str]] = {}
    for draft in drafts.values():
        groups.setdefault(draft.group, []).append(draft.name)
    for group, members in groups.items():
        if group in drafts and members != [group]:
            issues.add(("nodes", drafts[members[0]].key),
                       f"group {group!r} has the same name as node {group!r}; rename one")
    nodes: dict[str, Node] = {}
    for draft in drafts.values():
        connect = _connect_targets(draft, drafts, groups, broken, issues)
        options = draft.options
        if draft.role is not None:
            for option, value in timing.items():
                if option in draft.role.options and option not in draft.explicit:
                    options[option] = value
        nodes[draft.name] = Node(
            name=draft.name, group=draft.group, role=draft.role.name if draft.role else "?",
            connect=connect, options=options, command=draft.command,
            autostart=draft.autostart,
        )
    return nodes, broken


def group_members(nodes: dict[str, Node]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for node in nodes.values():
        groups.setdefault(node.group, []).append(node.name)
    return groups
