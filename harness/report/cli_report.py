"""``zchaos report DIR [--open]``: give any earlier run (or one scenario of it) new HTML pages.

Pages are rendered from what the run left on disk (``report.json``,
``history.jsonl``, ``logs/``, ``scenario.yaml``), so reports written by an
older zchaos get the current pages too. Registered on the main parser by
:func:`register`, kept here so ``harness/cli.py`` only gains one line.
"""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report.pages import render_path

    path = Path(args.dir)
    if not path.is_dir():
        print(f"zchaos: {path}: no such folder", file=sys.stderr)
        return 2
    try:
        page = render_path(path)
    except FileNotFoundError as exc:
        print(f"zchaos: {exc} (expected reports/<run-id> or reports/<run-id>/<scenario>)",
              file=sys.stderr)
        return 2
    print(page)
    if args.open:
        webbrowser.open(page.resolve().as_uri())
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="re-render the HTML report of an earlier run or scenario")
    p.add_argument("dir", metavar="DIR",
                   help="a run folder (reports/<run-id>) or one scenario folder in it")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.set_defaults(func=cmd_report)
