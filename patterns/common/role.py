"""What every role CLI shares: option names, clean stop on SIGTERM, logging.

DESIGN.md fixes the option vocabulary (``--bind``, ``--connect``,
``--timeout-ms`` ...); defining the options here once keeps every role's
``--help`` consistent and lets the harness hand the same flags to a user's own
implementation. A role exits 0 on SIGTERM/SIGINT and closes sockets with
linger 0.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from patterns.common import trace
from patterns.common.io_threads import start_io_threads


class StopRequested(BaseException):
    """Raised in the main thread when SIGTERM or SIGINT arrives.

    A ``BaseException`` like KeyboardInterrupt, so that no ``except Exception``
    on the way (in a role, in logging) can swallow a stop.
    """


_stop_signals: list[str] = []  # the stop signals this process received, latched


def _raise_stop(signum: int, _frame: Any) -> None:
    """Record the stop, then raise it.

    pyzmq runs pending signal handlers inside the libzmq calls it checks,
    ``zmq.Frame.__dealloc__`` included, and an exception raised there is
    *ignored* ("Exception ignored in Frame.__dealloc__"): without the record
    the stop would be lost and the role would run on until SIGKILL (seen:
    about one SIGTERM in six for a subscriber taking 1,000 messages/s).
    Receive loops call :func:`raise_if_stopped` (``fastio`` does after every
    receive and poll) to raise a stop that was swallowed that way.
    """
    name = signal.Signals(signum).name
    _stop_signals.append(name)
    raise StopRequested(name)


def raise_if_stopped() -> None:
    """Raise ``StopRequested`` if a stop signal arrived, even one that got swallowed."""
    if _stop_signals:
        raise StopRequested(_stop_signals[0])


def install_stop_handlers() -> None:
    """Turn SIGTERM and SIGINT into :class:`StopRequested` in the main thread.

    pyzmq re-checks Python signal handlers when a blocking call is interrupted,
    so the exception surfaces from ``poll``/``recv`` promptly.
    """
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    start_io_threads()


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every role accepts."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--verbose", "-v", action="store_true", help="log every message")
    return p


def add_bind(p: argparse.ArgumentParser, *names: str) -> None:
    """``--bind`` (repeatable): one endpoint per socket this role binds, in this order."""
    listed = ", ".join(names) if names else "the server socket"
    p.add_argument(
        "--bind",
        action="append",
        default=None,
        metavar="ENDPOINT",
        help=f"endpoint(s) to bind, in order: {listed}",
    )


def add_connect(p: argparse.ArgumentParser, what: str = "server") -> None:
    """``--connect`` (repeatable): the peers' endpoints, in the scenario's order."""
    p.add_argument(
        "--connect",
        action="append",
        default=None,
        metavar="ENDPOINT",
        help=f"endpoint of the {what} (repeatable)",
    )


def add_client_options(
    p: argparse.ArgumentParser, timeout_ms: int = 2500, retries: int = 3
) -> None:
    """Workload options shared by every client role."""
    p.add_argument("--timeout-ms", type=int, default=timeout_ms, help="reply timeout per attempt")
    p.add_argument("--retries", type=int, default=retries, help="sends per request, in total")
    p.add_argument(
        "--requests", type=int, default=10, help="requests to send, then exit (0 = until stopped)"
    )
    p.add_argument("--rate", type=float, default=0.0, help="requests per second (0 = no pause)")


def configure_logging(verbose: bool) -> logging.Logger:
    """Log to stderr with the node name; the harness files stderr under logs/<node>.log."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format=f"%(asctime)s {trace.node_name('-')} %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    return logging.getLogger(trace.node_name("node"))


def run_role(body: Callable[[], int | None]) -> None:
    """Run a role's main loop; a stop signal is a clean exit (status 0)."""
    install_stop_handlers()
    try:
        status = body()
    except StopRequested:
        status = 0
    except KeyboardInterrupt:
        status = 0
    sys.exit(status or 0)
