"""Hello World request-reply (Guide ch. 1): plain REQ/REP with no reliability.

Kept as the negative control of the suite: when the server dies the client
blocks in ``recv`` forever, which ``every_request_answered`` must flag.
"""
