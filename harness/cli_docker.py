"""The container verbs of the CLI: ``zchaos compose``, ``zchaos nemesis``, ``zchaos clean``.

Kept apart from ``harness/cli.py`` so the local-only harness never imports
the docker SDK; ``cli.py`` calls :func:`register` to add these subcommands.

- ``compose SCENARIO -o DIR``: write a compose stack of the scenario's
  topology, its Toxiproxy config and fault schedule (harness/compose_export.py).
- ``nemesis DIR``: replay DIR/faults.json against that stack once it runs
  (``docker compose up -d`` in DIR), through the Toxiproxy API and the docker
  SDK, with the same :class:`harness.nemesis.Nemesis` as a harness run.
- ``clean``: remove what dead runs left: local node processes (the reaper's
  ledgers) and containers, networks, volumes with our labels; ``--all`` also
  removes live runs' and compose stacks' Docker resources.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _err(message: str) -> None:
    print(f"zchaos: {message}", file=sys.stderr)


def _load(path: str) -> Any:
    from harness.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        for line in str(exc).splitlines():
            _err(line)
        return None
    except OSError as exc:
        _err(f"{path}: {exc.strerror or exc}")
        return None


def cmd_compose(args: argparse.Namespace) -> int:
    from harness.compose_export import build_export, write_export
    from harness.runtime.docker_engine import REAL_TOXIPROXY_IMAGE

    scenario = _load(args.scenario)
    if scenario is None:
        return EXIT_BAD_INPUT
    impls: dict[str, str] = {}
    for item in args.impl or []:
        role, sep, command = item.partition("=")
        if not sep or not command:
            _err(f"--impl {item!r}: expected ROLE=COMMAND")
            return EXIT_BAD_INPUT
        impls[role] = command
    export = build_export(scenario, image=args.image,
                          toxiproxy_image=args.toxiproxy_image or REAL_TOXIPROXY_IMAGE,
                          impls=impls)
    out = Path(args.output)
    for path in write_export(export, out):
        print(f"wrote {path}")
    print(f"next: cd {out} && docker compose up -d && zchaos nemesis .")
    return EXIT_OK


CLEAN_DESCRIPTION = """\
Remove what zchaos runs left behind when the harness itself died (SIGKILL,
a crashed CI job). A run in progress is never touched.

  1. local processes: node process groups and embedded Toxiproxy servers
     started by a harness that is no longer alive, found in the ledgers under
     REPORT_DIR/.zchaos-live/ (each checked against its start time, so a reused
     PID is never signalled);
  2. Docker: containers, networks and volumes labelled by zchaos whose owning
     harness is gone (with --all: every zchaos-labelled resource, live runs
     and `zchaos compose` stacks included).

