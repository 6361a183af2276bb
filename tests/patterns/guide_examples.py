"""The ZeroMQ Guide's own Python examples, for interop tests against our roles.

The examples are read from a snapshot of booksbyus/zguide (a checkout or a
bare git directory; ``ZCHAOS_ZGUIDE`` names it, default the project
machine's mirror) and copied into the test's temp dir: never vendored here.
Tests skip when the snapshot is absent (CI cannot fetch it).

Each copy gets its endpoints rewritten to free loopback ports (the machine
is shared: the Guide's fixed 5556-5562 may be taken) and, where a test says
so, a constant scaled down (10 subscribers and a million updates would make
a slow test). Every rewrite must match exactly once, so an example that
changes upstream fails loudly instead of testing something else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ZGUIDE = Path(os.environ.get("ZCHAOS_ZGUIDE", "/work/.mirror/booksbyus+zguide/repo"))


def _read(name: str) -> str | None:
    relative = f"examples/Python/{name}.py"
    if (ZGUIDE / relative).is_file():
        return (ZGUIDE / relative).read_text()
    if (ZGUIDE / "HEAD").is_file():  # a bare git directory
        done = subprocess.run(["git", "--git-dir", str(ZGUIDE), "show", f"HEAD:{relative}"],
                              capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            return done.stdout
    return None


def guide_example(name: str, tmp: Path, rewrites: dict[str, str]) -> Path:
    """``examples/Python/<name>.py`` copied into ``tmp`` with ``rewrites`` applied."""
    text = _read(name)
    if text is None:
        pytest.skip(f"the Guide's {name}.py is not available (set ZCHAOS_ZGUIDE to a zguide "
                    "checkout)")
    for old, new in rewrites.items():
        count = text.count(old)
        assert count == 1, f"{name}.py: expected {old!r} once, found it {count} times"
        text = text.replace(old, new)
    path = tmp / f"guide_{name}.py"
    path.write_text(text)
    return path


def run_guide(path: Path, tmp: Path, stdin: bool = False,
              name: str = "") -> subprocess.Popen[str]:
    """Start a Guide example with our interpreter, in its own session, output to a file.

    Two copies of one example need a ``name`` each: their output, appended to
    one file, interleaves mid-line.
    """
    out = (tmp / f"{name or path.stem}.out").open("a")
    try:
        return subprocess.Popen([sys.executable, str(path)], cwd=tmp, text=True,
                                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        out.close()


def output(path: Path, tmp: Path, name: str = "") -> str:
    log = tmp / f"{name or path.stem}.out"
    return log.read_text() if log.exists() else ""


