"""Inter-broker routing (Guide ch. 3, "Worked Example: Inter-Broker Routing", prototype 3).

N clusters, each a broker with its own REQ clients and REQ workers. Brokers
tell each other how many workers they have idle (the *state flow*, PUB/SUB)
and pass requests they cannot serve to a peer (the *cloud flow*,
ROUTER-to-ROUTER, each broker's ROUTERs carrying its name as identity). A
request goes to a local worker whenever one is idle, otherwise to a random
peer that reported capacity; a request that came from a peer is only ever
served locally, so requests never loop. PROTOCOLS.md §1.6.

Wire formats (interoperable with the Guide's peering3 in C and Python):

- state: ``[NAME | idle workers as ASCII decimal]``, published whenever the
  count changes and every ``--heartbeat-ms`` besides;
- cloud request, sent by the origin's cloud backend: ``[PEER | "" | C | "" |
  body...]``; the padding ``""`` after the peer name is what the Python
  example sends and what CZMQ's ``zmsg_unwrap`` on the C side strips, so
  both accept it. On receipt one ``""`` after the peer's name is dropped
  only if it is there, which also reads the C example's unpadded form;
- local frames as in the load-balancing broker (READY ``"READY"`` or ``0x01``).

Where this broker is deliberately better than the Guide's (each a flaw
PROTOCOLS.md §1.6 lists), and why it matters under faults:

- capacity is kept **per peer**, not "whichever peer spoke last", and a
  peer's capacity **expires** after ``--heartbeat-ms x --liveness`` without a
  state message: a dead or cut-off peer stops receiving work within a bound
  the scenario can check (``stale_peer_routes``), where the Guide's keeps
  sending to it forever;
- a request sent to a peer counts against that peer's capacity until its
  next state message (or one state period, for a peer that reports only
  on change), so a burst does not all land on one peer;
- the cloud ROUTERs are ``ROUTER_MANDATORY``: a send to a peer whose
  connection is gone fails at once, the peer's capacity drops to 0 and the
  request goes elsewhere instead of vanishing;
- a request read while capacity existed but that no one could take after all
  waits in the broker until someone can (never dropped).

What it keeps from the Guide, on purpose: no retries. A request handed to a
peer (or a worker) that dies is lost; only the client's own retry recovers
it, which ``no_loss_in_dead_peer`` counts.
"""
