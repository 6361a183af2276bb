"""Start libzmq's background threads so that stop signals always reach Python.

libzmq starts its I/O and reaper threads with the first socket, and each
thread masks signals only once it runs. A SIGTERM that lands on such a thread
in that instant never interrupts the main thread's poll, and was seen to be
lost altogether (a client ignoring SIGTERM, about 1 start in 10 when the
signal came right at the first request). Threads inherit their creator's
signal mask, so creating them with SIGTERM/SIGINT blocked closes the window;
a signal that arrived meanwhile is delivered to the main thread as soon as
the mask is restored.

:func:`patterns.common.role.install_stop_handlers` calls it for the global
context; a role that makes its own ``zmq.Context()`` passes it here before
its first real socket.
"""

from __future__ import annotations

import signal

import zmq

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def start_io_threads(ctx: zmq.Context | None = None) -> zmq.Context:
    """Make ``ctx`` (default: the global instance) start its threads with stop signals blocked."""
    context = ctx or zmq.Context.instance()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        context.socket(zmq.PAIR).close(linger=0)  # the first socket starts the threads
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return context
