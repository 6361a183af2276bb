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

Fail fast: a node that exits while the servers bind, or before the workload
has begun, ends the run at once with verdict ``error`` (its exit status and
the last lines of its log in the report), instead of a misleading contract
failure seconds later. A client that never wrote a trace event is an
``error`` too, named.

True times (docs/trace-events.md): ``lifecycle start`` carries the time the
runtime says the process started, ``lifecycle exit`` the time it was gone,
fault events the time the fault took effect.

The folder: ``report.json`` is written once at the start marked
``interrupted``, and replaced by the real one at the end; so a harness
killed outright (SIGKILL) still leaves a folder that says what it is, with
its traces and logs. Ctrl-C and SIGTERM tear down, then write the reports
of what was recorded, still marked ``interrupted``.
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
from harness.lifecycle import describe_status
from harness.nemesis import Nemesis, Schedule
from harness.roles import ROLES
from harness.runtime.base import NodeSpec, Runtime
from harness.topology import Wiring, build_wiring, node_argv

TICK = 0.01  # seconds between checks of the schedule and of node exits
READY_TIMEOUT = 5.0  # how long servers get to bind before clients start anyway
WORKLOAD_START_TIMEOUT = 15.0  # how long clients get to emit their first event
STOP_TIMEOUT = 2.0
LOG_TAIL_LINES = 15


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
    verdict: str  # pass | fail | unknown | error
    expected: str
    contracts: list[CheckResult]
    report_dir: Path
    wall_s: float
    operations: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    reasons: list[str] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)
    status: str = "complete"  # complete | interrupted
    notes: list[str] = field(default_factory=list)  # dead clients, lost lines, slow binds


class NodeFailure(Exception):
    """A node exited before the run could test anything: the scenario is an ``error``."""

    def __init__(self, node: str, code: int | None, when: str) -> None:
        self.node = node
        self.code = code
        self.when = when
        status = "" if code is None else f" with {describe_status(code)}"
        super().__init__(f"{node} exited{status} {when}")


class HarnessLog:
    """The harness's own events: kept in memory and appended to traces/harness.jsonl."""

    def __init__(self, path: Path, t0: float) -> None:
        self.t0 = t0
        self.events: list[dict[str, Any]] = []
        self._file = open(path, "a")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()

    def emit(self, event: dict[str, Any], at: float | None = None) -> None:
        """Log ``event`` now, or at ``at`` (CLOCK_MONOTONIC) when the moment is known."""
        moment = time.monotonic() if at is None else at
        record = {"t": round(moment - self.t0, 6), "node": "harness", **event}
        with self._lock:
            self.events.append(record)
            if not self._file.closed:
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


def _accepts(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.2):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a node's log (empty when there is none)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").splitlines()
    return [line.rstrip() for line in text[-lines:]]


