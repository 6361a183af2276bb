"""Why each node process ended, read from the history.

Every process end is a ``lifecycle exit`` event (with its true time and
status). This module says what caused it, so a report can tell a planned
death from a crash:

- ``fault``: a kill, stop or restart of that node took effect since the
  process started;
- ``harness``: the run was over (the harness stopping the workload, or
  teardown);
- ``finished``: a client that completed its workload and exited 0;
- ``crashed``: a client that exited with a non-zero status on its own;
- ``exited``: a server that exited on its own (any status): either a bug or
  a deliberate stop (Binary Star's fatal dual-active), worth a look either way.

A dead client among several is reported by name instead of silently
shrinking the workload.
"""

from __future__ import annotations

import math
import signal
from collections.abc import Mapping, Sequence
from typing import Any

Event = dict[str, Any]

_ENDING_FAULTS = frozenset({"kill", "stop", "restart"})
_RUN_OVER = frozenset({"stopping", "end", "interrupted", "error"})


def describe_status(code: int) -> str:
    """``code 3``, ``signal SIGKILL`` (a negative Popen status), ``code 137 (SIGKILL)``."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    if code > 128:
        try:
            return f"code {code} ({signal.Signals(code - 128).name})"
        except ValueError:
            pass
    return f"code {code}"


def _fault_targets(event: Event) -> list[str]:
    targets = event.get("targets")
    if isinstance(targets, list):
        return [t for t in targets if isinstance(t, str)]
    text = event.get("target")
    if not isinstance(text, str):
        return []
    return [part.strip() for part in text.replace("|", ",").split(",") if part.strip()]


def exit_records(history: Sequence[Event], kinds: Mapping[str, str]) -> list[dict[str, Any]]:
    """One record per process end: node, code, t, cause and a sentence for the summary."""
    last_start: dict[str, float] = {}
    over_at = math.inf
    ending: dict[str, list[float]] = {}  # node -> times of faults that end it
    records: list[dict[str, Any]] = []
    for e in history:
        kind = e.get("type")
        if kind == "run" and e.get("event") in _RUN_OVER:
            over_at = min(over_at, float(e["t"]))
        elif kind == "fault" and e.get("phase", "apply") == "apply" \
                and e.get("fault") in _ENDING_FAULTS:
            for node in _fault_targets(e):
                ending.setdefault(node, []).append(float(e["t"]))
        elif kind == "lifecycle" and isinstance(e.get("target"), str):
            node, t = e["target"], float(e["t"])
            if e.get("event") == "start":
                last_start[node] = t
                continue
            if e.get("event") != "exit":
                continue
            code = e.get("code")
            code = int(code) if isinstance(code, int) and not isinstance(code, bool) else 0
            began = last_start.get(node, -math.inf)
            role = kinds.get(node, "server")
            status = describe_status(code)
            if any(began <= f <= t + 1e-6 for f in ending.get(node, [])):
                cause = "fault"
                sentence = f"{node} ended by a fault at {t:.3f} s ({status})"
            elif t >= over_at:
                cause = "harness"
                sentence = f"{node} stopped by the harness at {t:.3f} s ({status})"
            elif role == "client" and code == 0:
                cause = "finished"
                sentence = f"{node} finished its workload at {t:.3f} s"
            elif role == "client":
                cause = "crashed"
                sentence = (f"{node} (a client) died on its own at {t:.3f} s with {status}; "
                            f"its share of the workload stopped there (logs/{node}.log)")
            else:
                cause = "exited"
                sentence = (f"{node} (a server) exited on its own at {t:.3f} s with {status}; "
                            f"no fault asked it to (logs/{node}.log)")
            records.append({"node": node, "code": code, "t": round(t, 6), "cause": cause,
                            "sentence": sentence})
    return records
