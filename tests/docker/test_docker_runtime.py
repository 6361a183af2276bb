"""DockerRuntime on a real engine: lifecycle verbs, data volumes, traces, labels, teardown."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dockertier import IMAGE, TOXIPROXY_STUB

from harness.runtime.base import NodeSpec
from harness.runtime.docker import DockerRuntime
from harness.runtime.docker_engine import LABEL_INSTANCE, LABEL_MANAGED, LABEL_OWNER_PID, LABEL_RUN
from harness.runtime.docker_reaper import ContainerReaper, leftovers

pytestmark = pytest.mark.docker

# A node that: appends a trace line saying whether its data dir already held a
# marker (then writes it), binds TCP 5555, and exits 0 on SIGTERM.
NODE_SCRIPT = """
import json, os, signal, socket, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
data = sys.argv[1]
marker = os.path.join(data, "marker")
found = os.path.exists(marker)
os.makedirs(data, exist_ok=True)
open(marker, "w").write("x")
t = time.monotonic() - float(os.environ["ZCHAOS_T0"])
line = {"t": t, "node": os.environ["ZCHAOS_NODE"], "type": "boot", "found": found,
        "incarnation": os.environ.get("ZCHAOS_INCARNATION")}
with open(os.environ["ZCHAOS_TRACE"], "a") as fh:
    fh.write(json.dumps(line) + "\\n")
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5555)); s.listen()
print("serving", flush=True)
while True:
    s.accept()[0].close()
"""


def wait_until(cond: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def node_spec(rt: DockerRuntime, run_dir: Path, name: str, incarnation: int = 0) -> NodeSpec:
    data_dir = run_dir / "data" / name
    (run_dir / "traces").mkdir(parents=True, exist_ok=True)
    return NodeSpec(
        name=name,
        argv=["{python}", "-c", NODE_SCRIPT, str(data_dir)],
        env={
            "ZCHAOS_TRACE": str(run_dir / "traces" / f"{name}.jsonl"),
            "ZCHAOS_NODE": name,
            "ZCHAOS_T0": repr(T0),
            "ZCHAOS_INCARNATION": str(incarnation),
        },
        data_dir=data_dir,
    )


T0 = time.monotonic()


def bound(rt: DockerRuntime, node: str) -> bool:
    address = rt.probe_address(node, "frontend")
    if address is None:
        return False
    try:
        with socket.create_connection(address, timeout=0.3):
            return True
    except OSError:
        return False


def boots(run_dir: Path, name: str) -> list[dict[str, Any]]:
    path = run_dir / "traces" / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_dir_of(rt: DockerRuntime) -> Path:
    assert rt._run_dir is not None
    return rt._run_dir


def test_addresses_use_container_names_and_fixed_ports(runtime: DockerRuntime) -> None:
    assert runtime.bind_endpoint("queue", "frontend") == "tcp://0.0.0.0:5555"
    assert runtime.bind_endpoint("queue", "backend") == "tcp://0.0.0.0:5556"
    assert runtime.bind_endpoint("other", "frontend") == "tcp://0.0.0.0:5555"
    assert runtime.upstream_address("queue", "backend") == (
        f"{runtime.container_name('queue')}:5556"
    )
    assert runtime.proxy_listen() == "0.0.0.0:0"
    assert runtime.proxy_endpoint("[::]:41234") == (
        f"tcp://{runtime.toxiproxy_container_name}:41234"
    )
    assert runtime.toxiproxy_url().startswith("http://")
    assert runtime.toxiproxy_url().endswith(":8474")


def test_lifecycle_kill_restart_keeps_data_and_traces_reach_host(
    runtime: DockerRuntime,
) -> None:
    run_dir = run_dir_of(runtime)
    runtime.start(node_spec(runtime, run_dir, "srv"))
    wait_until(lambda: bound(runtime, "srv"), what="srv to bind 5555")
    assert runtime.is_running("srv")
    assert runtime.exit_code("srv") is None
    first = boots(run_dir, "srv")
    assert len(first) == 1 and first[0]["found"] is False
    # The container's CLOCK_MONOTONIC is the host's: its t sits inside our window.
    assert 0 <= first[0]["t"] <= time.monotonic() - T0

    runtime.pause("srv")
    assert runtime.is_paused("srv")
    assert runtime.is_running("srv"), "a paused node is still alive, as with SIGSTOP"
    runtime.resume("srv")
    wait_until(lambda: not runtime.is_paused("srv"), what="unpause")

    runtime.kill("srv")
    wait_until(lambda: runtime.exit_code("srv") is not None, what="exit after kill")
    assert runtime.exit_code("srv") == 137
    assert not runtime.is_running("srv")
    assert ("srv", 137) in [(node, code) for node, code, _ in runtime.poll_exits()]
    assert runtime.poll_exits() == [], "an exit is reported once"

    runtime.start(node_spec(runtime, run_dir, "srv", incarnation=1))
    wait_until(lambda: len(boots(run_dir, "srv")) == 2, what="second boot")
    second = boots(run_dir, "srv")[1]
    assert second["found"] is True, "the data volume must survive a kill and restart"
    assert second["incarnation"] == "1", "a restart runs with the new spec's environment"

    runtime.stop("srv", timeout=5)
    assert runtime.exit_code("srv") == 0, "SIGTERM handled -> clean exit"


def test_kill_of_a_paused_node(runtime: DockerRuntime) -> None:
    run_dir = run_dir_of(runtime)
    runtime.start(node_spec(runtime, run_dir, "frozen"))
    wait_until(lambda: bound(runtime, "frozen"), what="bind")
    runtime.pause("frozen")
    runtime.kill("frozen")
    wait_until(lambda: runtime.exit_code("frozen") is not None, what="exit")
    assert not runtime.is_running("frozen")


def test_everything_is_labelled_and_teardown_leaves_nothing(
    runtime: DockerRuntime, docker_engine: Any
) -> None:
    run_dir = run_dir_of(runtime)
    runtime.start(node_spec(runtime, run_dir, "a"))
    wait_until(lambda: bound(runtime, "a"), what="a to bind")
    run_id = runtime._run_id
    flt = {"label": f"{LABEL_INSTANCE}={runtime.network_name}"}
    containers = docker_engine.containers.list(all=True, filters=flt)
    networks = docker_engine.networks.list(filters=flt)
    volumes = docker_engine.volumes.list(filters=flt)
    assert len(containers) == 2  # the node and Toxiproxy
    assert len(networks) == 1 and len(volumes) == 1
    for labels in [c.labels for c in containers] + [n.attrs["Labels"] for n in networks] + [
        v.attrs["Labels"] for v in volumes
    ]:
        assert labels[LABEL_MANAGED] == "1"
        assert labels[LABEL_RUN] == run_id
        assert labels[LABEL_OWNER_PID] == str(os.getpid())
    assert leftovers(docker_engine, run_id)

    runtime.teardown()
    assert leftovers(docker_engine, run_id) == []
    log = (run_dir / "logs" / "a.log").read_text()
    assert "serving" in log, "container output must land in logs/<node>.log"
    runtime.teardown()  # idempotent


def test_live_owners_are_spared_and_dead_ones_reaped(
    runtime: DockerRuntime, docker_engine: Any
) -> None:
    """The reaper removes only what a dead harness left."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = dead.stdout.strip()
    labels = {LABEL_MANAGED: "1", LABEL_RUN: "ghost", LABEL_INSTANCE: "zchaos-ghost-test",
              LABEL_OWNER_PID: dead_pid, "zchaos.owner-start": "1",
              "zchaos.owner-host": socket.gethostname()}
    network = docker_engine.networks.create("zchaos-ghost-test", labels=labels)
    volume = docker_engine.volumes.create("zchaos-ghost-test-data", labels=labels)
    try:
        removed = ContainerReaper(docker_engine).reap_dead_runs()
        # Any docker run's setup reaps dead owners' leftovers, so a run of
        # another test on the same engine may have taken one first: each
        # ghost must be reaped by us or be gone already, never left.
        gone_network = not docker_engine.networks.list(names=["zchaos-ghost-test"])
        gone_volume = "zchaos-ghost-test-data" not in {
            v.name for v in docker_engine.volumes.list(filters={"name": "zchaos-ghost-test"})}
        assert "network zchaos-ghost-test" in removed or gone_network
        assert "volume zchaos-ghost-test-data" in removed or gone_volume
        assert leftovers(docker_engine, "ghost") == []
        # Our own run has a live owner (this process): untouched.
        assert docker_engine.networks.list(names=[runtime.network_name])
        assert f"container {runtime._toxiproxy.name}" not in removed
    finally:
        for thing in (network, volume):
            try:
                thing.remove()
            except Exception:
                pass


