"""DockerRuntime decisions that need no engine: names, owners, reaping, Toxiproxy choice."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.reaper import Reaper, process_start_time
from harness.runtime.docker import DockerRuntime, engine_start_time
from harness.runtime.docker_engine import (
    LABEL_INSTANCE,
    LABEL_MANAGED,
    LABEL_OWNER_HOST,
    LABEL_OWNER_PID,
    LABEL_OWNER_START,
    REAL_TOXIPROXY_IMAGE,
    safe_name,
)
from harness.runtime.docker_reaper import ContainerReaper, leftovers, orphans, owner_alive


@given(st.text())
def test_safe_name_is_always_a_valid_docker_name(text: str) -> None:
    name = safe_name(text)
    assert name
    assert name[0].isalnum() and name[0].isascii()
    assert all((c.isalnum() and c.isascii()) or c in "_.-" for c in name)


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def owner(pid: int, start: int | None, host: str | None = None) -> dict[str, str]:
    return {LABEL_OWNER_PID: str(pid), LABEL_OWNER_START: "" if start is None else str(start),
            LABEL_OWNER_HOST: host or socket.gethostname()}


def test_owner_alive_checks_pid_start_time_and_host() -> None:
    me = os.getpid()
    assert owner_alive(owner(me, process_start_time(me)))
    assert not owner_alive(owner(me, (process_start_time(me) or 0) + 1)), "a reused pid"
    assert not owner_alive(owner(dead_pid(), None))
    assert owner_alive(owner(dead_pid(), None, host="another-host")), "never judge other hosts"
    assert not owner_alive({LABEL_OWNER_PID: "garbage", LABEL_OWNER_HOST: socket.gethostname()})


@dataclass
class FakeResource:
    name: str
    labels: dict[str, str]
    removed: bool = False

    @property
    def attrs(self) -> dict[str, Any]:
        return {"Labels": self.labels}

    def remove(self, **_: Any) -> None:
        self.removed = True


@dataclass
class FakeCollection:
    items: list[FakeResource] = field(default_factory=list)

    def list(self, **_: Any) -> list[FakeResource]:
        return [i for i in self.items if LABEL_MANAGED in i.labels]


class FakeClient:
    def __init__(self, containers: list[FakeResource], networks: list[FakeResource],
                 volumes: list[FakeResource]) -> None:
        self.containers = FakeCollection(containers)
        self.networks = FakeCollection(networks)
        self.volumes = FakeCollection(volumes)


def test_reaper_removes_only_dead_owners_unless_everything() -> None:
    me = os.getpid()
    live = {LABEL_MANAGED: "1", LABEL_INSTANCE: "live", **owner(me, process_start_time(me))}
    dead = {LABEL_MANAGED: "1", LABEL_INSTANCE: "dead", **owner(dead_pid(), None)}
    stack = {LABEL_MANAGED: "1", "zchaos.stack": "demo"}  # a `zchaos compose` stack
    things = {kind: [FakeResource(f"{kind}-{n}", dict(lbl)) for n, lbl in
                     (("live", live), ("dead", dead), ("stack", stack))]
              for kind in ("c", "n", "v")}
    client = FakeClient(things["c"], things["n"], things["v"])
    reaper: Reaper = ContainerReaper(client)
    assert orphans(client) == ["container c-dead", "network n-dead", "volume v-dead"]
    assert not any(r.removed for kind in things.values() for r in kind), "orphans only lists"
    assert reaper.reap_dead_runs() == ["container c-dead", "network n-dead", "volume v-dead"]
    assert [r.name for kind in things.values() for r in kind if r.removed] == [
        "c-dead", "n-dead", "v-dead"]
    everything = ContainerReaper(client, everything=True, keep_instance="live").reap_dead_runs()
    assert [w for w in everything if w.startswith("container")] == [
        "container c-dead", "container c-stack"]


class VanishingContainers(FakeCollection):
    """The docker SDK's ``containers.list``: ids first, then one inspect per id.

    A container another run removes between the two makes the SDK raise
    ``NotFound`` unless ``ignore_removed`` is set; parallel runs (``-j``) hit
    this in each other's setup reap and teardown.
    """

    def list(self, ignore_removed: bool = False, **_: Any) -> list[FakeResource]:
        from docker.errors import NotFound

        if not ignore_removed:
            raise NotFound("No such container: removed by another run meanwhile")
        return super().list()


def test_reaper_survives_containers_removed_by_a_concurrent_run() -> None:
    dead = {LABEL_MANAGED: "1", LABEL_INSTANCE: "dead", **owner(dead_pid(), None)}
    client = FakeClient([], [FakeResource("n-dead", dict(dead))], [])
    client.containers = VanishingContainers([FakeResource("c-dead", dict(dead))])
    assert ContainerReaper(client).reap_dead_runs() == ["container c-dead", "network n-dead"]
    assert leftovers(client) == ["container c-dead", "network n-dead"]


class FakeImages:
    def __init__(self, present: set[str], pull_ok: bool) -> None:
        self.present = present
        self.pull_ok = pull_ok
        self.pulled: list[str] = []

    def get(self, name: str) -> object:
        from docker.errors import ImageNotFound

        if name not in self.present:
            raise ImageNotFound(name)
        return object()

    def pull(self, name: str) -> object:
        self.pulled.append(name)
        if not self.pull_ok:
            raise RuntimeError("registry unreachable")
        return object()


@pytest.mark.parametrize(
    ("wanted", "present", "pull_ok", "expect_image", "expect_embedded"),
    [
        ("embedded", set(), False, "zchaos:latest", True),
        ("zchaos:latest", set(), False, "zchaos:latest", True),
        (None, {REAL_TOXIPROXY_IMAGE}, False, REAL_TOXIPROXY_IMAGE, False),
        (None, set(), True, REAL_TOXIPROXY_IMAGE, False),
        (None, set(), False, "zchaos:latest", True),  # no registry: fall back
        ("my/toxiproxy:1", {"my/toxiproxy:1"}, False, "my/toxiproxy:1", False),
    ],
)
def test_toxiproxy_choice(wanted: str | None, present: set[str], pull_ok: bool,
                          expect_image: str, expect_embedded: bool) -> None:
    client = type("C", (), {})()
    client.images = FakeImages(present, pull_ok)
    rt = DockerRuntime(image="zchaos:latest", toxiproxy_image=wanted, client=client)
    image, command = rt._toxiproxy_command()
    assert image == expect_image
    assert (command[:2] == ["zchaos", "toxiproxy-server"]) is expect_embedded
    if not expect_embedded:
        assert "-host=0.0.0.0" in command
    if wanted == "embedded":
        assert client.images.pulled == [], "embedded never contacts a registry"


def test_addresses_need_setup_first() -> None:
    rt = DockerRuntime(client=object())
    with pytest.raises(RuntimeError, match="setup"):
        rt.upstream_address("server", "frontend")
    with pytest.raises(RuntimeError, match="setup"):
        rt.toxiproxy_url()
    rt.teardown()  # nothing set up: a no-op, never raises


class StartedContainer:
    """A container whose engine says it started at ``started_at`` (wall clock, RFC 3339)."""

    def __init__(self, started_at: str) -> None:
        self.attrs = {"State": {"StartedAt": started_at}}

    def reload(self) -> None:
        pass


def rfc3339(wall: float) -> str:
    import datetime as dt

    stamp = dt.datetime.fromtimestamp(wall, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # nanoseconds, as dockerd writes


def test_engine_start_time_maps_startedat_into_the_call() -> None:
    import time

    now_wall, now_mono = time.time(), time.monotonic()
    # The engine started it 0.3 s ago, inside a call that began 1 s ago.
    at = engine_start_time(StartedContainer(rfc3339(now_wall - 0.3)), now_mono - 1.0, now_mono)
    assert abs(at - (now_mono - 0.3)) < 0.05
    # A skewed engine clock cannot move it outside the call.
    early = engine_start_time(StartedContainer(rfc3339(now_wall - 60)), now_mono - 1.0, now_mono)
    assert early == now_mono - 1.0
    late = engine_start_time(StartedContainer(rfc3339(now_wall + 60)), now_mono - 1.0, now_mono)
    assert late == now_mono
    # Never started, or unreadable: the call's start, a lower bound.
    for state in ("0001-01-01T00:00:00Z", "garbage"):
        assert engine_start_time(StartedContainer(state), now_mono - 1.0, now_mono) == \
            now_mono - 1.0
