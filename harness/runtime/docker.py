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

Leaving nothing behind: every container, network and volume carries labels
naming the run and the harness process that owns it (pid + kernel start
time). ``teardown`` removes them after success, failure and Ctrl-C; a
harness that was SIGKILLed leaves them to :func:`reap_dead_runs`, which the
next ``setup`` and ``zchaos clean`` call.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import datetime
import logging
import math
import os
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.reaper import is_same_process, process_start_time
from harness.runtime.base import NodeSpec, Runtime

log = logging.getLogger(__name__)

REAL_TOXIPROXY_IMAGE = "ghcr.io/shopify/toxiproxy:2.12.0"
EMBEDDED_TOXIPROXY = "embedded"  # toxiproxy_image value: our image runs `zchaos toxiproxy-server`
TOXIPROXY_API_PORT = 8474
FIRST_BIND_PORT = 5555  # each container has its own network namespace: ports never clash
READY_TIMEOUT = 30.0
PULL_TIMEOUT = 60.0  # seconds a missing Toxiproxy image may take to pull
SNAPSHOT_MAX_AGE = 0.1  # seconds a container-status snapshot is trusted for polling

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


def _owner_labels() -> dict[str, str]:
    pid = os.getpid()
    return {
        LABEL_OWNER_PID: str(pid),
        LABEL_OWNER_START: str(process_start_time(pid) or ""),
        LABEL_OWNER_HOST: socket.gethostname(),
    }


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


@dataclass
class ReapReport:
    """What :func:`reap_dead_runs` removed (names), for ``zchaos clean`` to print."""

    containers: list[str]
    networks: list[str]
    volumes: list[str]

    @property
    def empty(self) -> bool:
        return not (self.containers or self.networks or self.volumes)


def reap_dead_runs(
    client: Any, everything: bool = False, keep_instance: str | None = None
) -> ReapReport:
    """Remove containers, networks and volumes whose owning harness is gone.

    ``everything`` removes every zchaos-labelled resource, live owner or not.
    ``keep_instance`` protects the caller's own run.
    """
    report = ReapReport([], [], [])

    def doomed(labels: dict[str, str]) -> bool:
        if keep_instance and labels.get(LABEL_INSTANCE) == keep_instance:
            return False
        if LABEL_OWNER_PID not in labels:
            return everything  # made by `zchaos compose` stacks: only with --all
        return everything or not owner_alive(labels)

    label = {"label": LABEL_MANAGED}
    for container in client.containers.list(all=True, filters=label):
        if doomed(container.labels):
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
                report.containers.append(container.name)
    for network in client.networks.list(filters=label):
        if doomed(network.attrs.get("Labels") or {}):
            with contextlib.suppress(Exception):
                network.remove()
                report.networks.append(network.name)
    for volume in client.volumes.list(filters=label):
        if doomed(volume.attrs.get("Labels") or {}):
            with contextlib.suppress(Exception):
                volume.remove(force=True)
                report.volumes.append(volume.name)
    return report


def leftovers(client: Any, run_id: str | None = None) -> list[str]:
    """Names of every zchaos-labelled resource (of one run, if given): tests and CI use it."""
    filters = {"label": [LABEL_MANAGED] + ([f"{LABEL_RUN}={run_id}"] if run_id else [])}
    found = [f"container {c.name}" for c in client.containers.list(all=True, filters=filters)]
    found += [f"network {n.name}" for n in client.networks.list(filters=filters)]
    found += [f"volume {v.name}" for v in client.volumes.list(filters=filters)]
    return found


def _substitute_python(argv: list[str]) -> list[str]:
    """``{python}`` (built-in roles) is the image's venv interpreter, ``python`` on PATH."""
    return ["python" if arg == "{python}" else arg for arg in argv]


def _finished_at(container: Any) -> float:
    """The container's State.FinishedAt on CLOCK_MONOTONIC (now, if unreadable)."""
    now_mono, now_wall = time.monotonic(), time.time()
    raw = str(container.attrs.get("State", {}).get("FinishedAt", ""))
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", raw)
    if match is None:
        return now_mono
    wall = datetime.datetime.fromisoformat(match[1]).replace(
        tzinfo=datetime.UTC).timestamp() + float("0." + (match[2] or "0"))
    ago = now_wall - wall
    return now_mono if not 0 <= ago < 3600 else now_mono - ago  # clocks disagree: now


