"""Leave nothing behind: a ledger of the processes a harness run started.

Teardown in ``finally`` covers success, failures, exceptions and Ctrl-C, but
not a harness that is itself SIGKILLed. So every process group we start is
written to ``<state_dir>/<harness pid>.json`` together with its kernel start
time; the next run (or ``zchaos clean``) reads the ledgers of harnesses that
are no longer alive and kills what they left. The start time guards against
PID reuse: a recorded PID is only signalled if it still names the same process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from pathlib import Path


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def is_same_process(pid: int, start_time: int | None) -> bool:
    """True when ``pid`` is alive and is the process we recorded (not a reused PID)."""
    current = process_start_time(pid)
    return current is not None and (start_time is None or current == start_time)


_LEDGERS: dict[Path, Ledger] = {}
_LEDGERS_LOCK = threading.Lock()


def ledger_for(state_dir: Path) -> Ledger:
    """The one ledger of this process for ``state_dir`` (all writers share one file)."""
    key = state_dir.resolve()
    with _LEDGERS_LOCK:
        if key not in _LEDGERS:
            _LEDGERS[key] = Ledger(key)
        return _LEDGERS[key]


class Ledger:
    """The process groups one harness process has started and not yet reaped.

    Use :func:`ledger_for`: two instances on one directory would overwrite
    each other's file.
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / f"{os.getpid()}.json"
        self._lock = threading.Lock()
        self._entries: dict[int, dict[str, object]] = {}

    def add(self, pid: int, what: str) -> None:
        with self._lock:
            self._entries[pid] = {"pid": pid, "what": what, "start": process_start_time(pid)}
            self._write()

    def remove(self, pid: int) -> None:
        with self._lock:
            self._entries.pop(pid, None)
            self._write()

    def _write(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if not self._entries:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        doc = {
            "harness_pid": os.getpid(),
            "harness_start": process_start_time(os.getpid()),
            "groups": list(self._entries.values()),
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, self.path)


def reap_dead_runs(state_dir: Path) -> list[str]:
    """Kill the process groups left by harness processes that died; return what was reaped."""
    reaped: list[str] = []
    if not state_dir.is_dir():
        return reaped
    for ledger in sorted(state_dir.glob("*.json")):
        try:
            doc = json.loads(ledger.read_text())
        except (OSError, ValueError):
            ledger.unlink(missing_ok=True)
            continue
        owner = int(doc.get("harness_pid", -1))
        if owner == os.getpid() or is_same_process(owner, doc.get("harness_start")):
            continue  # a live harness (maybe this one): its processes are not ours to touch
        for group in doc.get("groups", []):
            pid = int(group["pid"])
            if is_same_process(pid, group.get("start")):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGCONT)
                    os.killpg(pid, signal.SIGKILL)
                reaped.append(f"{group.get('what', '?')} (pid {pid})")
        ledger.unlink(missing_ok=True)
    return reaped
