"""Asynchronous client/server (Guide ch. 3): DEALER clients, ROUTER frontend, DEALER backend.

Clients are DEALER sockets that keep several requests in flight; the server
proxies its ROUTER frontend to a DEALER backend that round-robins requests
over its workers, which send back ``[client | reply]`` whenever they are
done, so replies come back in any order. PROTOCOLS.md §1.5.

Where we differ from ``asyncsrv.py``, and why:

- a worker answers each request exactly once with the request itself (the
  Guide's sends 0 to 4 random replies): a reply can then be checked, and
  the client correlates replies by the op id the body carries, which the
  Guide's pattern leaves to the application;
- the client resends a request that timed out (``--retries`` sends in all)
  and gives up after that, where the Guide's never notices a missing reply;
- workers can be threads of the server (``--threads``, the Guide's shape) or
  processes connected to the backend's ``--bind`` (``async_server.worker``),
  so that the harness can freeze or kill *one* worker: SIGSTOP stops every
  thread of a process, so a stalled worker thread is a worker process here.
"""