class DockerRuntime(Runtime):
    """One network, one Toxiproxy container and one container per node, per run."""

    name = "docker"

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
            **_owner_labels(),
        }
        reaped = reap_dead_runs(self.client)
        if not reaped.empty:
            log.info("removed leftovers of dead runs: %s", reaped)
        self._require_image(self.image)
        atexit.register(self.teardown)
        self._network = self.client.networks.create(
            self.network_name, driver="bridge", labels=self._labels_for("network")
        )
        self._start_toxiproxy()

    def _require_image(self, image: str) -> None:
        from docker.errors import ImageNotFound

        try:
            self.client.images.get(image)
        except ImageNotFound as exc:
            raise DockerUnavailable(
                f"image {image!r} not found; build it with "
                f"`docker build -f compose/Dockerfile -t {image} .` (see docs/docker.md)"
            ) from exc

    def _toxiproxy_command(self) -> tuple[str, list[str]]:
        """(image, command) of the Toxiproxy container."""
        wanted = self.toxiproxy_image
        if wanted in (EMBEDDED_TOXIPROXY, self.image):
            return self.image, self.toxiproxy_command or self._embedded_command()
        image = wanted or REAL_TOXIPROXY_IMAGE
        if self._image_available(image):
            command = ["-host=0.0.0.0", f"-port={TOXIPROXY_API_PORT}"]
            return image, self.toxiproxy_command or command
        log.warning("Toxiproxy image %s unavailable; using the embedded server", image)
        return self.image, self._embedded_command()

    @staticmethod
    def _embedded_command() -> list[str]:
        return ["zchaos", "toxiproxy-server", "--host", "0.0.0.0",
                "--port", str(TOXIPROXY_API_PORT)]

    def _image_available(self, image: str) -> bool:
        """Present locally, or pulled now; False when no registry answers within PULL_TIMEOUT."""
        from docker.errors import ImageNotFound

        try:
            self.client.images.get(image)
            return True
        except ImageNotFound:
            pass
        outcome: list[BaseException | None] = []

        def pull() -> None:
            try:
                self.client.images.pull(image)
                outcome.append(None)
            except Exception as exc:
                outcome.append(exc)

        # A pull through a blackholing proxy can hang: never let it stall the run.
        puller = threading.Thread(target=pull, name="zchaos-pull", daemon=True)
        puller.start()
        puller.join(PULL_TIMEOUT)
        if outcome and outcome[0] is None:
            return True
        log.warning("cannot pull %s: %s", image, outcome[0] if outcome else "timed out")
        return False

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
        self._toxiproxy.reload()
        networks = self._toxiproxy.attrs["NetworkSettings"]["Networks"]
        self._toxiproxy_ip = networks[self.network_name]["IPAddress"]
        self._wait_toxiproxy_ready()

    def _wait_toxiproxy_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        url = f"{self.toxiproxy_url()}/version"
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=1.0) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = exc
            self._toxiproxy.reload()
            if self._toxiproxy.status not in ("created", "running"):
                break
            time.sleep(0.1)
        logs = self._toxiproxy.logs(tail=20).decode(errors="replace")
        raise DockerUnavailable(
            f"Toxiproxy container did not answer on {url} ({last}); its log:\n{logs}"
        )

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
        # run(detach=True) returns once the engine has started the container:
        # the node's true start, however long the start waited in the queue.
        self._started_at[spec.name] = time.monotonic()
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
                    exited.append((node, code, _finished_at(container)))
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
            reap_dead_runs(self.client, everything=False)
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
        for container in self.client.containers.list(all=True, filters=flt):
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
        for network in self.client.networks.list(filters=flt):
            with contextlib.suppress(Exception):
                network.remove()
        for volume in self.client.volumes.list(filters=flt):
            with contextlib.suppress(Exception):
                volume.remove(force=True)


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
        found = self.client.containers.list(all=True, filters=filters)
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


def orphans(client: Any) -> list[str]:
    """Resources whose owning harness is dead: what `zchaos clean` would remove.

    CI asserts this is empty after a tier: a live run of someone else does not
    count as a leak, a dead one always does.
    """
    found = []
    label = {"label": LABEL_MANAGED}
    for container in client.containers.list(all=True, filters=label):
        if LABEL_OWNER_PID in container.labels and not owner_alive(container.labels):
            found.append(f"container {container.name}")
    for network in client.networks.list(filters=label):
        labels = network.attrs.get("Labels") or {}
        if LABEL_OWNER_PID in labels and not owner_alive(labels):
            found.append(f"network {network.name}")
    for volume in client.volumes.list(filters=label):
        labels = volume.attrs.get("Labels") or {}
        if LABEL_OWNER_PID in labels and not owner_alive(labels):
            found.append(f"volume {volume.name}")
    return found
