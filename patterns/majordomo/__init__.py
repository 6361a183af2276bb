"""Majordomo (MDP 0.1, RFC 7), MMI (RFC 8) and the asynchronous MDP client.

``mdp`` holds the wire format; ``broker``, ``worker``, ``client``,
``async_client`` and ``mmi_probe`` are both importable APIs and role CLIs
(``python -m patterns.majordomo.<role>``).
"""
