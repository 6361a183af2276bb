"""Run one scenario end to end: wire, start, break, stop, check, report.

The runner is the only place that knows every part (Jepsen's "test map"):
the runtime owns processes, Toxiproxy owns links, the nemesis owns faults,
clients own operations, checkers read the history. Teardown is in a
``finally`` so it runs after success, a violated contract, an exception,
Ctrl-C or SIGTERM of the harness (the CLI turns SIGTERM into
KeyboardInterrupt).

A run ends at ``duration``, or earlier once every client has exited on its
own and the whole fault schedule (reverts included) has fired: scenarios
stay short without a separate "stop when done" knob.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checkers.base import CheckContext, CheckResult, NodeFacts
from harness.nemesis import Nemesis, Schedule
from harness.roles import ROLES
from harness.runtime.base import NodeSpec, Runtime
from harness.topology import Wiring, build_wiring, node_argv

TICK = 0.01  # seconds between checks of the schedule and of node exits
READY_TIMEOUT = 5.0  # how long servers get to bind before clients start anyway
WORKLOAD_START_TIMEOUT = 15.0  # how long clients get to emit their first event
STOP_TIMEOUT = 2.0


@dataclass
class RunOptions:
    """How to run, as given on the command line."""

    report_root: Path
    run_id: str
    runtime: str = "local"
    impls: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    image: str = "zchaos:latest"
    toxiproxy_image: str | None = None


@dataclass
class ScenarioOutcome:
    """What the summary table and the exit code need from one scenario."""

    name: str
    verdict: str  # pass | fail | error
    expected: str
    contracts: list[CheckResult]
    report_dir: Path
    wall_s: float
    operations: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class HarnessLog:
    """The harness's own events: kept in memory and appended to traces/harness.jsonl."""

    def __init__(self, path: Path, t0: float) -> None:
        self.t0 = t0
        self.events: list[dict[str, Any]] = []
        self._file = open(path, "a")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()

    def emit(self, event: dict[str, Any]) -> None:
        record = {"t": round(time.monotonic() - self.t0, 6), "node": "harness", **event}
        with self._lock:
            self.events.append(record)
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._file.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()


def expectation_text(scenario: Any) -> str:
    exp = scenario.expect
    if exp.outcome == "pass":
        return "pass"
    return "violated: " + ", ".join(exp.violated)


def outcome_matches(scenario: Any, results: list[CheckResult]) -> bool:
    """Every contract listed as violated is violated; every other one is ok."""
    exp = scenario.expect
    expected_violated = set(exp.violated) if exp.outcome != "pass" else set()
    for result in results:
        wanted = "violated" if result.name in expected_violated else "ok"
        if result.verdict != wanted:
            return False
    return True


