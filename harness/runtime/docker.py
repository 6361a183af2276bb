"""Nodes as containers on a per-run Docker network, Toxiproxy as one more container.

Why containers at all: the local runtime shares one kernel namespace, so it
cannot show what a real network partition, a frozen cgroup or a node with its
own disk does. Here every node is a container from the zchaos image, every
link goes through a Toxiproxy container on the run's own bridge network, and
``--data-dir`` lives on a named volume that survives the node's restarts.

Things that keep the two runtimes interchangeable:

- The run folder is bind-mounted at the *same path* inside every container,
  so ``ZCHAOS_TRACE`` (a host path) and ``--data-dir`` need no rewriting.
- ``ZCHAOS_T0`` is the host's CLOCK_MONOTONIC; containers share the host
  kernel's monotonic clock, so every trace line lands on one timeline.
- A (re)start always creates a fresh container (same name, same data volume):
  the new incarnation gets its own environment (``ZCHAOS_INCARNATION``).

Leaving nothing behind: every container, network and volume carries the
owner labels of :mod:`harness.runtime.docker_engine`. ``teardown`` removes
them after success, failure and Ctrl-C; a harness that was SIGKILLed leaves
them to :class:`~harness.runtime.docker_reaper.ContainerReaper`, which the
next ``setup`` and ``zchaos clean`` run.

Engine plumbing, the reaper, the Toxiproxy container and the compose-stack
adapter live in their own modules (``docker_engine``, ``docker_reaper``,
``docker_toxiproxy``, ``compose_stack``); this one is the runtime's lifecycle.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import logging
import math
import os
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.runtime.base import NodeSpec, Runtime
from harness.runtime.docker_engine import (
    FIRST_BIND_PORT,
    LABEL_INSTANCE,
    LABEL_KIND,
    LABEL_MANAGED,
    LABEL_NODE,
    LABEL_RUN,
    TOXIPROXY_API_PORT,
    docker_client,
    finished_at,
    owner_labels,
    require_image,
    safe_name,
)
from harness.runtime.docker_reaper import ContainerReaper
from harness.runtime.docker_toxiproxy import container_ip, toxiproxy_command, wait_ready

log = logging.getLogger(__name__)

SNAPSHOT_MAX_AGE = 0.1  # seconds a container-status snapshot is trusted for polling


def _substitute_python(argv: list[str]) -> list[str]:
    """``{python}`` (built-in roles) is the image's venv interpreter, ``python`` on PATH."""
    return ["python" if arg == "{python}" else arg for arg in argv]


def engine_start_time(container: Any, called_at: float, returned_at: float) -> float:
    """CLOCK_MONOTONIC of the engine's ``State.StartedAt`` for ``container``.

    Docker records when it started the container's process; that wall-clock
    time is mapped onto this process's monotonic clock and kept inside
    ``[called_at, returned_at]`` (the call that started it), so an engine on
    another host with a skewed clock cannot move a start outside the call.
    Without a readable StartedAt, the call's start is the best lower bound:
    a node's own first event must never precede its ``lifecycle start``.
    """
    started = None
    with contextlib.suppress(Exception):
        container.reload()
        text = str(container.attrs["State"]["StartedAt"])
        started = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    if started is None or started <= 0:
        return called_at
    at = time.monotonic() - (time.time() - started)
    return min(max(at, called_at), returned_at)


