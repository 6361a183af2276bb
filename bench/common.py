"""What every benchmark needs: the repo on ``sys.path``, free ports, process memory.

Benches are scripts (``python bench/x_bench.py``), not a package, so each one
does ``sys.path.insert`` on the repo root before importing ``harness`` or
``patterns``; importing this module does that once. Figures are always ratios
measured in one run (see README "Figures"), so nothing here times anything.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.runtime.local import free_port  # noqa: E402

__all__ = ["ROOT", "cpu_seconds", "free_port", "rss_kib"]


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid`` in KiB (``VmRSS`` of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
