"""Lazy Pirate server: a REP echo server (the Guide's lpserver, minus its simulated crashes).

Crashes and overloads come from the harness's faults instead of random
numbers in the server, so a scenario decides when they happen.
"""

from __future__ import annotations

from patterns.common import role
from patterns.common.echo import echo_server_main


def main() -> int:
    return echo_server_main(
        "Lazy Pirate REP echo server: hands each request back after --work-ms.",
        "lazy pirate server",
    )


if __name__ == "__main__":
    role.run_role(main)
