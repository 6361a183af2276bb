"""Lazy Pirate server: a REP echo server (the Guide's lpserver, minus its simulated crashes).

Crashes and overloads come from the harness's faults instead of random
numbers in the server, so a scenario decides when they happen.
"""

from __future__ import annotations

from patterns.common import role
from patterns.common.io_threads import start_io_threads
from patterns.hello.server import EchoServer


def main() -> int:
    p = role.parser("Lazy Pirate REP echo server: hands each request back after --work-ms.")
    role.add_bind(p, "frontend")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind:
        p.error("--bind is required")
    start_io_threads()
    server = EchoServer(args.bind[0], work_ms=args.work_ms, log=log)
    log.info("lazy pirate server bound at %s", server.endpoint)
    try:
        server.serve_forever()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
