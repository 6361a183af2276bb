"""A third runtime is one module: found by name when registered or installed."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.runtime import (
    ENTRY_POINT_GROUP,
    UnknownRuntime,
    make_runtime,
    register_runtime,
    runtime_class,
    runtime_names,
    unregister_runtime,
)
from harness.runtime.base import NodeSpec, Runtime
from harness.runtime.local import LocalRuntime


class DummyRuntime(Runtime):
    """Every abstract method, doing nothing: what the interface demands and no more."""

    name = "dummy"

    def __init__(self, toxiproxy_url: str = "http://toxiproxy.invalid:8474",
                 flavour: str | None = None) -> None:
        self.url = toxiproxy_url
        self.flavour = flavour

    @classmethod
    def create(cls, *, state_dir: Path, toxiproxy_url: str | None = None,
               **options: Any) -> DummyRuntime:
        return cls(flavour=options.get("flavour"))

    def setup(self, run_dir: Path, run_id: str) -> None: ...
    def toxiproxy_url(self) -> str: return self.url
    def bind_endpoint(self, node: str, port_name: str) -> str: return "tcp://*:1"
    def upstream_address(self, node: str, port_name: str) -> str: return f"{node}:1"
    def proxy_listen(self) -> str: return "0.0.0.0:0"
    def proxy_endpoint(self, listen: str) -> str: return f"tcp://proxy:{listen}"
    def start(self, spec: NodeSpec) -> None: ...
    def stop(self, node: str, timeout: float = 5.0) -> None: ...
    def kill(self, node: str) -> None: ...
    def pause(self, node: str) -> None: ...
    def resume(self, node: str) -> None: ...
    def is_running(self, node: str) -> bool: return False
    def exit_code(self, node: str) -> int | None: return None
    def teardown(self) -> None: ...


@pytest.fixture
def dummy() -> Iterator[str]:
    register_runtime("dummy", DummyRuntime)
    yield "dummy"
    unregister_runtime("dummy")


def test_a_registered_runtime_is_found_by_name(dummy: str, tmp_path: Path) -> None:
    assert dummy in runtime_names()
    assert runtime_class(dummy) is DummyRuntime
    rt = make_runtime(dummy, state_dir=tmp_path, flavour="vanilla", image=None)
    assert isinstance(rt, DummyRuntime) and rt.flavour == "vanilla"
    assert rt.probe_address("n", "p") is None, "optional hooks have safe defaults"


def test_registration_by_module_path_imports_on_use(tmp_path: Path) -> None:
    register_runtime("dotted", f"{__name__}:DummyRuntime")
    try:
        assert runtime_class("dotted") is DummyRuntime
    finally:
        unregister_runtime("dotted")
    assert "dotted" not in runtime_names()


def test_an_installed_entry_point_is_found(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A package declaring ``[project.entry-points."zchaos.runtimes"]`` needs no other wiring."""
    (tmp_path / "kube_rt.py").write_text(textwrap.dedent(f"""
        from {__name__} import DummyRuntime

        class KubeRuntime(DummyRuntime):
            name = "kube"
    """))
    info = tmp_path / "kube_rt-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kube-rt\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nkube = kube_rt:KubeRuntime\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "kube" in runtime_names()
    cls = runtime_class("kube")
    assert cls.__name__ == "KubeRuntime" and issubclass(cls, Runtime)
    monkeypatch.delitem(sys.modules, "kube_rt", raising=False)


def test_unknown_runtime_names_the_choices(tmp_path: Path) -> None:
    choices = r"unknown runtime 'k8s'; choose one of .*docker.*local"
    with pytest.raises(UnknownRuntime, match=choices):
        make_runtime("k8s", state_dir=tmp_path)
    assert issubclass(UnknownRuntime, ValueError), "callers catching ValueError still do"


def test_a_name_that_is_not_a_runtime_is_refused() -> None:
    register_runtime("bogus", "pathlib:Path")
    try:
        with pytest.raises(UnknownRuntime, match="not a Runtime subclass"):
            runtime_class("bogus")
    finally:
        unregister_runtime("bogus")


def test_builtins_keep_their_names_and_options(tmp_path: Path) -> None:
    assert {"local", "docker"} <= set(runtime_names())
    local = make_runtime("local", state_dir=tmp_path, toxiproxy_url="http://127.0.0.1:1",
                         image=None, toxiproxy_image=None)
    assert isinstance(local, LocalRuntime)
    with pytest.raises(ValueError, match="needs a running Toxiproxy"):
        make_runtime("local", state_dir=tmp_path)
    docker = make_runtime("docker", state_dir=tmp_path, image="img:1", toxiproxy_image=None)
    assert docker.name == "docker" and getattr(docker, "image", None) == "img:1"
    docker.teardown()