class ScenarioRun:
    """One execution of one scenario. ``execute()`` never raises except KeyboardInterrupt."""

    def __init__(
        self,
        scenario: Any,
        options: RunOptions,
        runtime: Runtime,
        toxiproxy: Any,
        on_progress: Callable[[str], None] | None = None,
        run_dir: Path | None = None,
    ) -> None:
        self.scenario = scenario
        self.options = options
        self.runtime = runtime
        self.toxi = toxiproxy
        self.on_progress = on_progress or (lambda _msg: None)
        # run_dir: a repeat's own folder (<run>/<scenario>/r01, harness/suite.py)
        self.run_dir = run_dir or options.report_root / options.run_id / scenario.name
        self.trace_dir = self.run_dir / "traces"
        self.data_root = self.run_dir / "data"
        self.wiring: Wiring | None = None
        self.starts: dict[str, int] = {}
        self.exits: dict[str, list[int]] = {}
        self.timing: dict[str, float] = {}
        self.clock: dict[str, float] = {}  # t0 as wall-clock time (report.json "clock")
        self.offset = 0.0  # scenario time 0 on the run clock (see _drive)
        self.byte_samples: list[dict[str, Any]] | None = []  # None: not measured
        self.failure: NodeFailure | None = None
        self.notes: list[str] = []
        self._pending_starts: set[str] = set()

    # -- node specs and lifecycle ------------------------------------------------
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
        return NodeSpec(name=name, argv=argv, env=env, data_dir=data_dir,
                        autostart=node.autostart)

    def start_node(self, name: str) -> None:
        self.runtime.start(self.spec_for(name))
        self.node_started(name)

    def node_started(self, name: str) -> None:
        """Log ``lifecycle start`` at the true start time, now or once the runtime knows it."""
        self._pending_starts.add(name)
        self._record_starts()

    def _record_starts(self) -> None:
        for name in sorted(self._pending_starts):
            at = self.runtime.start_time(name)
            if at is None:
                continue
            self._pending_starts.discard(name)
            self.log.emit({"type": "lifecycle", "target": name, "event": "start",
                           "incarnation": self.starts.get(name, 1) - 1}, at=at)

    def _record_exits(self) -> None:
        for item in self.runtime.poll_exits():
            name, code = item[0], int(item[1])
            at = float(item[2]) if len(item) > 2 else None
            self._record_starts()  # a start always precedes its exit in the log
            self.exits.setdefault(name, []).append(code)
            self.log.emit({"type": "lifecycle", "target": name, "event": "exit",
                           "code": code}, at=at)

    def _poll_runtime(self) -> None:
        self._record_starts()
        self._record_exits()

    # -- the run ------------------------------------------------------------
    def execute(self) -> ScenarioOutcome:
        from harness.report.writer import write_placeholder

        wall0 = self.wall0 = time.monotonic()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.trace_dir.mkdir(exist_ok=True)
        (self.run_dir / "scenario.yaml").write_text(self.scenario.to_resolved_yaml())
        write_placeholder(self.run_dir, self.scenario, self.options)
        self.t0 = time.monotonic()
        self.log = HarnessLog(self.trace_dir / "harness.jsonl", self.t0)
        error: str | None = None
        end = 0.0
        try:
            end = self._drive()
        except KeyboardInterrupt:
            self.log.emit({"type": "run", "event": "interrupted"})
            self._teardown()
            with contextlib.suppress(Exception):
                self._check_and_report(time.monotonic() - self.t0, "interrupted by a signal",
                                       time.monotonic() - wall0, status="interrupted")
            self.log.close()
            raise
        except NodeFailure as exc:
            self.failure = exc
            error = str(exc)
            self.log.emit({"type": "run", "event": "error", "error": error})
            end = time.monotonic() - self.t0
        except Exception as exc:  # a harness failure is an "error" verdict, not a traceback
            error = f"{type(exc).__name__}: {exc}"
            self.log.emit({"type": "run", "event": "error", "error": error})
            end = time.monotonic() - self.t0
        except BaseException:
            # Anything else that unwinds through here (pytest-timeout's outcome
            # exception, SystemExit from a signal handler) must not leave the
            # scenario's nodes running: tear down, then let it propagate.
            with contextlib.suppress(Exception):
                self._teardown()
            self.log.close()
            raise
        t_down = time.monotonic()
        self._teardown()
        self.timing["teardown_s"] = round(time.monotonic() - t_down, 3)
        self.log.emit({"type": "run", "event": "end"})
        outcome = self._check_and_report(end, error, time.monotonic() - wall0)
        self.log.close()
        return outcome

    def _drive(self) -> float:
        sc = self.scenario
        rt = self.runtime
        rt.setup(self.run_dir, self.options.run_id)
        if self.toxi is None:
            # The docker runtime brings its own Toxiproxy container per run.
            from harness.toxiproxy.client import ToxiproxyHandle

            self.toxi = ToxiproxyHandle(rt.toxiproxy_url())
        self.wiring = build_wiring(sc, rt, self.toxi)
        nemesis = Nemesis(rt, self.toxi, self.spec_for, self.log.emit, seed=sc.seed,
                          after_start=self.node_started)
        schedule = Schedule(list(sc.faults))
        # The run's clock starts now: every node and the harness share ZCHAOS_T0.
        self.timing["prepare_s"] = round(time.monotonic() - self.wall0, 3)
        self.t0 = time.monotonic()
        self.clock = {"t0_unix": round(time.time(), 6)}
        self.log.t0 = self.t0
        self.log.emit({"type": "run", "event": "start", "seed": sc.seed})
        servers = [n for n in sc.nodes.values() if ROLES[n.role].kind == "server"]
        clients = [n for n in sc.nodes.values() if ROLES[n.role].kind == "client"]
        for node in servers:
            if node.autostart:
                self.start_node(node.name)
        self._wait_servers_ready([n for n in servers if n.autostart])
        self.timing["setup_s"] = round(time.monotonic() - self.t0, 3)
        for node in clients:
            if node.autostart:
                self.start_node(node.name)
        # Scenario time 0 is when the workload has begun, not when processes were
        # spawned: a container (or a loaded machine) can take seconds to start a
        # node, and a fault at `at: 1s` must hit a running workload either way.
        self._wait_workload_started([n.name for n in clients if n.autostart],
                                    [n.name for n in servers if n.autostart])
        self.offset = time.monotonic() - self.t0
        self.timing["workload_start_s"] = round(self.offset, 3)
        self.log.emit({"type": "run", "event": "workload-start"})
        self._sample_bytes()
        origin = self.t0 + self.offset
        client_names = [n.name for n in clients]
        deadline = origin + sc.duration
        decidable_at = origin + self._decidable_after()
        while True:
            now = time.monotonic()
            for step in schedule.due(now - origin):
                self.on_progress(f"{step.kind} {step.fault.action}")
                if step.kind == "revert":
                    self._sample_bytes()  # the window's bytes end here
                Schedule.fire(nemesis, step)
                self._sample_bytes()
                self._poll_runtime()
            self._poll_runtime()
            if now >= deadline:
                break
            if schedule.done() and now >= decidable_at and all(
                self.starts.get(c, 0) > 0 and not rt.is_running(c) for c in client_names
            ):
                self.log.emit({"type": "run", "event": "workload-done"})
                break
            time.sleep(TICK)
        end = time.monotonic() - self.t0
        self._sample_bytes()
        # Stop clients first so they do not record failures caused by our own shutdown.
        self.log.emit({"type": "run", "event": "stopping"})
        for name in client_names:
            rt.stop(name, STOP_TIMEOUT)
        self._poll_runtime()
        return end

    def _decidable_after(self) -> float:
        """Scenario time before which the run may not end early (clients all done).

        ``every_request_answered`` and ``durable_acks`` can only decide requests
        around the last fault once it has healed plus their bound; a run that
        stopped sooner would leave them unknown for nothing.
        """
        from harness.scenario.warnings import decidable_after

        return min(self.scenario.duration, decidable_after(self.scenario))

    def _sample_bytes(self) -> None:
        """Toxiproxy's byte counters now (for coverage); stops trying once unavailable."""
        if self.byte_samples is None or self.toxi is None or self.wiring is None:
            return
        reader = getattr(self.toxi, "byte_counters", None)
        counters = reader() if reader is not None else None
        if counters is None:
            self.byte_samples = None
            return
        self.byte_samples.append({
            "t": round(time.monotonic() - self.t0, 6),
            "proxies": {name: counters[name] for name in self.wiring.proxies if name in counters},
        })

    def _fail_on_exit(self, nodes: list[str], when: str) -> None:
        """Raise NodeFailure if any of ``nodes`` has exited (the run cannot go on)."""
        self._poll_runtime()
        for name in nodes:
            if self.exits.get(name):
                raise NodeFailure(name, self.exits[name][-1], when)

    def _wait_servers_ready(self, servers: list[Any]) -> None:
        """Until every server's binds accept TCP connections, bounded; an exit is fatal."""
        probe = getattr(self.runtime, "probe_address", None)
        pending: list[tuple[str, tuple[str, int]]] = []
        for node in servers:
            for port in ROLES[node.role].binds:
                address = probe(node.name, port) if probe is not None else None
                if address is not None:
                    pending.append((node.name, address))
        names = [n.name for n in servers]
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            self._fail_on_exit(names, "before it was ready (while the servers were binding)")
            pending = [(name, addr) for name, addr in pending if not _accepts(addr)]
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(TICK)
        self._fail_on_exit(names, "before it was ready (while the servers were binding)")
        for name in dict.fromkeys(name for name, _ in pending):
            self.notes.append(f"{name} did not accept connections within {READY_TIMEOUT:g} s "
                              "of its start; the clients started anyway")

    def _wait_workload_started(self, clients: list[str], servers: list[str]) -> None:
        """Until every client has written its first trace line, bounded; exits are fatal.

        A server that exits now, or a client that exits before writing any
        event, leaves nothing to test. A client that wrote events and then
        finished (a tiny workload) is fine.
        """
        deadline = time.monotonic() + WORKLOAD_START_TIMEOUT
        waiting = set(clients)
        while True:
            self._fail_on_exit(servers, "before the workload began")
            for name in sorted(clients):
                if self.exits.get(name) and not self._has_trace(name):
                    raise NodeFailure(name, self.exits[name][-1],
                                      "before writing any trace event")
            waiting = {name for name in waiting
                       if not self._has_trace(name) and not self.exits.get(name)}
            if not waiting or time.monotonic() >= deadline:
                break
            time.sleep(TICK)

    def _has_trace(self, name: str) -> bool:
        trace_file = self.trace_dir / f"{name}.jsonl"
        try:
            return trace_file.stat().st_size > 0
        except OSError:
            return False

    def _teardown(self) -> None:
        with contextlib.suppress(Exception):
            self._poll_runtime()
        try:
            # Proxies first: on the docker runtime Toxiproxy goes with the runtime.
            if self.wiring is not None and self.toxi is not None:
                for name in self.wiring.proxies:
                    with contextlib.suppress(Exception):
                        self.toxi.delete_proxy(name)
        finally:
            self.runtime.teardown()
            with contextlib.suppress(Exception):
                self._poll_runtime()  # what teardown stopped: exits with their times

    # -- verdicts and reports -------------------------------------------------
    def _context(self, end: float, coverage: dict[str, Any]) -> CheckContext:
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
        windows = {entry["index"]: entry for entry in coverage.get("faults", [])}
        faults = []
        for index, f in enumerate(self.scenario.faults):
            scheduled_until = None if f.duration is None else self.offset + f.at + f.duration
            took = windows.get(index, {})
            at = took.get("at")
            faults.append({
                "index": index,
                # when it took effect (fault events), else when it was due
                "at": at if at is not None else self.offset + f.at,
                "fault": f.action,
                "target": ",".join(f.targets or f.links),
                "targets": list(f.targets),
                "links": list(f.links),
                "until": (took.get("until") if f.duration is not None and at is not None
                          else scheduled_until),
            })
        owner = self.wiring.endpoint_owner() if self.wiring else {}
        return CheckContext(nodes=nodes, faults=tuple(faults), duration=self.scenario.duration,
                            end=end, endpoint_owner=owner)

    def _check_and_report(self, end: float, error: str | None, wall: float,
                          status: str = "complete") -> ScenarioOutcome:
        from harness import history as hist
        from harness.checkers import run_contract
        from harness.coverage import fault_coverage, slow_effects
        from harness.lifecycle import exit_records
        from harness.report.writer import write_reports
        from harness.verdict import account_for_lost_lines, decide

        stats = hist.ReadStats()
        events = hist.merge_files(sorted(self.trace_dir.glob("*.jsonl")), stats=stats)
        events = hist.starts_before_own_events(events)
        lost = {Path(path).stem: n for path, n in stats.skipped_by_file.items() if n}
        # Torn lines (a SIGKILLed node) and garbage from a user's node are skipped and
        # counted per node; contracts that read those nodes become unknown (verdict.py).
        trace_stats = {"events": stats.events, "skipped_lines": stats.skipped,
                       "skipped_by_file": stats.skipped_by_file, "lost_lines": lost}
        hist.write_jsonl(events, self.run_dir / "history.jsonl")
        kinds = {n.name: ROLES[n.role].kind for n in self.scenario.nodes.values()}
        clients = [name for name, kind in kinds.items() if kind == "client"]
        links = ({name: (p.source, p.target) for name, p in self.wiring.proxies.items()}
                 if self.wiring else {})
        coverage = fault_coverage(events, list(self.scenario.faults), clients, links=links,
                                  byte_samples=self.byte_samples, offset=self.offset, end=end)
        exits = exit_records(events, kinds)
        if error is None and status == "complete":
            error = self._silent_clients(events, clients)
        results: list[CheckResult] = []
        if error is None:
            ctx = self._context(end, coverage)
            for spec in self.scenario.contracts:
                results.append(run_contract(spec.name, dict(spec.params), events, ctx))
            results = account_for_lost_lines(results, lost, kinds)
        decision = decide(self.scenario.expect, results, coverage["uncovered"], error)
        if status == "interrupted":
            decision.verdict = "error"
        notes = list(self.notes) + slow_effects(coverage)
        failed = self.failure.node if self.failure is not None else None
        notes += [e["sentence"] for e in exits
                  if e["cause"] in ("crashed", "exited") and e["node"] != failed]
        notes += [f"{n} trace line{'s' if n > 1 else ''} of {node} lost (torn or not JSON)"
                  for node, n in sorted(lost.items())]
        operations = hist.summarize(events)
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
            verdict=decision.verdict,
            expected=expectation_text(self.scenario),
            contracts=results,
            report_dir=self.run_dir,
            wall_s=wall,
            operations=operations,
            error=error,
            reasons=decision.reasons,
            coverage=coverage,
            status=status,
            notes=notes,
        )
        failure = None
        if self.failure is not None:
            failure = {
                "node": self.failure.node,
                "code": self.failure.code,
                "when": self.failure.when,
                "summary": str(self.failure),
                "log_tail": log_tail(self.run_dir / "logs" / f"{self.failure.node}.log"),
            }
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
            failure=failure,
            exit_records=exits,
            clock=self.clock,
        )
        return outcome

    def _silent_clients(self, events: list[dict[str, Any]], clients: list[str]) -> str | None:
        """An error naming every started client that never wrote a trace event."""
        wrote = {e.get("node") for e in events}
        silent = [c for c in clients if self.starts.get(c, 0) > 0 and c not in wrote]
        if not silent:
            return None
        parts = []
        for name in silent:
            codes = self.exits.get(name)
            status = f" (it exited with {describe_status(codes[-1])})" if codes else ""
            parts.append(f"{name}{status}")
        return ("client(s) wrote no trace event, so nothing of their work can be checked: "
                + ", ".join(parts) + "; see logs/<node>.log, and docs/trace-events.md for "
                "what a node must write")


def default_state_dir(report_root: Path) -> Path:
    """Where ledgers of live harness processes are kept (see harness.reaper)."""
    return report_root / ".zchaos-live"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