def _wait_bound(address: tuple[str, int], deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(address, timeout=0.2):
                return True
        except OSError:
            time.sleep(0.01)
    return False


class ScenarioRun:
    """One execution of one scenario. ``execute()`` never raises except KeyboardInterrupt."""

    def __init__(
        self,
        scenario: Any,
        options: RunOptions,
        runtime: Runtime,
        toxiproxy: Any,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.options = options
        self.runtime = runtime
        self.toxi = toxiproxy
        self.on_progress = on_progress or (lambda _msg: None)
        self.run_dir = options.report_root / options.run_id / scenario.name
        self.trace_dir = self.run_dir / "traces"
        self.data_root = self.run_dir / "data"
        self.wiring: Wiring | None = None
        self.starts: dict[str, int] = {}
        self.exits: dict[str, list[int]] = {}
        self.timing: dict[str, float] = {}
        self.offset = 0.0  # scenario time 0 on the run clock (see _drive)

    # -- node specs ----------------------------------------------------------
    def spec_for(self, name: str) -> NodeSpec:
        """The spec of a (re)start; each start bumps the node's incarnation."""
        assert self.wiring is not None
        node = self.scenario.nodes[name]
        role = ROLES[node.role]
        data_dir = self.data_root / name if role.data_dir else None
        incarnation = self.starts.get(name, 0)
        self.starts[name] = incarnation + 1
        env = {
            "ZCHAOS_TRACE": str(self.trace_dir / f"{name}.jsonl"),
            "ZCHAOS_NODE": name,
            "ZCHAOS_T0": repr(self.t0),
            "ZCHAOS_INCARNATION": str(incarnation),
            "ZCHAOS_SEED": str(self.scenario.seed),
            "PYTHONUNBUFFERED": "1",
        }
        argv = node_argv(node, self.wiring, self.options.impls, data_dir)
        self.log.emit({"type": "lifecycle", "target": name, "event": "start",
                       "incarnation": incarnation})
        return NodeSpec(name=name, argv=argv, env=env, data_dir=data_dir,
                        autostart=node.autostart)

    # -- the run ------------------------------------------------------------
    def execute(self) -> ScenarioOutcome:
        wall0 = self.wall0 = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.trace_dir.mkdir(exist_ok=True)
        (self.run_dir / "scenario.yaml").write_text(self.scenario.to_resolved_yaml())
        self.t0 = time.monotonic()
        self.log = HarnessLog(self.trace_dir / "harness.jsonl", self.t0)
        error: str | None = None
        end = 0.0
        try:
            end = self._drive()
        except KeyboardInterrupt:
            self.log.emit({"type": "run", "event": "interrupted"})
            self._teardown()
            self.log.close()
            raise
        except Exception as exc:  # a harness failure is an "error" verdict, not a traceback
            error = f"{type(exc).__name__}: {exc}"
            self.log.emit({"type": "run", "event": "error", "error": error})
        t_down = time.monotonic()
        self._teardown()
        self.timing["teardown_s"] = round(time.monotonic() - t_down, 3)
        self.log.emit({"type": "run", "event": "end"})
        self.log.close()
        return self._check_and_report(end, error, time.monotonic() - wall0)

    def _drive(self) -> float:
        sc = self.scenario
        rt = self.runtime
        rt.setup(self.run_dir, self.options.run_id)
        if self.toxi is None:
            # The docker runtime brings its own Toxiproxy container per run.
            from harness.toxiproxy.client import ToxiproxyHandle

            self.toxi = ToxiproxyHandle(rt.toxiproxy_url())
        self.wiring = build_wiring(sc, rt, self.toxi)
        nemesis = Nemesis(rt, self.toxi, self.spec_for, self.log.emit)
        schedule = Schedule(list(sc.faults))
        # The run's clock starts now: every node and the harness share ZCHAOS_T0.
        self.timing["prepare_s"] = round(time.monotonic() - self.wall0, 3)
        self.t0 = time.monotonic()
        self.log.t0 = self.t0
        self.log.emit({"type": "run", "event": "start", "seed": sc.seed})
        servers = [n for n in sc.nodes.values() if ROLES[n.role].kind == "server"]
        clients = [n for n in sc.nodes.values() if ROLES[n.role].kind == "client"]
        for node in servers:
            if node.autostart:
                rt.start(self.spec_for(node.name))
        self._wait_servers_ready([n for n in servers if n.autostart])
        self.timing["setup_s"] = round(time.monotonic() - self.t0, 3)
        for node in clients:
            if node.autostart:
                rt.start(self.spec_for(node.name))
        # Scenario time 0 is when the workload has begun, not when processes were
        # spawned: a container (or a loaded machine) can take seconds to start a
        # node, and a fault at `at: 1s` must hit a running workload either way.
        self._wait_workload_started([n.name for n in clients if n.autostart])
        self.offset = time.monotonic() - self.t0
        self.timing["workload_start_s"] = round(self.offset, 3)
        self.log.emit({"type": "run", "event": "workload-start"})
        origin = self.t0 + self.offset
        client_names = [n.name for n in clients]
        deadline = origin + sc.duration
        while True:
            now = time.monotonic()
            for step in schedule.due(now - origin):
                self.on_progress(f"{step.kind} {step.fault.action}")
                Schedule.fire(nemesis, step)
            self._record_exits()
            if now >= deadline:
                break
            if schedule.done() and all(
                self.starts.get(c, 0) > 0 and not rt.is_running(c) for c in client_names
            ):
                self.log.emit({"type": "run", "event": "workload-done"})
                break
            time.sleep(TICK)
        end = time.monotonic() - self.t0
        # Stop clients first so they do not record failures caused by our own shutdown.
        for name in client_names:
            rt.stop(name, STOP_TIMEOUT)
        self._record_exits()
        return end

    def _wait_workload_started(self, clients: list[str]) -> None:
        """Until every client has written its first trace line (or exited), bounded."""
        deadline = time.monotonic() + WORKLOAD_START_TIMEOUT
        waiting = set(clients)
        while waiting and time.monotonic() < deadline:
            for name in list(waiting):
                trace_file = self.trace_dir / f"{name}.jsonl"
                started = trace_file.exists() and trace_file.stat().st_size > 0
                if started or not self.runtime.is_running(name):
                    waiting.discard(name)
            if waiting:
                time.sleep(TICK)
        self._record_exits()

    def _wait_servers_ready(self, servers: list[Any]) -> None:
        probe = getattr(self.runtime, "probe_address", None)
        if probe is None:
            return
        deadline = time.monotonic() + READY_TIMEOUT
        for node in servers:
            for port in ROLES[node.role].binds:
                address = probe(node.name, port)
                if address is not None:
                    _wait_bound(address, deadline)

    def _record_exits(self) -> None:
        poll = getattr(self.runtime, "poll_exits", None)
        if poll is None:
            return
        for name, code in poll():
            self.exits.setdefault(name, []).append(code)
            self.log.emit({"type": "lifecycle", "target": name, "event": "exit", "code": code})

    def _teardown(self) -> None:
        with contextlib.suppress(Exception):
            self._record_exits()
        try:
            # Proxies first: on the docker runtime Toxiproxy goes with the runtime.
            if self.wiring is not None and self.toxi is not None:
                for name in self.wiring.proxies:
                    with contextlib.suppress(Exception):
                        self.toxi.delete_proxy(name)
        finally:
            self.runtime.teardown()

    # -- verdicts and reports -------------------------------------------------
    def _context(self, end: float) -> CheckContext:
        nodes = {
            n.name: NodeFacts(
                name=n.name,
                role=n.role,
                kind=ROLES[n.role].kind,
                options=dict(n.options),
                connects=tuple(t.node for t in n.connect),
            )
            for n in self.scenario.nodes.values()
        }
        faults = tuple(
            {
                "at": self.offset + f.at,
                "fault": f.action,
                "target": ",".join(f.targets or f.links),
                "until": None if f.duration is None else self.offset + f.at + f.duration,
            }
            for f in self.scenario.faults
        )
        owner = self.wiring.endpoint_owner() if self.wiring else {}
        return CheckContext(nodes=nodes, faults=faults, duration=self.scenario.duration,
                            end=end, endpoint_owner=owner)

    def _check_and_report(self, end: float, error: str | None, wall: float) -> ScenarioOutcome:
        from harness import history as hist
        from harness.checkers import run_contract
        from harness.report.writer import write_reports

        stats = hist.ReadStats()
        events = hist.merge_files(sorted(self.trace_dir.glob("*.jsonl")), stats=stats)
        # Torn lines (a SIGKILLed node) and garbage from a user's node are skipped, not fatal.
        trace_stats = {"events": stats.events, "skipped_lines": stats.skipped,
                       "skipped_by_file": stats.skipped_by_file}
        hist.write_jsonl(events, self.run_dir / "history.jsonl")
        ctx = self._context(end)
        results: list[CheckResult] = []
        if error is None:
            for spec in self.scenario.contracts:
                results.append(run_contract(spec.name, dict(spec.params), events, ctx))
        operations = hist.summarize(events)
        if error is not None:
            verdict = "error"
        else:
            verdict = "pass" if outcome_matches(self.scenario, results) else "fail"
        first_op = next((e["t"] for e in events if e.get("type") == "invoke"), None)
        if first_op is not None:
            self.timing["first_operation_s"] = round(float(first_op), 3)
            # The harness's own cost: folders, proxies and spawning until the
            # first client operation, plus teardown (README "Figures").
            self.timing["overhead_s"] = round(
                self.timing.get("prepare_s", 0.0) + float(first_op)
                + self.timing.get("teardown_s", 0.0), 3)
        self.timing["wall_s"] = round(wall, 3)
        outcome = ScenarioOutcome(
            name=self.scenario.name,
            verdict=verdict,
            expected=expectation_text(self.scenario),
            contracts=results,
            report_dir=self.run_dir,
            wall_s=wall,
            operations=operations,
            error=error,
        )
        write_reports(
            outcome,
            scenario=self.scenario,
            options=self.options,
            history=events,
            timing=self.timing,
            exits=self.exits,
            starts=self.starts,
            wiring=self.wiring,
            trace_stats=trace_stats,
        )
        return outcome


def default_state_dir(report_root: Path) -> Path:
    """Where ledgers of live harness processes are kept (see harness.reaper)."""
    return report_root / ".zchaos-live"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
