"""Talking to a Docker engine: the client, images, names, labels and clocks.

Everything here is shared by the docker runtime, its reaper, its Toxiproxy
container, the compose-stack adapter and ``zchaos compose``: what a zchaos
resource is called, how it is labelled, and how the engine's answers are read.

Labels are the ownership record of the docker side (the process side keeps a
ledger file, :mod:`harness.reaper`): every container, network and volume a
run creates names the run and the harness process that owns it (pid and
kernel start time), so a reaper can tell a dead run's leftovers from a live
run of someone else on the same engine.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import socket
import threading
import time
from typing import Any

from harness.reaper import process_start_time

log = logging.getLogger(__name__)

REAL_TOXIPROXY_IMAGE = "ghcr.io/shopify/toxiproxy:2.12.0"
EMBEDDED_TOXIPROXY = "embedded"  # toxiproxy_image value: our image runs `zchaos toxiproxy-server`
TOXIPROXY_API_PORT = 8474
FIRST_BIND_PORT = 5555  # each container has its own network namespace: ports never clash
PULL_TIMEOUT = 60.0  # seconds a missing image may take to pull

# Labels on everything a run creates.
LABEL_MANAGED = "zchaos.managed"
LABEL_RUN = "zchaos.run"
LABEL_INSTANCE = "zchaos.instance"  # unique per DockerRuntime (a run id may repeat)
LABEL_OWNER_PID = "zchaos.owner-pid"
LABEL_OWNER_START = "zchaos.owner-start"
LABEL_OWNER_HOST = "zchaos.owner-host"
LABEL_NODE = "zchaos.node"
LABEL_KIND = "zchaos.kind"  # node | toxiproxy | data


class DockerUnavailable(RuntimeError):
    """No Docker engine answers, or the image is missing: say what to do next."""


def docker_client() -> Any:
    """A client for the engine named by DOCKER_HOST (default: the local socket)."""
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is a hard dependency
        raise DockerUnavailable("the 'docker' Python package is not installed") from exc
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:
        raise DockerUnavailable(
            f"no Docker engine reachable ({exc}); start dockerd or set DOCKER_HOST"
        ) from exc
    return client


def safe_name(text: str) -> str:
    """``text`` reduced to what Docker accepts in names ([a-zA-Z0-9_.-], no leading punctuation)."""
    cleaned = re.sub(r"[^a-zA-Z0-9_.-]+", "-", text).strip("-_.")
    return cleaned or "x"


def owner_labels() -> dict[str, str]:
    """The labels naming this harness process as the owner of a resource."""
    pid = os.getpid()
    return {
        LABEL_OWNER_PID: str(pid),
        LABEL_OWNER_START: str(process_start_time(pid) or ""),
        LABEL_OWNER_HOST: socket.gethostname(),
    }


def require_image(client: Any, image: str) -> None:
    """Raise :class:`DockerUnavailable` with the build command when ``image`` is missing."""
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound as exc:
        raise DockerUnavailable(
            f"image {image!r} not found; build it with "
            f"`docker build -f compose/Dockerfile -t {image} .` (see docs/docker.md)"
        ) from exc


def image_available(client: Any, image: str, timeout: float = PULL_TIMEOUT) -> bool:
    """Present locally, or pulled now; False when no registry answers within ``timeout``."""
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
        return True
    except ImageNotFound:
        pass
    outcome: list[BaseException | None] = []

    def pull() -> None:
        try:
            client.images.pull(image)
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    # A pull through a blackholing proxy can hang: never let it stall the run.
    puller = threading.Thread(target=pull, name="zchaos-pull", daemon=True)
    puller.start()
    puller.join(timeout)
    if outcome and outcome[0] is None:
        return True
    log.warning("cannot pull %s: %s", image, outcome[0] if outcome else "timed out")
    return False


def finished_at(container: Any) -> float:
    """The container's State.FinishedAt on CLOCK_MONOTONIC (now, if unreadable).

    The engine reports wall-clock times; the trace is on the monotonic clock.
    Both are read once here to convert, which is exact to the wall clock's
    steadiness over the (short) time since the exit.
    """
    now_mono, now_wall = time.monotonic(), time.time()
    raw = str(container.attrs.get("State", {}).get("FinishedAt", ""))
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", raw)
    if match is None:
        return now_mono
    wall = datetime.datetime.fromisoformat(match[1]).replace(
        tzinfo=datetime.UTC).timestamp() + float("0." + (match[2] or "0"))
    ago = now_wall - wall
    return now_mono if not 0 <= ago < 3600 else now_mono - ago  # clocks disagree: now
