"""XSUB/XPUB forwarder (``pubsub.proxy``): the Guide's weather proxy on ``zmq.proxy``.

The frontend XSUB connects to every ``--connect`` publisher (the Guide's
wuproxy: "this is where the weather server sits"); the backend XPUB binds
for subscribers. ``zmq.proxy`` shunts messages one way and subscriptions the
other in libzmq's C loop, so the proxy adds no Python per message.

Why XSUB/XPUB and not the wuproxy's SUB/PUB: a SUB frontend subscribes to
everything and the publisher sends every topic across; XPUB passes the
subscribers' own filters upstream, so filtering stays at the publisher. It
also makes restarts work: when the proxy comes back, each subscriber's SUB
reconnects and re-sends its subscriptions, the XPUB hands them to the XSUB,
and the XSUB (re)connects to the publishers and subscribes there.

No delivery is traced here (that would put Python back in the loop); the
proxy traces ``proxy`` once it forwards, with its endpoints. A stop signal
interrupts ``zmq.proxy`` and the role exits 0.
"""

from __future__ import annotations

import zmq

from patterns.common import role, trace
from patterns.common.streams import SocketLimits, add_limit_options, new_socket


class XProxy:
    """Frontend XSUB connected to the publishers, backend XPUB bound for subscribers."""

    def __init__(self, publishers: list[str], backend: str, *,
                 limits: SocketLimits = SocketLimits(),
                 context: zmq.Context | None = None) -> None:
        ctx = context or zmq.Context.instance()
        self.frontend = new_socket(ctx, zmq.XSUB, limits)
        self.backend = new_socket(ctx, zmq.XPUB, limits)
        self.backend.bind(backend)
        for endpoint in publishers:
            self.frontend.connect(endpoint)
        self.backend_endpoint: str = self.backend.getsockopt_string(zmq.LAST_ENDPOINT)

    def run(self) -> None:
        """Forward until the context ends or a stop signal arrives."""
        try:
            zmq.proxy(self.frontend, self.backend)
        except zmq.ContextTerminated:
            pass

    def close(self) -> None:
        self.frontend.close(linger=0)
        self.backend.close(linger=0)


def main() -> int:
    p = role.parser("XSUB/XPUB pub-sub proxy: forwards messages down, subscriptions up.")
    role.add_bind(p, "backend (XPUB, for subscribers)")
    role.add_connect(p, "publisher")
    add_limit_options(p)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    if not args.bind or not args.connect:
        p.error("give --bind (the backend) and at least one --connect (a publisher)")
    proxy = XProxy(args.connect, args.bind[0], limits=SocketLimits.from_args(args))
    log.info("proxy: %s -> %s", ", ".join(args.connect), proxy.backend_endpoint)
    trace.emit("proxy", frontend=args.connect, backend=proxy.backend_endpoint)
    try:
        proxy.run()
    finally:
        proxy.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
