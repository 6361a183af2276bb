"""Fixtures of the container tier: skip cleanly when no Docker engine is reachable.

Engine tests never pull: they need the node image built beforehand
(``docker build -f compose/Dockerfile -t zchaos:latest .``, see docs/docker.md)
and stand in a tiny HTTP stub for Toxiproxy where the real API is not needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dockertier import IMAGE, TOXIPROXY_STUB


@pytest.fixture(scope="session")
def docker_engine() -> Any:
    """A docker SDK client, or a skip saying how to get an engine and the image."""
    from harness.runtime.docker_engine import DockerUnavailable, docker_client

    try:
        client = docker_client()
    except DockerUnavailable as exc:
        pytest.skip(f"container tier skipped: {exc}")
    from docker.errors import ImageNotFound

    try:
        client.images.get(IMAGE)
    except ImageNotFound:
        pytest.skip(
            f"container tier skipped: image {IMAGE} missing; build it with "
            f"`docker build -f compose/Dockerfile -t {IMAGE} .`"
        )
    return client


@pytest.fixture
def runtime(docker_engine: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A set-up DockerRuntime (Toxiproxy stubbed), always torn down."""
    from harness.runtime.docker import DockerRuntime

    rt = DockerRuntime(image=IMAGE, toxiproxy_image="embedded",
                       toxiproxy_command=TOXIPROXY_STUB, client=docker_engine)
    run_id = "test-" + request.node.name[:30]
    try:
        rt.setup(tmp_path / "run", run_id)
        yield rt
    finally:
        rt.teardown()
