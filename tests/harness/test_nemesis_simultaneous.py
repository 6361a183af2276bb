"""One fault on several nodes kills them at once, not one reap after another."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from harness.nemesis import Nemesis

REAP_S = 0.3  # what one kill took on a busy machine (the node must be reaped)


class SlowKillRuntime:
    def __init__(self) -> None:
        self.killed: list[tuple[str, float]] = []
        self.lock = threading.Lock()

    def kill(self, node: str) -> None:
        with self.lock:
            self.killed.append((node, time.monotonic()))
        if node == "bad":
            raise RuntimeError("cannot kill bad")
        time.sleep(REAP_S)


def _fault(targets: list[str]) -> SimpleNamespace:
    return SimpleNamespace(action="kill", targets=targets, links=[], attributes={},
                           sides=None, stream="both", toxicity=1.0)


def test_six_kills_in_one_fault_happen_together() -> None:
    rt = SlowKillRuntime()
    nemesis = Nemesis(rt, None, lambda name: None, lambda event: None, seed=1)
    workers = [f"worker-{i}" for i in range(1, 7)]
    began = time.monotonic()
    nemesis.apply(0, _fault(workers))
    took = time.monotonic() - began
    assert sorted(node for node, _ in rt.killed) == workers
    signalled = [at for _, at in rt.killed]
    assert max(signalled) - min(signalled) < REAP_S, "a kill waited for the previous reap"
    assert took < 6 * REAP_S


def test_a_failed_kill_still_raises() -> None:
    nemesis = Nemesis(SlowKillRuntime(), None, lambda name: None, lambda event: None, seed=1)
    with pytest.raises(RuntimeError, match="cannot kill bad"):
        nemesis.apply(0, _fault(["worker-1", "bad"]))
