"""The container side of the reaper: labelled resources of harnesses that died.

``DockerRuntime.teardown`` removes a run's containers, network and volumes
after success, failure and Ctrl-C; a harness that was SIGKILLed leaves them
here, to :class:`ContainerReaper`, which the next docker run's ``setup`` and
``zchaos clean`` call. Same verbs as the process reaper
(:class:`harness.reaper.Reaper`); ownership is read from the labels of
:mod:`harness.runtime.docker_engine`.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from harness.reaper import is_same_process
from harness.runtime.docker_engine import (
    LABEL_INSTANCE,
    LABEL_MANAGED,
    LABEL_OWNER_HOST,
    LABEL_OWNER_PID,
    LABEL_OWNER_START,
    LABEL_RUN,
)


def owner_alive(labels: dict[str, str]) -> bool:
    """Whether the harness that created a resource still runs.

    Resources of another host (a shared engine) count as alive: we cannot
    see that host's processes, so we never touch them without ``--all``.
    """
    if labels.get(LABEL_OWNER_HOST) != socket.gethostname():
        return True
    try:
        pid = int(labels.get(LABEL_OWNER_PID, ""))
    except ValueError:
        return False
    start_text = labels.get(LABEL_OWNER_START, "")
    start = int(start_text) if start_text.isdigit() else None
    return is_same_process(pid, start)


def _labels(resource: Any) -> dict[str, str]:
    labels = getattr(resource, "labels", None)
    if isinstance(labels, dict):
        return labels
    return resource.attrs.get("Labels") or {}


class ContainerReaper:
    """Containers, networks and volumes with zchaos labels whose owning harness is gone.

    ``everything`` widens it to every zchaos-labelled resource, live owner or
    not, ``zchaos compose`` stacks included (``zchaos clean --all``);
    ``keep_instance`` protects one runtime instance (the caller's own run).
    """

    KINDS = ("container", "network", "volume")

    def __init__(self, client: Any, everything: bool = False,
                 keep_instance: str | None = None) -> None:
        self.client = client
        self.everything = everything
        self.keep_instance = keep_instance

    def _doomed(self, labels: dict[str, str]) -> bool:
        if self.keep_instance and labels.get(LABEL_INSTANCE) == self.keep_instance:
            return False
        if LABEL_OWNER_PID not in labels:
            return self.everything  # made by `zchaos compose` stacks: only with --all
        return self.everything or not owner_alive(labels)

    def _candidates(self) -> list[tuple[str, Any]]:
        label = {"label": LABEL_MANAGED}
        found: list[tuple[str, Any]] = []
        # ignore_removed: a container another run removes between the SDK's
        # listing and its per-container inspect is not an error (parallel -j).
        containers = self.client.containers.list(all=True, filters=label, ignore_removed=True)
        found += [("container", c) for c in containers]
        found += [("network", n) for n in self.client.networks.list(filters=label)]
        found += [("volume", v) for v in self.client.volumes.list(filters=label)]
        return [(kind, r) for kind, r in found if self._doomed(_labels(r))]

    def orphans(self) -> list[str]:
        return [f"{kind} {resource.name}" for kind, resource in self._candidates()]

    def reap_dead_runs(self) -> list[str]:
        """Remove them (containers first: a network in use cannot go); ``kind name`` each."""
        removed: list[str] = []
        for kind, resource in self._candidates():
            with contextlib.suppress(Exception):
                if kind == "container":
                    resource.remove(force=True, v=True)
                elif kind == "volume":
                    resource.remove(force=True)
                else:
                    resource.remove()
                removed.append(f"{kind} {resource.name}")
        return removed


def orphans(client: Any) -> list[str]:
    """Resources whose owning harness is dead: what `zchaos clean` would remove.

    CI asserts this is empty after a tier: a live run of someone else does not
    count as a leak, a dead one always does (a `zchaos compose` stack, which
    has no owning harness, is neither).
    """
    return ContainerReaper(client).orphans()


def leftovers(client: Any, run_id: str | None = None) -> list[str]:
    """Names of every zchaos-labelled resource (of one run, if given): tests and CI use it."""
    filters = {"label": [LABEL_MANAGED] + ([f"{LABEL_RUN}={run_id}"] if run_id else [])}
    containers = client.containers.list(all=True, filters=filters, ignore_removed=True)
    found = [f"container {c.name}" for c in containers]
    found += [f"network {n.name}" for n in client.networks.list(filters=filters)]
    found += [f"volume {v.name}" for v in client.volumes.list(filters=filters)]
    return found
