"""Freelance model 1 server: ``python -m patterns.freelance.server1 --bind ENDPOINT``.

Echoes every request (all body frames) back to a REQ client.
"""

from __future__ import annotations

from patterns.freelance.echo_server import rep_framed, server_main


def respond(body: list[bytes]) -> tuple[list[bytes], bytes]:
    """Echo: the reply is the request."""
    return body, body[0]


handle = rep_framed(respond)


def main(argv: list[str] | None = None) -> None:
    server_main("Freelance model 1 server: echo every request", handle, argv)


if __name__ == "__main__":
    main()
