"""Rewrites a role's command line: how the small negative controls break a role.

A control that only disobeys one option (ignores ``--retries``, never uses
its second ``--connect``) is the real role run with that option changed, so
everything else about it stays exactly like the role it stands in for.
"""

from __future__ import annotations


def option_values(argv: list[str], flag: str) -> list[str]:
    """Every value given to ``flag`` (``--x V`` or ``--x=V``), in order."""
    values: list[str] = []
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            values.append(argv[i + 1])
        elif arg.startswith(flag + "="):
            values.append(arg.split("=", 1)[1])
    return values


def replace_option(argv: list[str], flag: str, values: list[str]) -> list[str]:
    """``argv`` without any ``flag``, then ``flag V`` for each of ``values``."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == flag and i + 1 < len(argv):
            skip = True
            continue
        if arg.startswith(flag + "="):
            continue
        out.append(arg)
    for value in values:
        out += [flag, value]
    return out
