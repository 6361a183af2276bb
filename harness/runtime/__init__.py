"""Runtime selection by name (``--runtime local|docker|<plugin>``).

Runtimes are found in a registry: the built-in ones by module path (imported
only when chosen, so the local runtime never loads the docker SDK), others
through the ``zchaos.runtimes`` entry point group of installed packages, or
:func:`register_runtime` at import time. A third runtime is one module with
one :class:`~harness.runtime.base.Runtime` subclass; nothing here changes.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from harness.runtime.base import NodeSpec, Runtime

ENTRY_POINT_GROUP = "zchaos.runtimes"
RUNTIMES = ("local", "docker")  # the built-in ones (pinned names)

_BUILTIN: dict[str, str] = {
    "local": "harness.runtime.local:LocalRuntime",
    "docker": "harness.runtime.docker:DockerRuntime",
}
_REGISTERED: dict[str, type[Runtime] | str] = {}

__all__ = ["ENTRY_POINT_GROUP", "RUNTIMES", "NodeSpec", "Runtime", "UnknownRuntime",
           "make_runtime", "register_runtime", "runtime_class", "runtime_names",
           "unregister_runtime"]


class UnknownRuntime(ValueError):
    """No runtime of that name is built in, registered or installed."""


def register_runtime(name: str, target: type[Runtime] | str) -> None:
    """Make ``name`` choosable: a Runtime subclass, or ``"module:Class"`` imported on use.

    A registered name wins over an installed entry point of the same name and
    may replace a built-in one (a test double, a patched runtime).
    """
    _REGISTERED[name] = target


def unregister_runtime(name: str) -> None:
    """Forget a name given to :func:`register_runtime` (tests clean up with it)."""
    _REGISTERED.pop(name, None)


def _installed() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def runtime_names() -> list[str]:
    """Every name ``--runtime`` can take here: built-in, registered, installed."""
    return sorted({*_BUILTIN, *_REGISTERED, *_installed()})


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else []:
        obj = getattr(obj, part)
    return obj


def runtime_class(name: str) -> type[Runtime]:
    """The Runtime subclass registered as ``name``; UnknownRuntime names the choices."""
    target: Any
    if name in _REGISTERED:
        target = _REGISTERED[name]
    elif name in _BUILTIN:
        target = _BUILTIN[name]
    else:
        installed = _installed()
        if name not in installed:
            raise UnknownRuntime(
                f"unknown runtime {name!r}; choose one of {', '.join(runtime_names())}")
        target = installed[name].load()
    cls = _load(target) if isinstance(target, str) else target
    if not (isinstance(cls, type) and issubclass(cls, Runtime)):
        raise UnknownRuntime(f"runtime {name!r} is {cls!r}, not a Runtime subclass")
    return cls


def make_runtime(name: str, *, state_dir: Path, toxiproxy_url: str | None = None,
                 **options: Any) -> Runtime:
    """A fresh runtime for one run: ``runtime_class(name).create(...)``."""
    return runtime_class(name).create(state_dir=state_dir, toxiproxy_url=toxiproxy_url,
                                      **options)
