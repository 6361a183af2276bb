"""Load-balancing broker: ROUTER frontend for REQ clients, ROUTER backend for REQ workers.

The Simple Pirate queue with both READY spellings accepted (see the package
docstring): frames as PROTOCOLS.md §1.4, LRU dispatch, the frontend polled
only while a worker is idle, malformed input logged and dropped. Its
``route``/``idle``/``forget`` trace events feed the ``lru_dispatch`` contract.
"""

from __future__ import annotations

from patterns.common import role
from patterns.common.lru_queue import run_queue_cli
from patterns.lbbroker import READY_SIGNALS
from patterns.simple_pirate.queue import SimplePirateQueue


class LoadBalancingBroker(SimplePirateQueue):
    """LRU queue whose workers may say READY as ``"READY"`` or ``0x01``."""

    ready_signals = READY_SIGNALS


def main() -> int:
    p = role.parser("Load-balancing broker (Guide ch. 3): LRU routing from REQ clients to "
                    "REQ workers that announce READY.")
    role.add_bind(p, "frontend", "backend")
    return run_queue_cli(p, "load-balancing broker",
                         lambda frontend, backend, _args, log:
                         LoadBalancingBroker(frontend, backend, log=log))


if __name__ == "__main__":
    role.run_role(main)
