"""Binary Star: a primary/backup pair where clients vote for the active server.

``fsm`` holds the pure state machine (PROTOCOLS.md §9), ``reactor`` runs it
over real sockets, ``server`` and ``client`` are the role CLIs.
"""
