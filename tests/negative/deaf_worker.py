"""NEGATIVE CONTROL: a worker that never hears the kill signal (the Guide's first design).

It is the real ``pipeline.worker`` given only its first two ``--connect``
endpoints (ventilator and sink results), like the Guide's taskwork before
the kill signal was added: it works every task it gets, but when the batch
is over it keeps waiting for more, forever. ``kill_stops_workers`` must flag
it:

    zchaos run --impl pipeline.worker="python tests/negative/deaf_worker.py" \\
        scenarios/pipeline/pipeline-steady.yaml

Do not use it for anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from argv import option_values, replace_option

from patterns.common import role
from patterns.pipeline import worker

if __name__ == "__main__":
    connects = option_values(sys.argv[1:], "--connect")[:2]
    sys.argv = [sys.argv[0], *replace_option(sys.argv[1:], "--connect", connects)]
    role.run_role(worker.main)
