"""An embedded Toxiproxy 2.x-compatible server and the harness's adapter to any Toxiproxy.

``server`` runs the HTTP API and the proxies; ``client`` is what the harness
uses, against this server or against a real one named by ``TOXIPROXY_URL``.
"""
