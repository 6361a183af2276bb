"""Port reservations: two scenarios running at once never get the same node port.

The local runtime picks a node's port long before the node binds it (the
port goes on the node's command line and into a Toxiproxy upstream). A port
that is merely "free a moment ago" is fine for one scenario at a time, but
with ``zchaos run -j`` (or pytest-xdist workers, or two ``zchaos`` commands)
a sibling could pick the same port in between. So a picked port is
*reserved* until its scenario is over:

- inside this process, in a set guarded by a lock (threads);
- across processes, by a POSIX record lock on the byte numbered ``port`` of
  one shared lock file (``$TMPDIR/zchaos-ports.lock``). The kernel drops
  those locks when their process dies, so a SIGKILLed harness never leaves a
  stale reservation behind, and there is no ledger to clean. POSIX locks are
  per process (a process never conflicts with itself), which is why the
  in-process set is needed as well; and a process loses all its locks on a
  file when it closes *any* descriptor of it, so the descriptor stays open
  for the life of the process.

Ports are drawn below the kernel's ephemeral range (as
``harness.runtime.local.free_port`` explains: there only an explicit bind
can take one), and each candidate is also test-bound so a port some other
program uses is skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
import threading
import weakref
from pathlib import Path

LOOPBACK = "127.0.0.1"
PORT_FLOOR = 20000
ATTEMPTS = 256

_PICK = random.SystemRandom()
_LOCK = threading.Lock()
_HELD: dict[int, int] = {}  # port -> owner key (id of the owner object)
_FD: int | None = None
_FD_PID: int | None = None  # a forked child must open its own descriptor


def lock_path() -> Path:
    """The shared lock file (``ZCHAOS_PORT_LOCK`` overrides it, for tests)."""
    return Path(os.environ.get("ZCHAOS_PORT_LOCK")
                or Path(tempfile.gettempdir()) / "zchaos-ports.lock")


def _ephemeral_start() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _fd() -> int | None:
    """This process's descriptor of the lock file (None: no lock file possible)."""
    global _FD, _FD_PID
    if _FD is None or os.getpid() != _FD_PID:
        try:
            _FD = os.open(lock_path(), os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            _FD = None
        _FD_PID = os.getpid()
    return _FD


def _lock_byte(port: int) -> bool:
    fd = _fd()
    if fd is None:
        return True  # no shared file: the in-process set and the test bind still hold
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port)
    except OSError:
        return False
    return True


def _unlock_byte(port: int) -> None:
    fd = _fd()
    if fd is not None:
        with contextlib.suppress(OSError):
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, port)


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def reserve_port(owner: object, host: str = LOOPBACK) -> int:
    """A port free now and reserved for ``owner`` until :func:`release` (or ``owner`` is gone).

    Falls back to the kernel's choice (an ephemeral port, unreserved) only
    when no port below the ephemeral range could be had.
    """
    key = id(owner)
    top = _ephemeral_start() - 1
    for _ in range(ATTEMPTS if top > PORT_FLOOR else 0):
        port = _PICK.randint(PORT_FLOOR, top)
        with _LOCK:
            if port in _HELD or not _lock_byte(port):
                continue
            if not _bindable(host, port):
                _unlock_byte(port)
                continue
            first = key not in _HELD.values()
            _HELD[port] = key
        if first:
            with contextlib.suppress(TypeError):  # owners that cannot be weakly referenced
                weakref.finalize(owner, _release_key, key)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _release_key(key: int) -> None:
    with _LOCK:
        for port in [p for p, k in _HELD.items() if k == key]:
            del _HELD[port]
            _unlock_byte(port)


def release(owner: object) -> None:
    """Give back every port reserved for ``owner`` (its scenario is over)."""
    _release_key(id(owner))


def held() -> dict[int, int]:
    """Ports this process holds now (port -> owner key): for tests and diagnostics."""
    with _LOCK:
        return dict(_HELD)
