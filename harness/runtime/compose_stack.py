"""The Runtime verbs over a running ``zchaos compose`` stack (``zchaos nemesis``).

A stack exported by ``zchaos compose`` is started by the user with
``docker compose up``; the nemesis then replays a run's faults on it through
this adapter, which finds the stack's containers by their labels.
"""

from __future__ import annotations

import contextlib
import math
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from harness.runtime.base import NodeSpec, Runtime
from harness.runtime.docker_engine import LABEL_NODE, TOXIPROXY_API_PORT, DockerUnavailable


class ComposeStackRuntime(Runtime):
    """The Runtime verbs over a running ``zchaos compose`` stack, for ``zchaos nemesis``.

    The stack is already wired (compose_export fixed every address), so this
    adapter only finds the stack's containers by label and acts on them;
    ``start`` of a node whose container was never created (``start: false``,
    a compose profile) asks the compose CLI to create it.
    """

    name = "compose"

    def __init__(self, client: Any, stack: str, compose_dir: Path | None = None,
                 project: str | None = None) -> None:
        self.client = client
        self.stack = stack
        self.compose_dir = compose_dir
        self.project = project

    def _find(self, node: str) -> Any | None:
        filters = {"label": [f"zchaos.stack={self.stack}", f"{LABEL_NODE}={node}"]}
        if self.project:
            filters["label"].append(f"com.docker.compose.project={self.project}")
        found = self.client.containers.list(all=True, filters=filters, ignore_removed=True)
        return found[0] if found else None

    def wait_running(self, timeout: float = 60.0) -> None:
        """Until the stack's Toxiproxy answers (the stack is up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proxy = self._find("toxiproxy")
            if proxy is not None and proxy.status == "running":
                if self.project is None:
                    self.project = proxy.labels.get("com.docker.compose.project")
                try:
                    with urllib.request.urlopen(f"{self.toxiproxy_url()}/version", timeout=1):
                        return
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.2)
        raise DockerUnavailable(
            f"stack {self.stack!r} is not running (no Toxiproxy answering after {timeout:g}s); "
            "run `docker compose up -d` in its folder first"
        )

    def toxiproxy_url(self) -> str:
        proxy = self._find("toxiproxy")
        if proxy is None:
            raise DockerUnavailable(f"stack {self.stack!r} has no toxiproxy container")
        networks = proxy.attrs["NetworkSettings"]["Networks"]
        ip = next((n["IPAddress"] for n in networks.values() if n.get("IPAddress")), "")
        return f"http://{ip}:{TOXIPROXY_API_PORT}"

    # The stack is wired already: address verbs have nothing to hand out.
    def setup(self, run_dir: Path, run_id: str) -> None:
        return None

    def bind_endpoint(self, node: str, port_name: str) -> str:
        raise NotImplementedError("a compose stack is wired by `zchaos compose`")

    def upstream_address(self, node: str, port_name: str) -> str:
        raise NotImplementedError("a compose stack is wired by `zchaos compose`")

    def proxy_listen(self) -> str:
        raise NotImplementedError("a compose stack is wired by `zchaos compose`")

    def proxy_endpoint(self, listen: str) -> str:
        raise NotImplementedError("a compose stack is wired by `zchaos compose`")

    def start(self, spec: NodeSpec) -> None:
        container = self._find(spec.name)
        if container is not None:
            container.start()
            return
        self._compose_up(spec.name)

    def _compose_up(self, node: str) -> None:
        import shutil
        import subprocess

        if self.compose_dir is None:
            raise DockerUnavailable(f"node {node} has no container and no compose folder")
        base = ["docker-compose"] if shutil.which("docker-compose") else ["docker", "compose"]
        cmd = [*base, "-f", str(self.compose_dir / "docker-compose.yml")]
        if self.project:
            cmd += ["-p", self.project]
        cmd += ["--profile", "deferred", "up", "-d", "--no-deps", node]
        subprocess.run(cmd, check=True, cwd=self.compose_dir, timeout=120)

    def stop(self, node: str, timeout: float = 5.0) -> None:
        container = self._find(node)
        if container is not None and container.status in ("running", "paused"):
            if container.status == "paused":
                container.unpause()
            container.stop(timeout=max(1, math.ceil(timeout)))

    def kill(self, node: str) -> None:
        container = self._find(node)
        if container is not None and container.status in ("running", "paused"):
            container.kill()
            if container.status == "paused":
                with contextlib.suppress(Exception):
                    container.unpause()

    def pause(self, node: str) -> None:
        container = self._find(node)
        if container is not None and container.status == "running":
            container.pause()

    def resume(self, node: str) -> None:
        container = self._find(node)
        if container is not None and container.status == "paused":
            container.unpause()

    def is_running(self, node: str) -> bool:
        container = self._find(node)
        return container is not None and container.status in ("running", "paused")

    def exit_code(self, node: str) -> int | None:
        container = self._find(node)
        if container is None or container.status not in ("exited", "dead"):
            return None
        return int(container.attrs["State"]["ExitCode"])

    def teardown(self) -> None:
        return None  # the stack belongs to the user: `docker compose down -v` removes it
