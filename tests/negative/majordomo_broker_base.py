"""The command line the broken Majordomo brokers share with ``patterns.majordomo.broker``.

A negative control must be swappable for the real role (``zchaos run --impl``),
so each broken broker takes exactly the real broker's options and serves the
same way; only its broker class differs. Keeping that command line here means
the two controls cannot drift apart from each other.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import patterns  # noqa: F401
except ImportError:  # run as a plain script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import zmq

from patterns.common import role
from patterns.majordomo.broker import MajordomoBroker


def serve_broken_broker(broker_cls: type[MajordomoBroker], description: str) -> int:
    """Parse the real broker's options, then serve ``broker_cls`` on every ``--bind``."""
    p = role.parser(description)
    role.add_bind(p, "frontend (clients and workers)")
    p.add_argument("--heartbeat-ms", type=int, default=2500)
    p.add_argument("--liveness", type=int, default=3)
    args = p.parse_args()
    role.configure_logging(args.verbose)
    broker = broker_cls(
        heartbeat_ms=args.heartbeat_ms, liveness=args.liveness, context=zmq.Context.instance()
    )
    try:
        for endpoint in args.bind or ["tcp://*:5555"]:
            broker.bind(endpoint)
        broker.serve()
    finally:
        broker.close()
    return 0


def run_broken_broker(broker_cls: type[MajordomoBroker], description: str) -> None:
    """The script entry point: serve until a stop signal, exit 0 on SIGTERM/SIGINT."""
    role.run_role(lambda: serve_broken_broker(broker_cls, description))
