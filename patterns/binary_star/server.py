"""Binary Star server CLI: ``python -m patterns.binary_star.server``.

``--bind FRONTEND --bind STATEPUB`` (in that order), ``--connect`` the peer's
state publisher, ``--primary`` or ``--backup``, ``--heartbeat-ms`` (the
failover timeout is twice that). Exits 0 on SIGTERM/SIGINT and
``FATAL_EXIT`` (3) on dual active, dual passive or a misconfigured pair.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from patterns.binary_star.reactor import BinaryStarReactor, FsmFactory
from patterns.common import role


def build_parser(description: str = __doc__.splitlines()[0]) -> argparse.ArgumentParser:
    """The server's options; the negative control reuses them unchanged."""
    p = role.parser(description)
    role.add_bind(p, "client frontend (ROUTER)", "state publisher (PUB)")
    role.add_connect(p, "peer's state publisher")
    p.add_argument("--primary", action=argparse.BooleanOptionalAction, default=None,
                   help="run as the primary of the pair")
    p.add_argument("--backup", action=argparse.BooleanOptionalAction, default=None,
                   help="run as the backup of the pair")
    p.add_argument("--heartbeat-ms", type=int, default=1000,
                   help="state message interval; failover timeout = 2 x this")
    return p


def is_primary(args: argparse.Namespace, p: argparse.ArgumentParser) -> bool:
    """Exactly one of --primary / --backup must hold."""
    primary = bool(args.primary) or args.backup is False
    backup = bool(args.backup) or args.primary is False
    if primary == backup:
        p.error("give exactly one of --primary or --backup")
    return primary


def main(argv: Sequence[str] | None = None, fsm_factory: FsmFactory | None = None) -> None:
    p = build_parser()
    args = p.parse_args(argv)
    if not args.bind or len(args.bind) != 2:
        p.error("--bind FRONTEND --bind STATEPUB are required, in that order")
    if not args.connect or len(args.connect) != 1:
        p.error("--connect PEER_STATEPUB is required exactly once")
    if args.heartbeat_ms <= 0:
        p.error("--heartbeat-ms must be positive")
    primary = is_primary(args, p)
    log = role.configure_logging(args.verbose)

    def body() -> int:
        reactor = BinaryStarReactor(
            args.bind[0],
            args.bind[1],
            args.connect[0],
            primary=primary,
            heartbeat_ms=args.heartbeat_ms,
            fsm_factory=fsm_factory,
            log=log,
        )
        return reactor.run()

    role.run_role(body)


if __name__ == "__main__":
    main()
