"""Freelance model 2 server: ``python -m patterns.freelance.server2 --bind ENDPOINT``.

Receives ``[seq | body]`` and replies ``[seq | "OK"]``, like the Guide's
server, so the Guide's shotgun client interoperates. The sequence frame is
what correlates; clients state the expected ``"OK"`` in their ``invoke``
event (``expect``). Any other shape is logged and dropped.
"""

from __future__ import annotations

from patterns.freelance.echo_server import rep_framed, server_main

OK = b"OK"


def respond(body: list[bytes]) -> tuple[list[bytes], bytes] | None:
    """``[seq | body]`` -> ``[seq | "OK"]``; None (drop) for any other shape."""
    if len(body) != 2:
        return None
    seq, request = body
    return [seq, OK], request


handle = rep_framed(respond)


def main(argv: list[str] | None = None) -> None:
    server_main("Freelance model 2 server: [seq | body] -> [seq | OK]", handle, argv)


if __name__ == "__main__":
    main()
