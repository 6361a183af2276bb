"""The runtime interface: who owns the node processes (or containers).

The runner asks a runtime for addresses and lifecycle actions; it never
spawns or signals anything itself. ``local.py`` runs nodes as child processes
on 127.0.0.1, ``docker.py`` as containers on a per-run network. Both expose
the same verbs, so the nemesis maps ``kill``/``stop``/``start``/``restart``/
``pause``/``resume`` straight onto them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path


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
    """Lifecycle of a run's nodes plus the addresses they use."""

    name: str = "abstract"

    @abstractmethod
    def setup(self, run_dir: Path, run_id: str) -> None:
        """Prepare the run (reap leftovers of dead runs, create networks)."""

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
    def start(self, spec: NodeSpec) -> None: ...

    @abstractmethod
    def stop(self, node: str, timeout: float = 5.0) -> None:
        """SIGTERM (docker stop), then SIGKILL after ``timeout``."""

    @abstractmethod
    def kill(self, node: str) -> None: ...

    @abstractmethod
    def pause(self, node: str) -> None: ...

    @abstractmethod
    def resume(self, node: str) -> None: ...

    @abstractmethod
    def is_running(self, node: str) -> bool: ...

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

    @abstractmethod
    def teardown(self) -> None:
        """Remove everything this run created. Idempotent; must never raise."""
