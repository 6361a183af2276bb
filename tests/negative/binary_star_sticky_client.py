"""NEGATIVE CONTROL: a Binary Star client that never fails over.

It is the real ``binary_star.client`` told to use the primary as both of its
servers, so when the primary dies it keeps knocking on the dead one instead
of voting for the backup (PROTOCOLS.md §9, "What clients must do").
``failover_within`` must flag it when the primary is killed:

    zchaos run --impl binary_star.client="python tests/negative/binary_star_sticky_client.py" \\
        scenarios/binary_star/bstar-primary-killed.yaml

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

from patterns.binary_star import client

if __name__ == "__main__":
    argv = sys.argv[1:]
    servers = option_values(argv, "--connect")
    if servers:
        argv = replace_option(argv, "--connect", [servers[0], servers[0]])
    client.main(argv)
