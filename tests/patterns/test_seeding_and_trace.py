"""Roles' seeded randomness (patterns/common/seeding.py) and torn trace lines (trace.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from patterns.common.seeding import role_random
from patterns.simple_pirate.worker import printable_identity
from patterns.titanic.frames import new_uuid


def _env(monkeypatch: pytest.MonkeyPatch, seed: str | None, node: str, inc: int = 0) -> None:
    if seed is None:
        monkeypatch.delenv("ZCHAOS_SEED", raising=False)
    else:
        monkeypatch.setenv("ZCHAOS_SEED", seed)
    monkeypatch.setenv("ZCHAOS_NODE", node)
    monkeypatch.setenv("ZCHAOS_INCARNATION", str(inc))


def test_same_seed_node_and_incarnation_same_choices(monkeypatch) -> None:
    _env(monkeypatch, "42", "worker-1")
    first = [printable_identity(), new_uuid(role_random("uuid"))]
    again = [printable_identity(), new_uuid(role_random("uuid"))]
    assert first == again
    _env(monkeypatch, "43", "worker-1")
    assert printable_identity() != first[0]
    _env(monkeypatch, "42", "worker-2")
    assert printable_identity() != first[0]
    _env(monkeypatch, "42", "worker-1", inc=1)  # a restart does not repeat its predecessor
    assert printable_identity() != first[0]
    assert role_random("a").random() != role_random("b").random()


def test_without_a_seed_choices_come_from_the_os(monkeypatch) -> None:
    _env(monkeypatch, None, "worker-1")
    assert len({printable_identity() for _ in range(20)}) > 1
    _env(monkeypatch, "not-a-number", "worker-1")
    assert len({new_uuid(role_random("uuid")) for _ in range(5)}) == 5


def test_seeded_generator_is_stable_across_interpreters(tmp_path: Path) -> None:
    """String seeds hash with SHA-512, not hash(): PYTHONHASHSEED must not matter."""
    code = ("from patterns.common.seeding import role_random; "
            "print(role_random('x').getrandbits(64))")
    outs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "ZCHAOS_SEED": "5", "ZCHAOS_NODE": "n", "PYTHONHASHSEED": hash_seed}
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True, cwd=Path(__file__).parents[2]).stdout)
    assert len(outs) == 1


def test_a_restarted_node_starts_on_a_fresh_line(tmp_path: Path) -> None:
    """A predecessor's torn last line must not swallow the next incarnation's first record."""
    trace_file = tmp_path / "client.jsonl"
    trace_file.write_bytes(b'{"t":1.0,"node":"client","type":"invoke","op":"client:1"}\n'
                          b'{"t":1.5,"node":"client","ty')  # killed mid-line
    code = "from patterns.common import trace; trace.emit('invoke', op='client.1:1')"
    env = {**os.environ, "ZCHAOS_TRACE": str(trace_file), "ZCHAOS_NODE": "client",
           "ZCHAOS_T0": "0", "ZCHAOS_INCARNATION": "1"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True,
                   cwd=Path(__file__).parents[2])
    lines = trace_file.read_bytes().split(b"\n")
    assert lines[1] == b'{"t":1.5,"node":"client","ty'  # the torn line, alone
    assert json.loads(lines[2])["op"] == "client.1:1"  # the new record, whole
    assert lines[3] == b""
