"""The runtime interface: who owns the node processes (or containers, or pods).

The runner asks a runtime for addresses and lifecycle actions; it never
spawns or signals anything itself. ``local.py`` runs nodes as child processes
on 127.0.0.1, ``docker.py`` as containers on a per-run network. Both expose
the same verbs, so the nemesis maps ``kill``/``stop``/``start``/``restart``/
``pause``/``resume`` straight onto them.

A third runtime is one module: a subclass of :class:`Runtime` implementing
every abstract method below (and :meth:`Runtime.create` if it takes options),
registered under a name with :func:`harness.runtime.register_runtime` or,
from another package, an entry point in the ``zchaos.runtimes`` group
(``kube = "mypkg.kube:KubeRuntime"``). docs/scaling.md walks through a
Kubernetes runtime method by method.

The contract every method keeps, because the runner and the checkers rely on it:

- Times are CLOCK_MONOTONIC of the harness's host. The trace's timeline is
  one clock; a runtime whose nodes live elsewhere must convert (docs/scaling.md).
- Fault verbs act at once and return; a verb on a node that is not running is
  a no-op (as a signal to a dead process), never an error.
- ``teardown`` removes everything the run created, also after a failed
  ``setup``, and never raises; what a SIGKILLed harness leaves must be
  findable by a :class:`harness.reaper.Reaper` (ownership recorded outside the
  harness's memory: a ledger file, labels).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class NodeSpec:
    """Everything needed to (re)start one node.

    ``argv`` is the full command line (built-in role or a user's ``--impl``),
    already holding the --bind/--connect endpoints that this runtime handed
    out through :meth:`Runtime.bind_endpoint` / :meth:`Runtime.proxy_endpoint`.
    """

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None
    autostart: bool = True


class Runtime(ABC):
    """Lifecycle of a run's nodes plus the addresses they use.

    One instance serves one scenario run: ``setup`` once, then addresses
    (while the topology is wired), then lifecycle verbs, then ``teardown``.
    """

    name: str = "abstract"

    @classmethod
    def create(cls, *, state_dir: Path, toxiproxy_url: str | None = None,
               **options: Any) -> Runtime:
        """Build one for a run, from what ``zchaos run`` knows.

        ``state_dir`` holds reaper ledgers of live harnesses; ``toxiproxy_url``
        is the session's embedded Toxiproxy (local runtime only, else None);
        ``options`` are the run's runtime options (``image``,
        ``toxiproxy_image``), None when not given. A runtime ignores options
        it has no use for. The default takes none.
        """
        return cls()

    @abstractmethod
    def setup(self, run_dir: Path, run_id: str) -> None:
        """Prepare the run (reap leftovers of dead runs, create networks).

        ``run_dir`` is the run's report folder: nodes write their traces
        there (``ZCHAOS_TRACE``) and ``logs/<node>.log`` belongs there, so it
        must be readable by the harness at the same path the nodes write.
        """

    @abstractmethod
    def toxiproxy_url(self) -> str:
        """Base URL of the Toxiproxy API the nemesis and topology talk to."""

    @abstractmethod
    def bind_endpoint(self, node: str, port_name: str) -> str:
        """The ZMQ endpoint ``node`` binds for ``port_name`` (passed as --bind)."""

    @abstractmethod
    def upstream_address(self, node: str, port_name: str) -> str:
        """host:port of that bind as seen from Toxiproxy (the proxy's upstream)."""

    @abstractmethod
    def proxy_listen(self) -> str:
        """``listen`` to request when creating a proxy (e.g. ``127.0.0.1:0``)."""

    @abstractmethod
    def proxy_endpoint(self, listen: str) -> str:
        """The ZMQ endpoint a node uses to reach a proxy listening on ``listen``."""

    @abstractmethod
    def start(self, spec: NodeSpec) -> None:
        """Start a fresh incarnation of ``spec.name`` (same data dir across restarts).

        May return once the start is queued (docker); :meth:`start_time` then
        tells when it really happened. Raise if the node is already running.
        """

    @abstractmethod
    def stop(self, node: str, timeout: float = 5.0) -> None:
        """SIGTERM (docker stop), then SIGKILL after ``timeout``."""

    @abstractmethod
    def kill(self, node: str) -> None:
        """SIGKILL the node (its whole process tree): no handler runs, nothing flushes."""

    @abstractmethod
    def pause(self, node: str) -> None:
        """Freeze the node (SIGSTOP, cgroup freezer): it holds its sockets and answers nothing."""

    @abstractmethod
    def resume(self, node: str) -> None:
        """Thaw a node frozen by :meth:`pause`."""

    @abstractmethod
    def is_running(self, node: str) -> bool:
        """True while the current incarnation lives (paused counts as running)."""

    @abstractmethod
    def exit_code(self, node: str) -> int | None:
        """The node's exit status once it has exited, else None."""

    def start_time(self, node: str) -> float | None:
        """CLOCK_MONOTONIC at which the node's current incarnation actually started.

        None while a queued start has not happened yet (docker), or when the
        runtime cannot tell; the runner then logs the start once it can.
        """
        return None

    def poll_exits(self) -> list[tuple[str, int] | tuple[str, int, float]]:
        """Processes gone since the last call: (node, status[, CLOCK_MONOTONIC when gone])."""
        return []

    def probe_address(self, node: str, port_name: str) -> tuple[str, int] | None:
        """(host, port) where the harness can TCP-probe that ``node`` has bound ``port_name``.

        The runner waits for servers to accept before starting clients; None
        (the default) means the runtime cannot offer a probe and the runner
        relies on the start alone.
        """
        return None

    @abstractmethod
    def teardown(self) -> None:
        """Remove everything this run created. Idempotent; must never raise."""
