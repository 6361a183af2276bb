"""The Toxiproxy container of a docker run: which image, how it starts, when it answers.

Every link of a docker run goes through this one container on the run's
network. The real Toxiproxy image is preferred; where no registry answers
(air-gapped CI) the node image's embedded server (``zchaos toxiproxy-server``)
speaks the same HTTP API, so the nemesis cannot tell them apart.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from typing import Any

from harness.runtime.docker_engine import (
    EMBEDDED_TOXIPROXY,
    REAL_TOXIPROXY_IMAGE,
    TOXIPROXY_API_PORT,
    DockerUnavailable,
    image_available,
)

log = logging.getLogger(__name__)

READY_TIMEOUT = 30.0


def embedded_command() -> list[str]:
    """The node image's own Toxiproxy-compatible server, listening on the API port."""
    return ["zchaos", "toxiproxy-server", "--host", "0.0.0.0", "--port", str(TOXIPROXY_API_PORT)]


def toxiproxy_command(client: Any, node_image: str, wanted: str | None,
                      override: list[str] | None = None) -> tuple[str, list[str]]:
    """(image, command) of the Toxiproxy container.

    ``wanted``: None = the real Toxiproxy (pulled if missing, else the embedded
    server), ``"embedded"`` (or the node image) = our server, anything else = a
    Toxiproxy image. ``override`` replaces the command (a custom build, a stub).
    """
    if wanted in (EMBEDDED_TOXIPROXY, node_image):
        return node_image, override or embedded_command()
    image = wanted or REAL_TOXIPROXY_IMAGE
    if image_available(client, image):
        return image, override or ["-host=0.0.0.0", f"-port={TOXIPROXY_API_PORT}"]
    log.warning("Toxiproxy image %s unavailable; using the embedded server", image)
    return node_image, embedded_command()


def container_ip(container: Any, network: str) -> str:
    """The container's address on ``network`` ('' if it has none yet)."""
    container.reload()
    return str(container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"] or "")


def wait_ready(container: Any, url: str, timeout: float = READY_TIMEOUT) -> None:
    """Until ``url``/version answers 200; raise with the container's log if it never does."""
    deadline = time.monotonic() + timeout
    probe = f"{url}/version"
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(probe, timeout=1.0) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        container.reload()
        if container.status not in ("created", "running"):
            break
        time.sleep(0.1)
    logs = container.logs(tail=20).decode(errors="replace")
    raise DockerUnavailable(
        f"Toxiproxy container did not answer on {probe} ({last}); its log:\n{logs}"
    )
