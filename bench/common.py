"""What every benchmark needs: the repo on ``sys.path``, free ports, process memory.

Benches are scripts (``python bench/x_bench.py``), not a package, so each one
does ``sys.path.insert`` on the repo root before importing ``harness`` or
``patterns``; importing this module does that once. Figures are always ratios
measured in one run (see README "Figures"), so nothing here times anything.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.runtime.local import free_port  # noqa: E402

__all__ = ["ROOT", "cpu_seconds", "free_endpoint", "free_port", "free_ports", "percentile",
           "rss_kib", "stop"]


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports that were free a moment ago."""
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def free_endpoint() -> str:
    """``tcp://127.0.0.1:PORT`` on a port that was free a moment ago."""
    return f"tcp://127.0.0.1:{free_port()}"


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


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank: a sample that was measured."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str] | mp.process.BaseProcess,
         timeout: float = 5.0) -> None:
    """SIGTERM a process the bench started (a Popen or a multiprocessing child), SIGKILL
    it if it has not exited after ``timeout``; always reaped."""
    if isinstance(proc, subprocess.Popen):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
