"""The ``majordomo.mmi_probe`` role: keeps asking the broker whether a service exists.

It sends ``mmi.service <name>`` (RFC 8) through the synchronous client and
emits one ``mmi`` trace event per answer, so the ``mmi_reflects_workers``
contract can compare the broker's claims with the workers' lifecycles.
A probe is not a request workload: it emits no invoke/ok/fail events. Its
answers carry ``seq`` (the question's number), which makes them one-way
workload messages for fault coverage (docs/coverage-and-seeds.md): a fault
the probe watched through was not idle.
"""

from __future__ import annotations

import zmq

from patterns.common import role, trace
from patterns.common.errors import RequestAbandoned
from patterns.majordomo import mdp
from patterns.majordomo.client import MajordomoClient, pace

_CODES = (mdp.MMI_FOUND, mdp.MMI_NOT_FOUND, mdp.MMI_NOT_IMPLEMENTED)


def main() -> int:
    p = role.parser("Ask the broker's mmi.service about --service, repeatedly.")
    role.add_connect(p, "broker")
    p.add_argument("--service", default="echo", help="service to ask about")
    role.add_client_options(p, timeout_ms=1000)
    p.set_defaults(rate=10.0, requests=0)
    args = p.parse_args()
    log = role.configure_logging(args.verbose)
    endpoint = (args.connect or ["tcp://127.0.0.1:5555"])[0]
    client = MajordomoClient(
        endpoint, timeout_ms=args.timeout_ms, retries=args.retries, context=zmq.Context.instance()
    )
    wait = pace(args.rate)
    asked = 0
    try:
        while args.requests == 0 or asked < args.requests:
            asked += 1
            wait()
            try:
                reply = client.send(
                    mdp.MMI_SERVICE,
                    [args.service.encode()],
                    accept=lambda body: len(body) == 1 and body[0][:3] in _CODES,
                )
            except RequestAbandoned:
                log.warning("mmi.service %s: no answer", args.service)
                continue
            trace.emit("mmi", service=args.service, code=trace.text(reply[0][:3]), seq=asked)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    role.run_role(main)
