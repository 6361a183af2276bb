"""Leave nothing behind: the reaper vocabulary, and the ledger of processes a run started.

Every runtime leaves things that must go away with the harness process that
made them: process groups (local runtime), containers, networks and volumes
(docker runtime). Each kind has a :class:`Reaper` with the same two verbs:
``reap_dead_runs`` removes what harnesses that are no longer alive left, and
``orphans`` lists it without removing anything (CI asserts it is empty). The
process reaper lives here; the container reaper in
:mod:`harness.runtime.docker_reaper`.

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
from typing import Protocol


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


class Reaper(Protocol):
    """Removes what harness processes that died left behind, of one kind of resource.

    Ownership is always judged the same way: a resource records the pid and
    kernel start time of the harness that made it (a ledger file, or labels),
    and belongs to a dead run when that process no longer exists
    (:func:`is_same_process`). A live harness's resources are never touched.
    """

    def reap_dead_runs(self) -> list[str]:
        """Remove what dead runs left; one human-readable line per thing removed."""
        ...

    def orphans(self) -> list[str]:
        """What :meth:`reap_dead_runs` would remove now, without removing it."""
        ...


class ProcessReaper:
    """The process groups in the ledgers of dead harnesses under ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def _dead_ledgers(self) -> list[tuple[Path, dict[str, object]]]:
        """(ledger file, its document) of every harness that is gone; unreadable files too."""
        found: list[tuple[Path, dict[str, object]]] = []
        if not self.state_dir.is_dir():
            return found
        for ledger in sorted(self.state_dir.glob("*.json")):
            try:
                doc = json.loads(ledger.read_text())
            except (OSError, ValueError):
                found.append((ledger, {}))
                continue
            owner = int(doc.get("harness_pid", -1))
            if owner == os.getpid() or is_same_process(owner, doc.get("harness_start")):
                continue  # a live harness (maybe this one): its processes are not ours to touch
            found.append((ledger, doc))
        return found

    @staticmethod
    def _live_groups(doc: dict[str, object]) -> list[tuple[int, str]]:
        groups = doc.get("groups", [])
        assert isinstance(groups, list)
        return [(int(g["pid"]), f"{g.get('what', '?')} (pid {g['pid']})")
                for g in groups if is_same_process(int(g["pid"]), g.get("start"))]

    def orphans(self) -> list[str]:
        return [what for _ledger, doc in self._dead_ledgers() for _pid, what in
                self._live_groups(doc)]

    def reap_dead_runs(self) -> list[str]:
        """Kill the process groups left by harness processes that died."""
        reaped: list[str] = []
        for ledger, doc in self._dead_ledgers():
            for pid, what in self._live_groups(doc):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGCONT)
                    os.killpg(pid, signal.SIGKILL)
                reaped.append(what)
            ledger.unlink(missing_ok=True)
        return reaped


def reap_dead_runs(state_dir: Path) -> list[str]:
    """``ProcessReaper(state_dir).reap_dead_runs()``: what every run does first."""
    return ProcessReaper(state_dir).reap_dead_runs()
