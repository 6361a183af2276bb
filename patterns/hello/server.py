"""Plain REP echo server (the Guide's hwserver, echoing instead of "World").

Echoing the request body lets the client and the checkers match each reply
to its request; the Guide's fixed "World" reply could not be checked.
"""

from __future__ import annotations

from patterns.common import role
from patterns.common.echo import echo_server_main


def main() -> int:
    return echo_server_main(
        "Hello World REP server: echoes each request (plain REQ/REP, no reliability).",
        "hello server",
    )


if __name__ == "__main__":
    role.run_role(main)
