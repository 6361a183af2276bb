"""NEGATIVE CONTROL: a Lazy Pirate client that ignores its retry budget.

It is the real ``lazy_pirate.client`` run with three times the ``--retries``
it was given, so it keeps resending long after the contract says it must
give up (PROTOCOLS.md §2, LP2). ``bounded_give_up`` must flag it on the
scenario where the server never comes back:

    zchaos run --impl lazy_pirate.client="python tests/negative/stubborn_lazy_pirate_client.py" \\
        scenarios/lazy_pirate/lazy-pirate-server-gone.yaml

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
from patterns.lazy_pirate import client

if __name__ == "__main__":
    given = option_values(sys.argv[1:], "--retries") or ["3"]
    budget = str(int(given[-1]) * 3)
    sys.argv = [sys.argv[0], *replace_option(sys.argv[1:], "--retries", [budget])]
    role.run_role(client.main)
