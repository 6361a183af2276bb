"""Checking ``--impl`` commands and nodes' ``command:`` before anything starts.

A replacement that cannot run (a typo in the path, a script without its
execute bit, an interpreter that is not installed) would otherwise start,
die at once and cost a whole scenario; here it is one line and exit 2
before the first process or proxy exists. Only for the local runtime: on the
docker runtime commands run inside the image, where the host's files and
PATH say nothing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from harness.topology import parse_command

# Interpreters whose first argument names a script file we can look for.
SCRIPT_SUFFIXES = (".py", ".js", ".mjs", ".ts", ".rb", ".pl", ".sh", ".lua", ".php")


def _shebang(path: Path) -> list[str] | None:
    try:
        with path.open("rb") as fh:
            first = fh.readline(256)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    return first[2:].decode("utf-8", errors="replace").split()


def _check_interpreter_line(path: Path) -> str | None:
    words = _shebang(path)
    if not words:
        return None
    program = words[0]
    if Path(program).name == "env":
        names = [w for w in words[1:] if not w.startswith("-")]
        if not names:
            return None
        if shutil.which(names[0]) is None:
            return f"{path}: unknown interpreter {names[0]!r} (its #! line); it is not on PATH"
        return None
    if not os.access(program, os.X_OK):
        return f"{path}: unknown interpreter {program!r} (its #! line): no such program"
    return None


def _check_file(program: str, what: str) -> str | None:
    path = Path(program)
    if not path.exists():
        return f"{what} {program!r}: no such file"
    if path.is_dir():
        return f"{what} {program!r} is a directory"
    return None


def command_problem(command: str | list[str]) -> str | None:
    """Why ``command`` cannot run here, or None when it looks runnable."""
    try:
        argv = parse_command(command)
    except ValueError as exc:
        return f"cannot split the command line: {exc}"
    if not argv:
        return "the command is empty"
    program, args = argv[0], argv[1:]
    if program == "{python}":
        if not args:
            return None
        if args[0] == "-m":
            if len(args) < 2:
                return "python -m needs a module name"
            try:
                found = importlib.util.find_spec(args[1])
            except (ImportError, ValueError):
                found = None
            return None if found is not None else f"no Python module named {args[1]!r}"
        if args[0].startswith("-"):
            return None
        return _check_file(args[0], "script")
    if "/" in program:
        problem = _check_file(program, "program")
        if problem:
            return problem
        if not os.access(program, os.X_OK):
            hint = (f"; run it as 'python {program}' or chmod +x it"
                    if program.endswith(".py") else f"; chmod +x {program}")
            return f"{program!r} is not executable{hint}"
        return _check_interpreter_line(Path(program))
    if shutil.which(program) is None:
        return f"unknown program or interpreter {program!r}: not found on PATH"
    scripts = [a for a in args if not a.startswith("-") and a.endswith(SCRIPT_SUFFIXES)]
    if scripts:
        return _check_file(scripts[0], "script")
    return None


def check_commands(impls: dict[str, str], scenarios: list) -> list[str]:
    """One line per ``--impl`` or node ``command:`` that cannot run on this host."""
    problems: list[str] = []
    for role, command in impls.items():
        problem = command_problem(command)
        if problem:
            problems.append(f"--impl {role}={command!r}: {problem}")
    for scenario in scenarios:
        for node in scenario.nodes.values():
            if node.command:
                problem = command_problem(node.command)
                if problem:
                    problems.append(f"{scenario.source}: nodes.{node.name}.command: {problem}")
    return list(dict.fromkeys(problems))
