"""The local runtime: process groups, signals, teardown, and reaping a dead harness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.reaper import (
    ProcessReaper,
    Reaper,
    is_same_process,
    process_start_time,
    reap_dead_runs,
)
from harness.runtime.base import NodeSpec
from harness.runtime.local import LocalRuntime

SLEEPER = [sys.executable, "-c", "import time\nwhile True: time.sleep(0.05)"]


def wait_for(cond, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def proc_state(pid: int) -> str:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rfind(")") + 2 :].split()[0]


@pytest.fixture
def runtime(tmp_path: Path):
    rt = LocalRuntime(toxiproxy_url="http://127.0.0.1:1", state_dir=tmp_path / "state")
    rt.setup(tmp_path / "run", "test")
    yield rt
    rt.teardown()


def test_start_pause_resume_kill(runtime: LocalRuntime, tmp_path: Path) -> None:
    runtime.start(NodeSpec(name="n1", argv=SLEEPER))
    assert runtime.is_running("n1")
    pid = runtime._procs["n1"].popen.pid  # type: ignore[union-attr]
    assert os.getpgid(pid) == pid, "each node leads its own process group"
    runtime.pause("n1")
    assert wait_for(lambda: proc_state(pid) == "T")
    runtime.resume("n1")
    assert wait_for(lambda: proc_state(pid) != "T")
    runtime.kill("n1")
    assert not runtime.is_running("n1")
    assert runtime.exit_code("n1") == -signal.SIGKILL
    assert (tmp_path / "run" / "logs" / "n1.log").read_text().startswith("--- zchaos: start #1")


def test_restart_keeps_log_and_counts_starts(runtime: LocalRuntime, tmp_path: Path) -> None:
    spec = NodeSpec(name="n", argv=[sys.executable, "-c", "print('hello', flush=True)"])
    runtime.start(spec)
    assert wait_for(lambda: not runtime.is_running("n"))
    runtime.start(spec)
    assert wait_for(lambda: not runtime.is_running("n"))
    assert runtime.starts("n") == 2
    log = (tmp_path / "run" / "logs" / "n.log").read_text()
    assert log.count("\nhello\n") == 2 and "start #2" in log


def test_stop_is_sigterm_even_when_paused(runtime: LocalRuntime) -> None:
    code = "import signal,sys,time\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\n" \
           "while True: time.sleep(0.05)"
    runtime.start(NodeSpec(name="t", argv=[sys.executable, "-c", code]))
    time.sleep(0.3)  # let the interpreter install its handler (no observable condition)
    runtime.pause("t")
    runtime.stop("t", timeout=5)
    assert runtime.exit_code("t") == 7


def test_teardown_kills_children_of_the_group(tmp_path: Path) -> None:
    rt = LocalRuntime(toxiproxy_url="http://127.0.0.1:1", state_dir=tmp_path / "state")
    rt.setup(tmp_path / "run", "t")
    pidfile = tmp_path / "child.pid"
    script = textwrap.dedent(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        time.sleep(60)
    """)
    rt.start(NodeSpec(name="parent", argv=[sys.executable, "-c", script]))
    assert wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() != "")
    child = int(pidfile.read_text())
    rt.teardown()
    assert wait_for(lambda: not is_same_process(child, None) or proc_state(child) == "Z")
    assert not list((tmp_path / "state").glob("*.json")), "ledger is empty after teardown"


def test_a_dead_harness_is_reaped_by_the_next_run(tmp_path: Path) -> None:
    state = tmp_path / "state"
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from harness.runtime.base import NodeSpec
        from harness.runtime.local import LocalRuntime
        rt = LocalRuntime(toxiproxy_url="x", state_dir=Path({str(state)!r}))
        rt.setup(Path({str(tmp_path / 'run')!r}), "dead")
        rt.start(NodeSpec(name="orphan", argv={SLEEPER!r}))
        print(rt._procs["orphan"].popen.pid, flush=True)
        time.sleep(60)
    """)
    harness = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        orphan = int(harness.stdout.readline())  # type: ignore[union-attr]
        start = process_start_time(orphan)
        harness.kill()
        harness.wait()
        assert is_same_process(orphan, start), "the orphan outlives its killed harness"
        ledgers = list(state.glob("*.json"))
        assert ledgers and json.loads(ledgers[0].read_text())["groups"][0]["pid"] == orphan
        reaper: Reaper = ProcessReaper(state)
        assert reaper.orphans() == [f"node orphan (pid {orphan})"], "listed, not killed"
        assert is_same_process(orphan, start)
        reaped = reap_dead_runs(state)
        assert any(str(orphan) in r for r in reaped)
        assert reaper.orphans() == []
        assert wait_for(lambda: not is_same_process(orphan, start) or proc_state(orphan) == "Z")
        assert not list(state.glob("*.json"))
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()


def test_start_and_exit_times_are_true_even_when_polled_late(
        runtime: LocalRuntime, tmp_path: Path) -> None:
    """A watcher notes the exit when it happens, not when the runner gets round to asking."""
    stamp = tmp_path / "exit-at"
    code = (f"import time, pathlib; pathlib.Path({str(stamp)!r}).write_text(repr("
            "time.monotonic())); raise SystemExit(4)")
    before = time.monotonic()
    runtime.start(NodeSpec(name="short", argv=[sys.executable, "-c", code]))
    started = runtime.start_time("short")
    assert started is not None and before <= started <= time.monotonic()
    assert wait_for(lambda: not runtime.is_running("short"))
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:  # the runner is busy elsewhere for a while
        time.sleep(0.05)
    asked = time.monotonic()
    ((name, status, when),) = runtime.poll_exits()
    assert (name, status) == ("short", 4)
    exited = float(stamp.read_text())
    assert exited <= when < asked - 0.3, (exited, when, asked)
    assert runtime.poll_exits() == []
