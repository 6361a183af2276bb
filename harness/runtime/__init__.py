"""Runtime selection by name (``--runtime local|docker``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.runtime.base import NodeSpec, Runtime

RUNTIMES = ("local", "docker")

__all__ = ["RUNTIMES", "NodeSpec", "Runtime", "make_runtime"]


def make_runtime(name: str, *, state_dir: Path, toxiproxy_url: str | None = None,
                 **options: Any) -> Runtime:
    if name == "local":
        from harness.runtime.local import LocalRuntime

        if toxiproxy_url is None:
            raise ValueError("the local runtime needs a running Toxiproxy")
        return LocalRuntime(toxiproxy_url=toxiproxy_url, state_dir=state_dir)
    if name == "docker":
        from harness.runtime.docker import DockerRuntime

        return DockerRuntime(
            image=options.get("image") or "zchaos:latest",
            toxiproxy_image=options.get("toxiproxy_image"),
        )
    raise ValueError(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIMES)}")