HARNESS_SCRIPT = """
import sys, time
from pathlib import Path
from harness.runtime.docker import DockerRuntime
from harness.runtime.base import NodeSpec
stub = {stub!r}
rt = DockerRuntime(image={image!r}, toxiproxy_image="embedded", toxiproxy_command=stub)
rt.setup(Path({run_dir!r}), {run_id!r})
rt.start(NodeSpec("victim", ["{{python}}", "-c", "import time; time.sleep(600)"],
                  data_dir=Path({run_dir!r}) / "data" / "victim"))
rt.container_ip("victim")  # waits for the queued start
print("ready", flush=True)
time.sleep(600)
"""


def test_sigkilled_harness_leaves_nothing_after_clean(
    docker_engine: Any, tmp_path: Path
) -> None:
    """SIGKILL the process that owns a run; `zchaos clean`'s reaper removes its resources."""
    run_id = f"killed-harness-{os.getpid()}"
    script = HARNESS_SCRIPT.format(stub=TOXIPROXY_STUB, image=IMAGE,
                                   run_dir=str(tmp_path / "run"), run_id=run_id)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", f"harness stand-in failed: {line!r}"
        assert len(leftovers(docker_engine, run_id)) == 4  # node, toxiproxy, network, volume
        proc.kill()
        proc.wait(timeout=10)
        # Nothing removed them: the harness died without its finally/atexit.
        assert len(leftovers(docker_engine, run_id)) == 4
        out = subprocess.run([sys.executable, "-c",
                              "from harness.cli import main; raise SystemExit(main(['clean']))"],
                             capture_output=True, text=True, timeout=120,
                             cwd=Path(__file__).resolve().parents[2])
        assert out.returncode == 0, out.stderr
        assert leftovers(docker_engine, run_id) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        ContainerReaper(docker_engine).reap_dead_runs()


def test_relative_paths_resolve_as_on_the_host(
    runtime: DockerRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`zchaos run --report-dir reports` hands nodes relative trace paths."""
    run_dir = run_dir_of(runtime)
    monkeypatch.chdir(run_dir.parent)
    relative = Path(run_dir.name) / "traces" / "rel.jsonl"
    (run_dir / "traces").mkdir(parents=True, exist_ok=True)
    runtime.start(NodeSpec(
        name="rel",
        argv=["{python}", "-c", "import os; open(os.environ['ZCHAOS_TRACE'], 'a').write('x\\n')"],
        env={"ZCHAOS_TRACE": str(relative)},
    ))
    wait_until(lambda: runtime.exit_code("rel") is not None, what="the node to finish")
    assert runtime.exit_code("rel") == 0, (run_dir / "logs").glob("*")
    assert (run_dir / "traces" / "rel.jsonl").read_text() == "x\n"
