"""Nodes as child processes on 127.0.0.1, each in its own process group.

A process group per node means a signal reaches the role and anything it
spawned (a user's ``--impl`` may be a shell script), and SIGSTOP freezes the
whole node. Output goes to ``logs/<node>.log`` (appended across restarts, with
a marker line per start). Every group is recorded in the reaper's ledger so a
SIGKILLed harness leaves nothing for long: the next run reaps it.

True times (docs/trace-events.md): a node's start time is taken when
``Popen`` returns (the program has been exec'd), and a watcher thread per
process blocks in ``wait()`` and notes the moment the process is gone, so
``lifecycle exit`` carries the exit's time even when the runner was busy
(a stop's grace period, an API call) when it happened.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.ports import reserve_port
from harness.reaper import ledger_for, reap_dead_runs
from harness.runtime.base import NodeSpec, Runtime

LOOPBACK = "127.0.0.1"


_PICK = random.SystemRandom()
PORT_FLOOR = 20000  # node ports are drawn from here up to the kernel's ephemeral range


def _ephemeral_start() -> int:
    """Where the kernel starts handing out ports for ``bind(0)`` and outgoing connects."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago, outside the kernel's ephemeral range.

    A node binds its port only once its process runs, well after the harness
    picked it. A port from the ephemeral range could meanwhile be handed to
    anything that binds port 0 or connects (a Toxiproxy listener of the same
    run, a client's source port): seen as ``Address already in use`` in about
    one peering scenario in six, with twelve binds each. Below that range
    only an explicit bind can take it, so a random free one is drawn there;
    the kernel's own choice is the fallback.
    """
    top = _ephemeral_start() - 1
    for _ in range(64 if top > PORT_FLOOR else 0):
        port = _PICK.randint(PORT_FLOOR, top)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class _Proc:
    spec: NodeSpec
    popen: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    paused: bool = False
    starts: int = 0
    started_at: float | None = None  # CLOCK_MONOTONIC when the current process started


class LocalRuntime(Runtime):
    """The default runtime: fast, no dependencies beyond Python and libzmq."""

    name = "local"

    @classmethod
    def create(cls, *, state_dir: Path, toxiproxy_url: str | None = None,
               **options: object) -> LocalRuntime:
        if toxiproxy_url is None:
            raise ValueError("the local runtime needs a running Toxiproxy")
        return cls(toxiproxy_url=toxiproxy_url, state_dir=state_dir)

    def __init__(self, toxiproxy_url: str, state_dir: Path) -> None:
        self._toxiproxy_url = toxiproxy_url
        self._state_dir = state_dir
        self._ports: dict[tuple[str, str], int] = {}
        self._procs: dict[str, _Proc] = {}
        self._ledger = ledger_for(state_dir)
        self._run_dir: Path | None = None
        self._exits: list[tuple[str, int, float]] = []  # (node, status, when), from watchers
        self._exits_lock = threading.Lock()

    # -- setup and addresses -------------------------------------------------
    def setup(self, run_dir: Path, run_id: str) -> None:
        self._run_dir = run_dir
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        reap_dead_runs(self._state_dir)

    def toxiproxy_url(self) -> str:
        return self._toxiproxy_url

    def _port(self, node: str, port_name: str) -> int:
        key = (node, port_name)
        if key not in self._ports:
            self._ports[key] = reserve_port(owner=self)  # harness/ports.py: -j safe
        return self._ports[key]

    def bind_endpoint(self, node: str, port_name: str) -> str:
        return f"tcp://{LOOPBACK}:{self._port(node, port_name)}"

    def upstream_address(self, node: str, port_name: str) -> str:
        return f"{LOOPBACK}:{self._port(node, port_name)}"

    def probe_address(self, node: str, port_name: str) -> tuple[str, int] | None:
        """Where the harness can TCP-probe that a server has bound its port."""
        return (LOOPBACK, self._port(node, port_name))

    def proxy_listen(self) -> str:
        return f"{LOOPBACK}:0"

    def proxy_endpoint(self, listen: str) -> str:
        port = listen.rsplit(":", 1)[1]
        return f"tcp://{LOOPBACK}:{port}"

    # -- lifecycle -----------------------------------------------------------
    def start(self, spec: NodeSpec) -> None:
        proc = self._procs.get(spec.name)
        if proc is not None and proc.popen is not None and proc.popen.poll() is None:
            raise RuntimeError(f"node {spec.name} is already running")
        if proc is None:
            proc = _Proc(spec=spec)
            self._procs[spec.name] = proc
        proc.spec = spec
        assert self._run_dir is not None, "setup() first"
        if proc.log is None:
            proc.log = open(self._run_dir / "logs" / f"{spec.name}.log", "ab")  # noqa: SIM115
        argv = [sys.executable if a == "{python}" else a for a in spec.argv]
        env = {**os.environ, **spec.env}
        proc.log.write(f"--- zchaos: start #{proc.starts + 1}: {' '.join(argv)}\n".encode())
        proc.log.flush()
        if spec.data_dir is not None:
            spec.data_dir.mkdir(parents=True, exist_ok=True)
        proc.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=proc.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=os.getcwd(),
        )
        proc.started_at = time.monotonic()
        proc.starts += 1
        proc.paused = False
        self._ledger.add(proc.popen.pid, f"node {spec.name}")
        watcher = threading.Thread(target=self._watch, args=(spec.name, proc.popen),
                                   name=f"zchaos-wait-{spec.name}", daemon=True)
        watcher.start()

    def _watch(self, name: str, popen: subprocess.Popen[bytes]) -> None:
        """Note when ``popen`` is gone (see the module docstring)."""
        code = popen.wait()
        when = time.monotonic()
        with self._exits_lock:
            self._exits.append((name, code, when))

    def start_time(self, node: str) -> float | None:
        """CLOCK_MONOTONIC at which the node's current process started (None: never)."""
        proc = self._procs.get(node)
        return proc.started_at if proc is not None else None

    def starts(self, node: str) -> int:
        proc = self._procs.get(node)
        return proc.starts if proc else 0

    def _signal(self, node: str, sig: signal.Signals) -> bool:
        proc = self._procs.get(node)
        if proc is None or proc.popen is None or proc.popen.poll() is not None:
            return False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.popen.pid, sig)
        return True

    def _reap(self, proc: _Proc, timeout: float) -> bool:
        assert proc.popen is not None
        try:
            proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        # The role is gone; kill anything it left in its group, then forget it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.popen.pid, signal.SIGKILL)
        self._ledger.remove(proc.popen.pid)
        return True

    def stop(self, node: str, timeout: float = 5.0) -> None:
        proc = self._procs.get(node)
        if proc is None or proc.popen is None:
            return
        if proc.popen.poll() is None:
            self._signal(node, signal.SIGTERM)
            if proc.paused:
                self._signal(node, signal.SIGCONT)
                proc.paused = False
            if not self._reap(proc, timeout):
                self.kill(node)
        else:
            self._reap(proc, 0)

    def kill(self, node: str) -> None:
        proc = self._procs.get(node)
        if proc is None or proc.popen is None:
            return
        self._signal(node, signal.SIGKILL)
        self._reap(proc, 5.0)
        proc.paused = False

    def pause(self, node: str) -> None:
        if self._signal(node, signal.SIGSTOP):
            self._procs[node].paused = True

    def resume(self, node: str) -> None:
        if self._signal(node, signal.SIGCONT):
            self._procs[node].paused = False

    def is_running(self, node: str) -> bool:
        proc = self._procs.get(node)
        return proc is not None and proc.popen is not None and proc.popen.poll() is None

    def is_paused(self, node: str) -> bool:
        proc = self._procs.get(node)
        return bool(proc and proc.paused and self.is_running(node))

    def exit_code(self, node: str) -> int | None:
        proc = self._procs.get(node)
        if proc is None or proc.popen is None:
            return None
        return proc.popen.poll()

    def poll_exits(self) -> list[tuple[str, int, float]]:
        """Processes gone since the last call (on their own or by a fault), in the
        order they went: (node, status, CLOCK_MONOTONIC when it was gone)."""
        with self._exits_lock:
            exited, self._exits = self._exits, []
        exited.sort(key=lambda item: item[2])
        return exited

    def teardown(self) -> None:
        live = [p for p in self._procs.values() if p.popen is not None and p.popen.poll() is None]
        for proc in live:
            assert proc.popen is not None
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.popen.pid, signal.SIGTERM)
                os.killpg(proc.popen.pid, signal.SIGCONT)
        deadline = time.monotonic() + 2.0
        for proc in live:
            assert proc.popen is not None
            if not self._reap(proc, max(0.0, deadline - time.monotonic())):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                self._reap(proc, 5.0)
        for proc in self._procs.values():
            if proc.popen is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                self._ledger.remove(proc.popen.pid)
            if proc.log is not None:
                with contextlib.suppress(OSError):
                    proc.log.close()
                proc.log = None
