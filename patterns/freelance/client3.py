"""Freelance model 3 client CLI: ``python -m patterns.freelance.client3 --connect EP ...``.

``--timeout-ms`` is the per-server attempt timeout, ``--retries`` the
attempts per request (so a request is abandoned after ``retries x timeout``,
the Guide's GLOBAL_TIMEOUT), ``--ping-ms`` the ping interval and ``--ttl-ms``
how long a silent server stays in the live list. See ``flp.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing

from patterns.common import role
from patterns.common.workload import run_workload
from patterns.freelance.flp import FreelanceClient3


def main(argv: Sequence[str] | None = None) -> None:
    p = role.parser("Freelance model 3 (FLP) client with an agent thread")
    role.add_connect(p, "server (repeat once per server)")
    role.add_client_options(p, timeout_ms=1000, retries=3)
    p.add_argument("--ping-ms", type=int, default=2000, help="ping a server silent this long")
    p.add_argument("--ttl-ms", type=int, default=6000, help="a server silent this long is dead")
    args = p.parse_args(argv)
    if not args.connect:
        p.error("at least one --connect is required")
    log = role.configure_logging(args.verbose)

    def body() -> int:
        client = FreelanceClient3(args.connect, timeout_ms=args.timeout_ms,
                                  retries=args.retries, ping_ms=args.ping_ms,
                                  ttl_ms=args.ttl_ms, log=log)
        with closing(client):
            run_workload(lambda payload, _op: (client.request(payload), client.last_server),
                         requests=args.requests, rate=args.rate, log=log)
        return 0

    role.run_role(body)


if __name__ == "__main__":
    main()