Without a Docker engine step 2 is skipped with one line. Every run does step 1
for its own report folder at start, so this is only needed after a crash.
"""


def cmd_clean(args: argparse.Namespace) -> int:
    """Local processes of dead harnesses (their ledgers), then labelled Docker resources."""
    from harness.reaper import ProcessReaper
    from harness.runner import default_state_dir
    from harness.runtime.docker_engine import DockerUnavailable, docker_client
    from harness.runtime.docker_reaper import ContainerReaper

    removed = 0
    for what in ProcessReaper(default_state_dir(Path(args.report_dir))).reap_dead_runs():
        print(f"killed {what}")
        removed += 1
    try:
        client = docker_client()
    except DockerUnavailable:
        # one plain line: no engine is a normal state for local-only users
        print("docker: no Docker engine reachable, so no containers, networks or volumes "
              "to clean (start dockerd or set DOCKER_HOST to clean those)")
        client = None
    if client is not None:
        for what in ContainerReaper(client, everything=args.all).reap_dead_runs():
            print(f"removed {what}")
            removed += 1
    if not removed:
        print("nothing to clean")
    return EXIT_OK


def cmd_nemesis(args: argparse.Namespace) -> int:
    from harness.compose_export import FAULTS_FILE, SCENARIO_FILE
    from harness.nemesis import Nemesis, Schedule
    from harness.runtime.base import NodeSpec
    from harness.runtime.compose_stack import ComposeStackRuntime
    from harness.runtime.docker_engine import DockerUnavailable, docker_client
    from harness.scenario import Fault

    folder = Path(args.dir)
    try:
        scenario_doc = _read_yaml(folder / SCENARIO_FILE)
        records = json.loads((folder / FAULTS_FILE).read_text())
        faults = [Fault(**{k: v for k, v in r.items() if k != "until"}) for r in records]
    except (OSError, ValueError, TypeError) as exc:
        _err(f"{folder}: not a `zchaos compose` folder ({exc})")
        return EXIT_BAD_INPUT
    try:
        client = docker_client()
        stack = ComposeStackRuntime(client, scenario_doc["name"], compose_dir=folder,
                                    project=args.project)
        stack.wait_running(timeout=args.wait)
    except DockerUnavailable as exc:
        _err(str(exc))
        return EXIT_FAILED
    toxi = _toxiproxy_handle(args.toxiproxy_url or stack.toxiproxy_url())
    log_path = folder / "nemesis.jsonl"
    t0 = time.monotonic()

    def emit(event: dict[str, Any]) -> None:
        # The stack's nodes run without ZCHAOS_T0, so their `t` is CLOCK_MONOTONIC
        # itself: use the same clock, and nemesis.jsonl merges with their traces.
        record = {"t": round(time.monotonic(), 6), "node": "harness", **event}
        line = json.dumps(record, separators=(",", ":"))
        print(line, flush=True)
        with open(log_path, "a") as fh:
            fh.write(line + "\n")

    def spec_for(node: str) -> NodeSpec:
        return NodeSpec(name=node, argv=[])  # the stack's container already has its command

    seed = scenario_doc.get("seed") if isinstance(scenario_doc, dict) else None
    nemesis = Nemesis(stack, toxi, spec_for, emit,
                      seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else 0)
    schedule = Schedule(faults)
    emit({"type": "run", "event": "start", "stack": scenario_doc["name"]})
    try:
        while not schedule.done():
            for step in schedule.due(time.monotonic() - t0):
                Schedule.fire(nemesis, step)
            time.sleep(0.01)
    except KeyboardInterrupt:
        nemesis.heal()
        emit({"type": "run", "event": "interrupted"})
        return 130
    emit({"type": "run", "event": "end"})
    return EXIT_OK


def _read_yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text())


def _toxiproxy_handle(url: str) -> Any:
    from harness.toxiproxy.client import ToxiproxyHandle

    return ToxiproxyHandle(url)


def register(subparsers: Any) -> None:
    """Add ``compose``, ``nemesis`` and ``clean`` to the ``zchaos`` CLI."""
    from harness.runtime.docker_engine import REAL_TOXIPROXY_IMAGE

    p = subparsers.add_parser(
        "compose", help="export a scenario as a docker compose stack (+ Toxiproxy, faults)")
    p.add_argument("scenario", metavar="SCENARIO", help="scenario YAML file")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--image", default="zchaos:latest", help="node image (default: %(default)s)")
    p.add_argument("--toxiproxy-image", default=None,
                   help=f"Toxiproxy image (default: {REAL_TOXIPROXY_IMAGE})")
    p.add_argument("--impl", action="append", metavar="ROLE=COMMAND",
                   help="run COMMAND (inside the image) instead of a built-in role")
    p.set_defaults(func=cmd_compose)

    p = subparsers.add_parser(
        "nemesis", help="replay a `zchaos compose` folder's faults against its running stack")
    p.add_argument("dir", metavar="DIR", help="folder written by `zchaos compose`")
    p.add_argument("--project", help="compose project name (default: found from labels)")
    p.add_argument("--toxiproxy-url", help="Toxiproxy API (default: the stack's container)")
    p.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                   help="how long to wait for the stack's containers to run")
    p.set_defaults(func=cmd_nemesis)

    p = subparsers.add_parser(
        "clean", help="remove the processes, containers, networks and volumes dead runs left",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=CLEAN_DESCRIPTION)
    p.add_argument("--all", action="store_true",
                   help="docker: also remove live runs' resources and `zchaos compose` stacks")
    p.add_argument("--report-dir", default="reports", metavar="DIR",
                   help="where runs keep their ledgers of live processes (default: reports/)")
    p.set_defaults(func=cmd_clean)
