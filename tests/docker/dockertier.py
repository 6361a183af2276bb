"""Constants shared by the container-tier tests (a uniquely named module, not conftest).

``conftest`` is not importable by name when several test folders have one, so
tests import these from here.
"""

from __future__ import annotations

import os

IMAGE = os.environ.get("ZCHAOS_TEST_IMAGE", "zchaos:latest")

# A stand-in for Toxiproxy: answers GET /version, enough for DockerRuntime.setup().
TOXIPROXY_STUB = [
    "python",
    "-c",
    "import http.server as h\n"
    "class H(h.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(200); self.end_headers(); self.wfile.write(b'stub')\n"
    "h.HTTPServer(('0.0.0.0', 8474), H).serve_forever()\n",
]
