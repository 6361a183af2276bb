"""Load-balancing worker: a REQ socket that says ``"READY"``, then echoes one request at a time.

The Guide's lbbroker/peering worker, echoing (so clients and checkers can
match replies) after ``--work-ms``. Its identity is its node name
(``worker-2``, ``worker-2.1`` after a restart) so that the brokers' ``route``
events name the node; run standalone it takes a random printable one. Like
the Guide's, it never says READY again after its broker restarts.
"""

from __future__ import annotations

from contextlib import closing

from patterns.common import role, trace
from patterns.lbbroker import READY
from patterns.simple_pirate.worker import SimplePirateWorker, printable_identity


def worker_identity() -> bytes:
    """The node's name (with its incarnation after a restart), else a random printable one."""
    name = trace.node_name("")
    if not name:
        return printable_identity()
    inc = trace.incarnation()
    return (name if inc == 0 else f"{name}.{inc}").encode()


def main() -> int:
    p = role.parser("Load-balancing worker: REQ echo worker that announces itself with READY.")
    role.add_connect(p, "broker backend")
    p.add_argument("--work-ms", type=int, default=0, help="simulated work per request (ms)")
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.connect:
        p.error("--connect is required")
    worker = SimplePirateWorker(args.connect[0], work_ms=args.work_ms, log=log,
                                identity=worker_identity(), ready=READY)
    log.info("load-balancing worker %s connected to %s", worker.identity.decode(),
             args.connect[0])
    with closing(worker):
        worker.run()
    return 0


if __name__ == "__main__":
    role.run_role(main)