class DockerRuntime(Runtime):
    """One network, one Toxiproxy container and one container per node, per run."""

    name = "docker"

    @classmethod
    def create(cls, *, state_dir: Path, toxiproxy_url: str | None = None,
               **options: Any) -> DockerRuntime:
        """Brings its own Toxiproxy container: the session's ``toxiproxy_url`` is unused."""
        return cls(image=options.get("image") or "zchaos:latest",
                   toxiproxy_image=options.get("toxiproxy_image"))

    def __init__(
        self,
        image: str = "zchaos:latest",
        toxiproxy_image: str | None = None,
        keep: bool = False,
        client: Any = None,
        toxiproxy_command: list[str] | None = None,
    ) -> None:
        """``toxiproxy_image``: None = the real Toxiproxy (pulled if missing, else the
        embedded server), ``"embedded"`` = our image's ``zchaos toxiproxy-server``,
        anything else = a Toxiproxy image. ``toxiproxy_command`` overrides the
        command of that container (a custom build, or a stub in tests)."""
        self.image = image
        self.toxiproxy_image = toxiproxy_image
        self.toxiproxy_command = toxiproxy_command
        self.keep = keep
        self._client = client
        self._run_dir: Path | None = None
        self._run_id = ""
        self._prefix = ""
        self._labels: dict[str, str] = {}
        self._network: Any = None
        self._toxiproxy: Any = None
        self._toxiproxy_ip = ""
        self._ports: dict[tuple[str, str], int] = {}
        self._containers: dict[str, Any] = {}  # node -> its current container
        self._volumes: dict[str, Any] = {}  # node -> its data volume
        self._logged: set[str] = set()  # container ids whose logs are saved
        self._reported_exit: set[str] = set()  # container ids whose exit was reported
        self._snapshot: dict[str, dict[str, Any]] = {}  # container id -> State
        self._snapshot_at = 0.0
        self._torn_down = False
        # Starts run in the background: the runner starts several nodes in one
        # tick, and starting a container takes 0.5-1 s (seconds on a loaded host).
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="zchaos-docker")
        self._pending: dict[str, concurrent.futures.Future[Any]] = {}
        self._paused: set[str] = set()  # nodes we froze (pause/resume go through us)
        self._started_at: dict[str, float] = {}  # node -> CLOCK_MONOTONIC its container ran

    # -- plumbing ------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client()
        return self._client

    def container_name(self, node: str) -> str:
        if not self._prefix:
            raise RuntimeError("DockerRuntime.setup() must run before addresses are asked for")
        return f"{self._prefix}-{safe_name(node)}"

    @property
    def toxiproxy_container_name(self) -> str:
        return self.container_name("toxiproxy")

    @property
    def network_name(self) -> str:
        return self._prefix

    def _labels_for(self, kind: str, node: str | None = None) -> dict[str, str]:
        labels = {**self._labels, LABEL_KIND: kind}
        if node is not None:
            labels[LABEL_NODE] = node
        return labels

    # -- setup ---------------------------------------------------------------
    def setup(self, run_dir: Path, run_id: str) -> None:
        self._run_dir = run_dir.resolve()
        (self._run_dir / "logs").mkdir(parents=True, exist_ok=True)
        self._run_id = run_id
        self._prefix = f"zchaos-{safe_name(run_id)[:40]}-{secrets.token_hex(3)}"
        self._labels = {
            LABEL_MANAGED: "1",
            LABEL_RUN: run_id,
            LABEL_INSTANCE: self._prefix,
            **owner_labels(),
        }
        try:
            reaped = ContainerReaper(self.client).reap_dead_runs()
        except Exception as exc:  # best effort: another run's teardown may race us
            log.warning("could not reap leftovers of dead runs: %s", exc)
            reaped = []
        if reaped:
            log.info("removed leftovers of dead runs: %s", ", ".join(reaped))
        require_image(self.client, self.image)
        atexit.register(self.teardown)
        self._network = self.client.networks.create(
            self.network_name, driver="bridge", labels=self._labels_for("network")
        )
        self._start_toxiproxy()

    def _toxiproxy_command(self) -> tuple[str, list[str]]:
        """(image, command) of the Toxiproxy container (see docker_toxiproxy)."""
        return toxiproxy_command(self.client, self.image, self.toxiproxy_image,
                                 self.toxiproxy_command)

    def _start_toxiproxy(self) -> None:
        image, command = self._toxiproxy_command()
        self._toxiproxy = self.client.containers.run(
            image,
            command,
            name=self.toxiproxy_container_name,
            detach=True,
            network=self.network_name,
            labels=self._labels_for("toxiproxy", "toxiproxy"),
            init=True,
        )
        self._toxiproxy_ip = container_ip(self._toxiproxy, self.network_name)
        wait_ready(self._toxiproxy, self.toxiproxy_url())

    # -- addresses -----------------------------------------------------------
    def toxiproxy_url(self) -> str:
        if not self._toxiproxy_ip:
            raise RuntimeError("DockerRuntime.setup() must run before toxiproxy_url()")
        return f"http://{self._toxiproxy_ip}:{TOXIPROXY_API_PORT}"

    def _port(self, node: str, port_name: str) -> int:
        key = (node, port_name)
        if key not in self._ports:
            used = sum(1 for n, _ in self._ports if n == node)
            self._ports[key] = FIRST_BIND_PORT + used
        return self._ports[key]

    def bind_endpoint(self, node: str, port_name: str) -> str:
        return f"tcp://0.0.0.0:{self._port(node, port_name)}"

    def upstream_address(self, node: str, port_name: str) -> str:
        return f"{self.container_name(node)}:{self._port(node, port_name)}"

    def proxy_listen(self) -> str:
        return "0.0.0.0:0"

    def proxy_endpoint(self, listen: str) -> str:
        port = listen.rsplit(":", 1)[1]
        return f"tcp://{self.toxiproxy_container_name}:{port}"

    def container_ip(self, node: str) -> str | None:
        self._settle(node)
        container = self._containers.get(node)
        if container is None:
            return None
        with contextlib.suppress(Exception):
            container.reload()
            ip = container.attrs["NetworkSettings"]["Networks"][self.network_name]["IPAddress"]
            return ip or None
        return None

    def probe_address(self, node: str, port_name: str) -> tuple[str, int] | None:
        """Where the host can TCP-probe that a server container has bound its port."""
        ip = self.container_ip(node)
        return None if ip is None else (ip, self._port(node, port_name))

    # -- lifecycle -----------------------------------------------------------
    def _data_volume(self, node: str) -> Any:
        if node not in self._volumes:
            self._volumes[node] = self.client.volumes.create(
                name=f"{self.container_name(node)}-data",
                labels=self._labels_for("data", node),
            )
        return self._volumes[node]

    def start(self, spec: NodeSpec) -> None:
        """Start a fresh container for ``spec`` (same name, same data volume).

        Returns once the start is queued: the container is created in the
        background so nodes started in the same tick come up together; every
        other verb on that node waits for it first.
        """
        if self._run_dir is None:
            raise RuntimeError("DockerRuntime.setup() first")
        self._settle(spec.name)
        old = self._containers.pop(spec.name, None)
        if old is not None:
            with contextlib.suppress(Exception):
                old.reload()
            if old.status in ("running", "paused", "restarting"):
                self._containers[spec.name] = old
                raise RuntimeError(f"node {spec.name} is already running")
        self._paused.discard(spec.name)
        self._pending[spec.name] = self._pool.submit(self._create, spec, old)

    def _create(self, spec: NodeSpec, old: Any | None) -> Any:
        assert self._run_dir is not None
        self._started_at.pop(spec.name, None)
        if old is not None:
            self._save_logs(spec.name, old)
            with contextlib.suppress(Exception):
                old.remove(force=True)
        volumes = {str(self._run_dir): {"bind": str(self._run_dir), "mode": "rw"}}
        if spec.data_dir is not None:
            volumes[self._data_volume(spec.name).name] = {
                "bind": str(spec.data_dir.resolve()), "mode": "rw"}
        called_at = time.monotonic()
        container = self.client.containers.run(
            self.image,
            _substitute_python(spec.argv),
            name=self.container_name(spec.name),
            hostname=safe_name(spec.name),
            detach=True,
            environment=dict(spec.env),
            network=self.network_name,
            volumes=volumes,
            # The harness's cwd, as for local processes: relative paths in argv and
            # env (ZCHAOS_TRACE under a relative --report-dir) resolve inside the
            # run folder's mount exactly as on the host.
            working_dir=os.getcwd(),
            labels=self._labels_for("node", spec.name),
            stop_signal="SIGTERM",
            # An init as PID 1 forwards signals: a node without a SIGTERM handler
            # dies on `stop` as it would as a local process (PID 1 would ignore it).
            init=True,
        )
        # run(detach=True) returns once the engine has started the container,
        # and the node may have run (and traced) for a while by then: the true
        # start is the engine's own StartedAt, however long it waited in the queue.
        returned_at = time.monotonic()
        self._started_at[spec.name] = engine_start_time(container, called_at, returned_at)
        return container

    def start_time(self, node: str) -> float | None:
        """When the node's current container started; None while its start is queued."""
        self._settle(node, block=False)
        return None if node in self._pending else self._started_at.get(node)

    def wait_started(self, nodes: list[str]) -> None:
        """Block until the queued starts of ``nodes`` have their containers running.

        For a runner that wants its fault clock to start with the workload:
        a container start takes 0.5-1 s, seconds on a loaded host.
        """
        for node in nodes:
            self._settle(node)

    def _settle(self, node: str, block: bool = True) -> None:
        """Wait for a queued start of ``node``; a failed start raises here."""
        future = self._pending.get(node)
        if future is None or (not block and not future.done()):
            return
        del self._pending[node]
        self._containers[node] = future.result()
        self._snapshot_at = 0.0

    def _container(self, node: str) -> Any | None:
        """The node's current container (after its queued start), without asking the engine.

        Fault verbs act first and ask questions later: on a loaded engine each
        API round trip costs up to hundreds of milliseconds, and a kill that
        lands late shifts the whole fault schedule.
        """
        self._settle(node)
        return self._containers.get(node)

    def stop(self, node: str, timeout: float = 5.0) -> None:
        container = self._container(node)
        if container is None:
            return
        if node in self._paused:
            # SIGTERM cannot be handled by a frozen process: thaw it first.
            with contextlib.suppress(Exception):
                container.unpause()
            self._paused.discard(node)
        with contextlib.suppress(Exception):  # 304/409: not running any more
            container.stop(timeout=max(1, math.ceil(timeout)))
        self._snapshot_at = 0.0

    def kill(self, node: str) -> None:
        container = self._container(node)
        if container is None:
            return
        with contextlib.suppress(Exception):  # 409: not running any more
            container.kill()
        if node in self._paused:
            # The SIGKILL is delivered once the cgroup thaws.
            with contextlib.suppress(Exception):
                container.unpause()
            self._paused.discard(node)
        self._wait_exited(container, 10.0)
        self._snapshot_at = 0.0

    @staticmethod
    def _wait_exited(container: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                container.reload()
            if container.status not in ("running", "paused", "restarting"):
                return
            time.sleep(0.02)

    def pause(self, node: str) -> None:
        container = self._container(node)
        if container is None or node in self._paused:
            return
        try:
            container.pause()
        except Exception as exc:  # not running: nothing to freeze, as with SIGSTOP
            log.info("pause %s: %s", node, exc)
            return
        self._paused.add(node)
        self._snapshot_at = 0.0

    def resume(self, node: str) -> None:
        container = self._container(node)
        if container is None or node not in self._paused:
            return
        with contextlib.suppress(Exception):
            container.unpause()
        self._paused.discard(node)
        self._snapshot_at = 0.0

    def _states(self) -> dict[str, dict[str, Any]]:
        """Container id -> State, one API call per SNAPSHOT_MAX_AGE at most.

        The runner polls exits and liveness every few milliseconds; asking the
        engine once per node per tick would load it for nothing.
        """
        now = time.monotonic()
        if now - self._snapshot_at > SNAPSHOT_MAX_AGE:
            states: dict[str, dict[str, Any]] = {}
            try:
                found = self.client.api.containers(
                    all=True, filters={"label": f"{LABEL_INSTANCE}={self._prefix}"})
            except Exception as exc:
                log.warning("cannot list containers: %s", exc)
                return self._snapshot
            for item in found:
                states[item["Id"]] = {"Status": item.get("State", "")}
            self._snapshot = states
            self._snapshot_at = now
        return self._snapshot

    def _status(self, node: str) -> str | None:
        self._settle(node, block=False)
        if node in self._pending:
            return "running"  # being created: alive as far as the run is concerned
        container = self._containers.get(node)
        if container is None:
            return None
        state = self._states().get(container.id)
        return None if state is None else state["Status"]

    def is_running(self, node: str) -> bool:
        return self._status(node) in ("running", "paused", "restarting")

    def is_paused(self, node: str) -> bool:
        return self._status(node) == "paused"

    def exit_code(self, node: str) -> int | None:
        if self._status(node) not in ("exited", "dead"):
            return None
        container = self._container(node)
        if container is None:
            return None
        with contextlib.suppress(Exception):
            container.reload()
        if container.status not in ("exited", "dead"):
            return None
        return int(container.attrs["State"]["ExitCode"])

    def poll_exits(self) -> list[tuple[str, int, float]]:
        """Nodes whose container exited since the last call: status, CLOCK_MONOTONIC when."""
        exited: list[tuple[str, int, float]] = []
        for node in list(self._pending):
            self._settle(node, block=False)
        for node, container in list(self._containers.items()):
            if container.id in self._reported_exit:
                continue
            state = self._states().get(container.id)
            if state is not None and state["Status"] in ("exited", "dead"):
                code = self.exit_code(node)
                if code is not None:
                    self._reported_exit.add(container.id)
                    exited.append((node, code, finished_at(container)))
        return exited

    # -- logs and teardown ---------------------------------------------------
    def _save_logs(self, node: str, container: Any) -> None:
        """Append a container's output to logs/<node>.log, once per container."""
        if self._run_dir is None or container.id in self._logged:
            return
        self._logged.add(container.id)
        try:
            output = container.logs(stdout=True, stderr=True)
        except Exception as exc:
            output = f"(logs unavailable: {exc})\n".encode()
        path = self._run_dir / "logs" / f"{node}.log"
        with open(path, "ab") as fh:
            fh.write(f"--- zchaos: container {container.name} ({container.id[:12]})\n".encode())
            fh.write(output)

    def teardown(self) -> None:
        if self._torn_down or self._client is None or not self._prefix:
            return
        self._torn_down = True
        with contextlib.suppress(Exception):
            atexit.unregister(self.teardown)
        for node in list(self._pending):
            try:
                self._settle(node)
            except Exception as exc:  # a failed start left nothing to stop
                log.warning("start of %s had failed: %s", node, exc)
                self._pending.pop(node, None)
        self._pool.shutdown(wait=True)
        nodes = list(self._containers.items())
        self._stop_all([c for _n, c in nodes], grace=2.0)
        if self._toxiproxy is not None:
            with contextlib.suppress(Exception):
                self._toxiproxy.kill()  # nothing to flush: no grace needed
            nodes.append(("toxiproxy", self._toxiproxy))

        def finish(item: tuple[str, Any]) -> None:
            node, container = item
            with contextlib.suppress(Exception):
                self._save_logs(node, container)
            if not self.keep:
                with contextlib.suppress(Exception):
                    container.remove(force=True, v=True)

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as workers:
            list(workers.map(finish, nodes))
        if self.keep:
            log.warning("keeping containers of %s (--keep); `zchaos clean --all` removes them",
                        self._prefix)
            return
        if self._network is not None:
            with contextlib.suppress(Exception):
                self._network.remove()
        for volume in self._volumes.values():
            with contextlib.suppress(Exception):
                volume.remove(force=True)
        # Anything of this instance we lost track of (e.g. a failed create).
        with contextlib.suppress(Exception):
            ContainerReaper(self.client).reap_dead_runs()
        with contextlib.suppress(Exception):
            self._remove_instance_leftovers()

    @staticmethod
    def _stop_all(containers: list[Any], grace: float) -> None:
        """SIGTERM every live container at once, SIGKILL what is left after ``grace``."""
        live = []
        for container in containers:
            with contextlib.suppress(Exception):
                container.reload()
                if container.status == "paused":
                    container.unpause()
                if container.status in ("running", "paused", "restarting"):
                    container.kill(signal="SIGTERM")
                    live.append(container)
        deadline = time.monotonic() + grace
        for container in live:
            DockerRuntime._wait_exited(container, max(0.0, deadline - time.monotonic()))
            if container.status in ("running", "paused", "restarting"):
                with contextlib.suppress(Exception):
                    container.kill()

    def _remove_instance_leftovers(self) -> None:
        flt = {"label": f"{LABEL_INSTANCE}={self._prefix}"}
        for container in self.client.containers.list(all=True, filters=flt, ignore_removed=True):
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
        for network in self.client.networks.list(filters=flt):
            with contextlib.suppress(Exception):
                network.remove()
        for volume in self.client.volumes.list(filters=flt):
            with contextlib.suppress(Exception):
                volume.remove(force=True)
