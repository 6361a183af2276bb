"""Port reservations (harness/ports.py): no two holders, in threads or in processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from harness import ports

ROOT = Path(__file__).resolve().parents[2]


class Owner:
    """Something a reservation belongs to (a runtime, in the harness)."""


@pytest.fixture(autouse=True)
def private_lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZCHAOS_PORT_LOCK", str(tmp_path / "ports.lock"))
    monkeypatch.setattr(ports, "_FD", None)  # open the test's own file


def test_threads_never_share_a_port() -> None:
    owners = [Owner() for _ in range(8)]
    got: list[list[int]] = [[] for _ in owners]

    def take(i: int) -> None:
        got[i] = [ports.reserve_port(owners[i]) for _ in range(40)]

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(owners))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    flat = [p for some in got for p in some]
    assert len(flat) == len(set(flat)) == 320
    low = ports.PORT_FLOOR
    assert all(low <= p < ports._ephemeral_start() for p in flat)
    for owner in owners:
        ports.release(owner)
    assert not set(flat) & set(ports.held())  # other tests' runtimes may still hold theirs


def test_release_gives_ports_back_and_a_dropped_owner_releases_itself() -> None:
    owner = Owner()
    port = ports.reserve_port(owner)
    assert port in ports.held()
    ports.release(owner)
    assert port not in ports.held()
    other = Owner()
    taken = ports.reserve_port(other)
    del other  # the finalizer gives it back
    assert taken not in ports.held()


def test_a_port_in_use_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        used = busy.getsockname()[1]
        real = ports._PICK.randint
        drawn: list[int] = []

        def draw(a: int, b: int) -> int:  # the busy port first, then ordinary draws
            drawn.append(used if not drawn else real(a, b))
            return drawn[-1]

        monkeypatch.setattr(ports, "_ephemeral_start", lambda: 65535)
        monkeypatch.setattr(ports._PICK, "randint", draw)
        owner = Owner()
        assert ports.reserve_port(owner) != used
        assert drawn[0] == used and len(drawn) >= 2
        ports.release(owner)


CHILD = textwrap.dedent("""
    import sys, time
    from harness import ports
    class Owner: pass
    owner = Owner()
    got = [ports.reserve_port(owner) for _ in range(60)]
    print(" ".join(map(str, got)), flush=True)
    sys.stdin.read()  # hold them until the parent has collected every process's ports
""")


def test_processes_never_share_a_port(tmp_path: Path) -> None:
    env = {**os.environ, "ZCHAOS_PORT_LOCK": str(tmp_path / "ports.lock"),
           "PYTHONPATH": str(ROOT)}
    # a narrow range, so that without the shared lock file collisions would be near certain
    env_range = textwrap.dedent("""
        import harness.ports as p
        p._ephemeral_start = lambda: p.PORT_FLOOR + 400
    """)
    procs = [subprocess.Popen([sys.executable, "-c", env_range + CHILD], env=env, cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    try:
        seen: list[int] = []
        for proc in procs:
            assert proc.stdout is not None
            seen += [int(p) for p in proc.stdout.readline().split()]
    finally:
        for proc in procs:
            proc.communicate("", timeout=30)
    assert len(seen) == 240
    assert len(set(seen)) == len(seen), "two processes were given the same port"


def test_a_dead_process_leaves_no_reservation(tmp_path: Path) -> None:
    env = {**os.environ, "ZCHAOS_PORT_LOCK": str(tmp_path / "ports.lock"),
           "PYTHONPATH": str(ROOT)}
    code = ("from harness import ports\nclass O: pass\no = O()\n"
            "print(ports.reserve_port(o))\nimport os; os._exit(0)")  # no release, no cleanup
    port = int(subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout)
    assert ports._lock_byte(port), "the kernel should have dropped the dead process's lock"
    ports._unlock_byte(port)
